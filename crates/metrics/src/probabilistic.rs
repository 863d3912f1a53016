//! Metrics on predicted class probabilities / scores: log loss and top-k accuracy.

use crate::error::{check_lengths, MetricsError, Result};
use crate::labels::{positions, resolve};
use ndarray::ArrayView2;

/// Largest accepted `|row sum − 1|` for probability rows (NumPy `allclose`: 1e-5 + 1e-8).
pub(crate) const PROB_SUM_TOL: f64 = 1e-5 + 1e-8;

fn check_scores(metric: &'static str, y_score: ArrayView2<'_, f64>) -> Result<()> {
    for ((i, j), &v) in y_score.indexed_iter() {
        if !v.is_finite() {
            return Err(MetricsError::InvalidValue {
                metric,
                row: i + 1,
                column: format!(", column {j}"),
                value: v,
                reason: "scores must be finite",
            });
        }
    }
    Ok(())
}

/// Column labels: `labels` if given, else the sorted distinct labels of `y_true`; their
/// number must equal the number of score columns.
fn score_labels<T: Ord + Clone>(
    metric: &'static str,
    y_true: &[T],
    labels: Option<&[T]>,
    n_cols: usize,
) -> Result<(Vec<T>, Vec<usize>)> {
    let labels = resolve(metric, labels, &[y_true])?;
    if labels.len() != n_cols {
        return Err(MetricsError::Labels {
            metric,
            reason: format!(
                "{} labels but y_score/y_prob has {n_cols} columns; pass `labels` when y_true lacks some classes",
                labels.len()
            ),
        });
    }
    let idx = positions(y_true, &labels)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            p.ok_or_else(|| MetricsError::Labels {
                metric,
                reason: format!("y_true at row {} is not one of the labels", i + 1),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((labels, idx))
}

/// Cross-entropy of `y_prob` (`n × n_classes`, columns ordered like the sorted labels or
/// like `labels`) against `y_true`, as scikit-learn 1.9 computes it: probabilities are
/// clipped to `[ε, 1 − ε]` with ε = `f64::EPSILON`, not renormalised, and the loss is the
/// mean over samples (`normalize = true`) or the sum.
///
/// scikit-learn only warns when rows do not sum to one (within `sqrt(ε)`) and computes the
/// loss anyway; so does this function for small deviations such as those of an `f32`
/// softmax. Rows that are clearly not probabilities (`|sum − 1| > 1e-5`, NumPy's `allclose`
/// tolerance) and values outside `[0, 1]` are errors.
pub fn log_loss<T: Ord + Clone>(
    y_true: &[T],
    y_prob: ArrayView2<'_, f64>,
    labels: Option<&[T]>,
    normalize: bool,
) -> Result<f64> {
    const M: &str = "log_loss";
    check_lengths(M, y_true.len(), y_prob.nrows())?;
    check_scores(M, y_prob)?;
    let (labels, idx) = score_labels(M, y_true, labels, y_prob.ncols())?;
    if labels.len() < 2 {
        return Err(MetricsError::Labels {
            metric: M,
            reason: "y_true has only one label; pass all labels explicitly".into(),
        });
    }
    let eps = f64::EPSILON;
    let mut total = 0.0;
    for (i, row) in y_prob.rows().into_iter().enumerate() {
        if let Some((j, &v)) = row
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
        {
            return Err(MetricsError::InvalidValue {
                metric: M,
                row: i + 1,
                column: format!(", column {j}"),
                value: v,
                reason: "probabilities must lie in [0, 1]",
            });
        }
        let s: f64 = row.sum();
        if (s - 1.0).abs() > PROB_SUM_TOL {
            return Err(MetricsError::InvalidValue {
                metric: M,
                row: i + 1,
                column: String::new(),
                value: s,
                reason: "row of probabilities does not sum to one",
            });
        }
        total -= row[idx[i]].clamp(eps, 1.0 - eps).ln();
    }
    Ok(if normalize {
        total / y_true.len() as f64
    } else {
        total
    })
}

/// [`log_loss`] for a binary problem given the probability of the *larger* label (as
/// scikit-learn does for a 1-D `y_pred`).
pub fn log_loss_binary<T: Ord + Clone>(
    y_true: &[T],
    p_positive: &[f64],
    labels: Option<&[T]>,
    normalize: bool,
) -> Result<f64> {
    let m = ndarray::Array2::from_shape_fn((p_positive.len(), 2), |(i, j)| {
        if j == 1 {
            p_positive[i]
        } else {
            1.0 - p_positive[i]
        }
    });
    log_loss(y_true, m.view(), labels, normalize)
}

/// Fraction of samples whose true class is among the `k` highest scores (scikit-learn's
/// `top_k_accuracy_score`; among tied scores the class with the larger index ranks first,
/// as in scikit-learn's stable reverse sort).
pub fn top_k_accuracy<T: Ord + Clone>(
    y_true: &[T],
    y_score: ArrayView2<'_, f64>,
    k: usize,
    labels: Option<&[T]>,
) -> Result<f64> {
    const M: &str = "top_k_accuracy";
    check_lengths(M, y_true.len(), y_score.nrows())?;
    check_scores(M, y_score)?;
    if k == 0 {
        return Err(MetricsError::InvalidArgument {
            metric: M,
            reason: "k must be at least 1".into(),
        });
    }
    let (_, idx) = score_labels(M, y_true, labels, y_score.ncols())?;
    let mut hits = 0usize;
    for (i, row) in y_score.rows().into_iter().enumerate() {
        let t = idx[i];
        let st = row[t];
        let ahead = row
            .iter()
            .enumerate()
            .filter(|&(j, &s)| s > st || (s == st && j > t))
            .count();
        if ahead < k {
            hits += 1;
        }
    }
    Ok(hits as f64 / y_true.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn log_loss_by_hand() {
        let p = array![[0.8, 0.2], [0.3, 0.7], [1.0, 0.0]];
        let y = ["a", "b", "b"];
        // -(ln 0.8 + ln 0.7 + ln eps) / 3
        let expected = -(0.8f64.ln() + 0.7f64.ln() + f64::EPSILON.ln()) / 3.0;
        assert!((log_loss(&y, p.view(), None, true).unwrap() - expected).abs() < 1e-12);
        let sum = log_loss(&y, p.view(), None, false).unwrap();
        assert!((sum - 3.0 * expected).abs() < 1e-10);
        // An f32 softmax's rounding (sum 1 - 6e-8) is accepted, as in scikit-learn.
        let f32ish = array![[0.3, 0.69999994]];
        assert!(log_loss(&["b"], f32ish.view(), Some(&["a", "b"]), true).is_ok());
        let bad = array![[0.5, 0.6]];
        let e = log_loss(&["a"], bad.view(), Some(&["a", "b"]), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1") && e.contains("sum to one"), "{e}");
        assert!(log_loss(&["a", "a"], array![[1.0], [1.0]].view(), None, true).is_err());
    }

    #[test]
    fn binary_log_loss_uses_the_larger_label() {
        // -(ln 0.9 + ln(1 - 0.2)) / 2
        let got = log_loss_binary(&[1, 0], &[0.9, 0.2], None, true).unwrap();
        assert!((got + (0.9f64.ln() + 0.8f64.ln()) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn top_k_by_hand() {
        let s = array![[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.2, 0.2, 0.6]];
        let y = [2, 0, 1];
        // Row 0: class 2 second. Row 1: class 0 ties with 1, 1 ranks ahead: third.
        // Row 2: class 1 ties with 0 and ranks ahead of it: second.
        assert!((top_k_accuracy(&y, s.view(), 1, None).unwrap() - 0.0).abs() < 1e-15);
        assert!((top_k_accuracy(&y, s.view(), 2, None).unwrap() - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(top_k_accuracy(&y, s.view(), 3, None).unwrap(), 1.0);
        assert!(top_k_accuracy(&y, s.view(), 0, None).is_err());
    }
}
