//! Label-based classification metrics: accuracy, balanced accuracy, confusion matrix,
//! precision / recall / F-beta with every averaging mode, Matthews correlation.

use crate::error::{check_lengths, MetricsError, Result};
use crate::labels::{positions, resolve, unique_labels};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Fraction of samples whose prediction equals the truth.
pub fn accuracy<T: PartialEq>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    check_lengths("accuracy", y_true.len(), y_pred.len())?;
    let hits = y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count();
    Ok(hits as f64 / y_true.len() as f64)
}

/// Counts of (true label, predicted label) pairs: `counts[[i, j]]` is the number of samples
/// of class `labels[i]` predicted as `labels[j]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix<T> {
    /// Row / column labels.
    pub labels: Vec<T>,
    /// Counts, rows = truth, columns = prediction.
    pub counts: Array2<u64>,
}

/// The confusion matrix over `labels` (default: sorted union of both inputs). Samples
/// whose true or predicted label is not in `labels` are left out, as in scikit-learn.
pub fn confusion_matrix<T: Ord + Clone>(
    y_true: &[T],
    y_pred: &[T],
    labels: Option<&[T]>,
) -> Result<ConfusionMatrix<T>> {
    check_lengths("confusion_matrix", y_true.len(), y_pred.len())?;
    let labels = resolve("confusion_matrix", labels, &[y_true, y_pred])?;
    let (t, p) = (positions(y_true, &labels), positions(y_pred, &labels));
    let mut counts = Array2::zeros((labels.len(), labels.len()));
    for (a, b) in t.into_iter().zip(p) {
        if let (Some(a), Some(b)) = (a, b) {
            counts[[a, b]] += 1;
        }
    }
    Ok(ConfusionMatrix { labels, counts })
}

impl<T: fmt::Display> fmt::Display for ConfusionMatrix<T> {
    /// A table with true labels as rows and predicted labels as columns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.labels.iter().map(|l| l.to_string()).collect();
        let max_count = self
            .counts
            .iter()
            .max()
            .copied()
            .unwrap_or(0)
            .to_string()
            .len();
        let w = names
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(1)
            .max(max_count)
            .max(4);
        write!(f, "{:>w$}", "true\\pred", w = w.max(9))?;
        for n in &names {
            write!(f, " {n:>w$}")?;
        }
        writeln!(f)?;
        for (i, n) in names.iter().enumerate() {
            write!(f, "{n:>w$}", w = w.max(9))?;
            for j in 0..names.len() {
                write!(f, " {:>w$}", self.counts[[i, j]])?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Mean per-class recall over the classes present in `y_true` (scikit-learn's
/// `balanced_accuracy_score`, `adjusted=False`).
pub fn balanced_accuracy<T: Ord + Clone>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    let cm = confusion_matrix(y_true, y_pred, None)?;
    let mut sum = 0.0;
    let mut n = 0usize;
    for i in 0..cm.labels.len() {
        let row: u64 = cm.counts.row(i).sum();
        if row > 0 {
            sum += cm.counts[[i, i]] as f64 / row as f64;
            n += 1;
        }
    }
    Ok(sum / n as f64)
}

/// Matthews correlation coefficient (multiclass form, computed from the confusion matrix);
/// 0 when it is undefined (a constant truth or prediction).
pub fn matthews_corrcoef<T: Ord + Clone>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    let cm = confusion_matrix(y_true, y_pred, None)?;
    let k = cm.labels.len();
    let c = cm.counts.mapv(|v| v as f64);
    let t_sum: Vec<f64> = (0..k).map(|i| c.row(i).sum()).collect();
    let p_sum: Vec<f64> = (0..k).map(|j| c.column(j).sum()).collect();
    let n_correct: f64 = (0..k).map(|i| c[[i, i]]).sum();
    let n: f64 = t_sum.iter().sum();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let cov_ytyp = n_correct * n - dot(&t_sum, &p_sum);
    let cov_ypyp = n * n - dot(&p_sum, &p_sum);
    let cov_ytyt = n * n - dot(&t_sum, &t_sum);
    if cov_ypyp * cov_ytyt == 0.0 {
        return Ok(0.0);
    }
    Ok(cov_ytyp / (cov_ytyt * cov_ypyp).sqrt())
}

/// How per-class precision / recall / F scores are combined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Average<T> {
    /// Only the scores of the given positive class (the data must have at most two labels).
    Binary(T),
    /// Global counts of true positives, false negatives and false positives.
    Micro,
    /// Unweighted mean over labels.
    Macro,
    /// Mean over labels weighted by support (number of true instances).
    Weighted,
}

/// The value of a ratio whose denominator is zero (scikit-learn's `zero_division`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ZeroDivision {
    /// 0 (scikit-learn's default, `"warn"`, without the warning).
    #[default]
    Zero,
    /// 1.
    One,
    /// NaN; NaN scores are then ignored when averaging.
    Nan,
}

impl ZeroDivision {
    fn value(self) -> f64 {
        match self {
            ZeroDivision::Zero => 0.0,
            ZeroDivision::One => 1.0,
            ZeroDivision::Nan => f64::NAN,
        }
    }
}

/// Per-class precision, recall, F-beta and support.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores<T> {
    /// Labels, in the order of the vectors below.
    pub labels: Vec<T>,
    /// Precision `tp / (tp + fp)`.
    pub precision: Vec<f64>,
    /// Recall `tp / (tp + fn)`.
    pub recall: Vec<f64>,
    /// F-beta `(1 + β²) tp / ((1 + β²) tp + β² fn + fp)`.
    pub f_score: Vec<f64>,
    /// Number of true instances per label.
    pub support: Vec<u64>,
}

struct Counts {
    tp: Vec<f64>,
    pred: Vec<f64>,
    truth: Vec<f64>,
}

fn counts<T: Ord + Clone>(y_true: &[T], y_pred: &[T], labels: &[T]) -> Counts {
    let k = labels.len();
    let (mut tp, mut pred, mut truth) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    let (t, p) = (positions(y_true, labels), positions(y_pred, labels));
    for (a, b) in t.into_iter().zip(p) {
        if let Some(a) = a {
            truth[a] += 1.0;
        }
        if let Some(b) = b {
            pred[b] += 1.0;
        }
        if let (Some(a), Some(b)) = (a, b) {
            if a == b {
                tp[a] += 1.0;
            }
        }
    }
    Counts { tp, pred, truth }
}

fn divide(num: f64, den: f64, zd: ZeroDivision) -> f64 {
    if den == 0.0 {
        zd.value()
    } else {
        num / den
    }
}

fn scores_from(c: &Counts, beta: f64, zd: ZeroDivision) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let b2 = beta * beta;
    let k = c.tp.len();
    let p: Vec<f64> = (0..k).map(|i| divide(c.tp[i], c.pred[i], zd)).collect();
    let r: Vec<f64> = (0..k).map(|i| divide(c.tp[i], c.truth[i], zd)).collect();
    let f: Vec<f64> = (0..k)
        .map(|i| {
            if beta.is_infinite() {
                r[i]
            } else if beta == 0.0 {
                p[i]
            } else {
                divide((1.0 + b2) * c.tp[i], b2 * c.truth[i] + c.pred[i], zd)
            }
        })
        .collect();
    (p, r, f)
}

fn check_beta(beta: f64) -> Result<()> {
    if beta.is_nan() || beta < 0.0 {
        return Err(MetricsError::InvalidArgument {
            metric: "fbeta_score",
            reason: format!("beta must be >= 0, got {beta}"),
        });
    }
    Ok(())
}

/// Per-class precision, recall, F-beta and support over `labels` (default: sorted union).
pub fn precision_recall_fscore_support<T: Ord + Clone>(
    y_true: &[T],
    y_pred: &[T],
    beta: f64,
    labels: Option<&[T]>,
    zero_division: ZeroDivision,
) -> Result<ClassScores<T>> {
    check_lengths(
        "precision_recall_fscore_support",
        y_true.len(),
        y_pred.len(),
    )?;
    check_beta(beta)?;
    let labels = resolve("precision_recall_fscore_support", labels, &[y_true, y_pred])?;
    let c = counts(y_true, y_pred, &labels);
    let (precision, recall, f_score) = scores_from(&c, beta, zero_division);
    Ok(ClassScores {
        labels,
        precision,
        recall,
        f_score,
        support: c.truth.iter().map(|&v| v as u64).collect(),
    })
}

/// Mean of the non-NaN entries (weighted); NaN if there are none.
fn nan_average(v: &[f64], w: Option<&[f64]>) -> f64 {
    let (mut s, mut ws) = (0.0, 0.0);
    for (i, &x) in v.iter().enumerate() {
        if !x.is_nan() {
            let wi = w.map_or(1.0, |w| w[i]);
            s += wi * x;
            ws += wi;
        }
    }
    if ws == 0.0 {
        f64::NAN
    } else {
        s / ws
    }
}

/// Averaged `(precision, recall, f_beta)` (scikit-learn's `precision_recall_fscore_support`
/// with `average` set) over the sorted union of labels.
pub fn precision_recall_fscore<T: Ord + Clone + fmt::Debug>(
    y_true: &[T],
    y_pred: &[T],
    beta: f64,
    average: &Average<T>,
    zero_division: ZeroDivision,
) -> Result<(f64, f64, f64)> {
    precision_recall_fscore_labels(y_true, y_pred, beta, average, None, zero_division)
}

/// Like [`precision_recall_fscore`] but averaging over `labels` only (scikit-learn's
/// `labels=` argument: with `Micro`, samples of other labels count only where they are
/// predicted as, or are, one of `labels`). Ignored for [`Average::Binary`].
pub fn precision_recall_fscore_labels<T: Ord + Clone + fmt::Debug>(
    y_true: &[T],
    y_pred: &[T],
    beta: f64,
    average: &Average<T>,
    labels: Option<&[T]>,
    zero_division: ZeroDivision,
) -> Result<(f64, f64, f64)> {
    const M: &str = "precision_recall_fscore";
    check_lengths(M, y_true.len(), y_pred.len())?;
    check_beta(beta)?;
    let present = unique_labels(&[y_true, y_pred]);
    let labels = match average {
        Average::Binary(pos) => {
            if present.len() > 2 {
                return Err(MetricsError::Labels {
                    metric: M,
                    reason: format!(
                        "target is multiclass ({} labels) but average is Binary; use Micro, Macro or Weighted",
                        present.len()
                    ),
                });
            }
            if present.len() == 2 && !present.contains(pos) {
                return Err(MetricsError::Labels {
                    metric: M,
                    reason: format!("pos_label {pos:?} is not one of the labels {present:?}"),
                });
            }
            vec![pos.clone()]
        }
        _ => match labels {
            Some(l) => resolve(M, Some(l), &[])?,
            None => present,
        },
    };
    let c = counts(y_true, y_pred, &labels);
    if *average == Average::Micro {
        let sum = |v: &[f64]| vec![v.iter().sum::<f64>()];
        let g = Counts {
            tp: sum(&c.tp),
            pred: sum(&c.pred),
            truth: sum(&c.truth),
        };
        let (p, r, f) = scores_from(&g, beta, zero_division);
        return Ok((p[0], r[0], f[0]));
    }
    let (p, r, f) = scores_from(&c, beta, zero_division);
    let weights = match average {
        Average::Weighted => {
            if c.truth.iter().sum::<f64>() == 0.0 {
                let z = zero_division.value();
                return Ok((z, z, z));
            }
            Some(c.truth.as_slice())
        }
        _ => None,
    };
    Ok((
        nan_average(&p, weights),
        nan_average(&r, weights),
        nan_average(&f, weights),
    ))
}

/// Averaged precision with `zero_division = 0`.
pub fn precision_score<T: Ord + Clone + fmt::Debug>(
    y_true: &[T],
    y_pred: &[T],
    average: &Average<T>,
) -> Result<f64> {
    Ok(precision_recall_fscore(y_true, y_pred, 1.0, average, ZeroDivision::Zero)?.0)
}

/// Averaged recall with `zero_division = 0`.
pub fn recall_score<T: Ord + Clone + fmt::Debug>(
    y_true: &[T],
    y_pred: &[T],
    average: &Average<T>,
) -> Result<f64> {
    Ok(precision_recall_fscore(y_true, y_pred, 1.0, average, ZeroDivision::Zero)?.1)
}

/// Averaged F1 with `zero_division = 0`.
pub fn f1_score<T: Ord + Clone + fmt::Debug>(
    y_true: &[T],
    y_pred: &[T],
    average: &Average<T>,
) -> Result<f64> {
    Ok(precision_recall_fscore(y_true, y_pred, 1.0, average, ZeroDivision::Zero)?.2)
}

/// Averaged F-beta with `zero_division = 0`.
pub fn fbeta_score<T: Ord + Clone + fmt::Debug>(
    y_true: &[T],
    y_pred: &[T],
    beta: f64,
    average: &Average<T>,
) -> Result<f64> {
    Ok(precision_recall_fscore(y_true, y_pred, beta, average, ZeroDivision::Zero)?.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-worked example: truth [0,0,1,1,2], prediction [0,1,1,1,0].
    // Class 0: tp 1, pred 2, true 2. Class 1: tp 2, pred 3, true 2. Class 2: tp 0, pred 0, true 1.
    const T: [i32; 5] = [0, 0, 1, 1, 2];
    const P: [i32; 5] = [0, 1, 1, 1, 0];

    #[test]
    fn confusion_and_accuracy_by_hand() {
        let cm = confusion_matrix(&T, &P, None).unwrap();
        assert_eq!(cm.counts, ndarray::array![[1, 1, 0], [0, 2, 0], [1, 0, 0]]);
        assert_eq!(accuracy(&T, &P).unwrap(), 0.6);
        // Recalls 0.5, 1, 0.
        assert!((balanced_accuracy(&T, &P).unwrap() - 0.5).abs() < 1e-15);
        let sub = confusion_matrix(&T, &P, Some(&[2, 0])).unwrap();
        assert_eq!(sub.counts, ndarray::array![[0, 1], [0, 1]]);
        assert!(cm.to_string().contains("true\\pred"));
    }

    #[test]
    fn precision_zero_division_modes() {
        let s = precision_recall_fscore_support(&T, &P, 1.0, None, ZeroDivision::Nan).unwrap();
        assert_eq!(s.precision[0], 0.5);
        assert!((s.precision[1] - 2.0 / 3.0).abs() < 1e-15);
        assert!(s.precision[2].is_nan());
        let (p, _, _) =
            precision_recall_fscore(&T, &P, 1.0, &Average::Macro, ZeroDivision::Nan).unwrap();
        assert!((p - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-15);
        let (p1, _, _) =
            precision_recall_fscore(&T, &P, 1.0, &Average::Macro, ZeroDivision::One).unwrap();
        assert!((p1 - (0.5 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-15);
        let e = precision_score(&T, &P, &Average::Binary(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("multiclass"), "{e}");
        assert!(precision_score(&[0, 1], &[1, 1], &Average::Binary(5)).is_err());
        assert!(accuracy(&[1], &[1, 2])
            .unwrap_err()
            .to_string()
            .contains("length mismatch"));
    }

    #[test]
    fn averaging_over_a_label_subset() {
        // Labels {0, 1}: tp (1, 2), pred (2, 3), true (2, 2).
        let (p, r, _) = precision_recall_fscore_labels(
            &T,
            &P,
            1.0,
            &Average::Micro,
            Some(&[0, 1]),
            ZeroDivision::Zero,
        )
        .unwrap();
        assert!((p - 3.0 / 5.0).abs() < 1e-15 && (r - 3.0 / 4.0).abs() < 1e-15);
        let (p, _, _) = precision_recall_fscore_labels(
            &T,
            &P,
            1.0,
            &Average::Macro,
            Some(&[2]),
            ZeroDivision::One,
        )
        .unwrap();
        assert_eq!(p, 1.0);
    }

    #[test]
    fn mcc_degenerate_is_zero() {
        assert_eq!(matthews_corrcoef(&[1, 1, 1], &[1, 1, 1]).unwrap(), 0.0);
        assert_eq!(
            matthews_corrcoef(&[0, 1, 0, 1], &[0, 1, 0, 1]).unwrap(),
            1.0
        );
        assert_eq!(
            matthews_corrcoef(&[0, 1, 0, 1], &[1, 0, 1, 0]).unwrap(),
            -1.0
        );
    }
}
