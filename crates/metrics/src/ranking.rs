//! Ranking metrics: ROC curve, ROC-AUC (binary and one-vs-rest), precision-recall curve
//! and average precision, computed exactly as scikit-learn does.

use crate::error::{check_finite, check_lengths, MetricsError, Result};
use crate::labels::unique_labels;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// Cumulative counts at each distinct score threshold, highest score first
/// (scikit-learn's `_binary_clf_curve`): `(fps, tps, thresholds)`.
fn binary_clf_curve(positive: &[bool], score: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut fps, mut tps, mut thr) = (Vec::new(), Vec::new(), Vec::new());
    let mut tp = 0.0;
    for (pos, &i) in order.iter().enumerate() {
        if positive[i] {
            tp += 1.0;
        }
        let last_of_group = pos + 1 == order.len() || score[order[pos + 1]] != score[i];
        if last_of_group {
            tps.push(tp);
            fps.push((pos + 1) as f64 - tp);
            thr.push(score[i]);
        }
    }
    (fps, tps, thr)
}

fn positives<T: PartialEq>(y_true: &[T], pos_label: &T) -> Vec<bool> {
    y_true.iter().map(|y| y == pos_label).collect()
}

/// A receiver operating characteristic curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RocCurve {
    /// False-positive rates (increasing).
    pub fpr: Vec<f64>,
    /// True-positive rates (increasing).
    pub tpr: Vec<f64>,
    /// Decreasing thresholds; the first is `+∞` (no sample predicted positive).
    pub thresholds: Vec<f64>,
}

/// The ROC curve of scores `y_score` for the class `pos_label` (scikit-learn's `roc_curve`).
///
/// With `drop_intermediate`, thresholds whose point lies on a straight segment between its
/// neighbours are dropped. If `y_true` has no negative (positive) sample the false- (true-)
/// positive rate is NaN, as in scikit-learn.
pub fn roc_curve<T: PartialEq>(
    y_true: &[T],
    y_score: &[f64],
    pos_label: &T,
    drop_intermediate: bool,
) -> Result<RocCurve> {
    check_lengths("roc_curve", y_true.len(), y_score.len())?;
    check_finite("roc_curve", y_score)?;
    let (mut fps, mut tps, mut thr) = binary_clf_curve(&positives(y_true, pos_label), y_score);
    if drop_intermediate && fps.len() > 2 {
        let n = fps.len();
        let keep: Vec<usize> = (0..n)
            .filter(|&i| {
                i == 0
                    || i == n - 1
                    || (fps[i + 1] - 2.0 * fps[i] + fps[i - 1]) != 0.0
                    || (tps[i + 1] - 2.0 * tps[i] + tps[i - 1]) != 0.0
            })
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thr = keep.iter().map(|&i| thr[i]).collect();
    }
    fps.insert(0, 0.0);
    tps.insert(0, 0.0);
    thr.insert(0, f64::INFINITY);
    let (fl, tl) = (*fps.last().unwrap_or(&0.0), *tps.last().unwrap_or(&0.0));
    let rate = |v: &[f64], last: f64| -> Vec<f64> {
        v.iter()
            .map(|&x| if last > 0.0 { x / last } else { f64::NAN })
            .collect()
    };
    Ok(RocCurve {
        fpr: rate(&fps, fl),
        tpr: rate(&tps, tl),
        thresholds: thr,
    })
}

/// Area under a curve by the trapezoidal rule; `x` must be monotonic (either direction).
pub fn auc(x: &[f64], y: &[f64]) -> Result<f64> {
    check_lengths("auc", x.len(), y.len())?;
    if x.len() < 2 {
        return Err(MetricsError::InvalidArgument {
            metric: "auc",
            reason: format!("at least 2 points are needed, got {}", x.len()),
        });
    }
    let inc = x.windows(2).all(|w| w[1] >= w[0]);
    let dec = x.windows(2).all(|w| w[1] <= w[0]);
    if !inc && !dec {
        return Err(MetricsError::InvalidArgument {
            metric: "auc",
            reason: "x is neither increasing nor decreasing".into(),
        });
    }
    let area: f64 = x
        .windows(2)
        .zip(y.windows(2))
        .map(|(xw, yw)| (xw[1] - xw[0]) * (yw[0] + yw[1]) / 2.0)
        .sum();
    Ok(if dec { -area } else { area })
}

fn binary_auc(metric: &'static str, positive: &[bool], score: &[f64]) -> Result<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    if n_pos == 0 || n_pos == positive.len() {
        return Err(MetricsError::Labels {
            metric,
            reason: "only one class is present in y_true; ROC AUC is not defined".into(),
        });
    }
    let c = roc_curve(positive, score, &true, true)?;
    auc(&c.fpr, &c.tpr)
}

/// Binary ROC-AUC. `y_true` must hold exactly two distinct labels; the larger one is the
/// positive class (as scikit-learn, which binarises with sorted labels).
pub fn roc_auc_score<T: Ord + Clone>(y_true: &[T], y_score: &[f64]) -> Result<f64> {
    const M: &str = "roc_auc_score";
    check_lengths(M, y_true.len(), y_score.len())?;
    check_finite(M, y_score)?;
    let labels = unique_labels(&[y_true]);
    if labels.len() != 2 {
        return Err(MetricsError::Labels {
            metric: M,
            reason: format!(
                "binary ROC-AUC needs exactly 2 labels in y_true, found {}; use roc_auc_ovr for multiclass",
                labels.len()
            ),
        });
    }
    binary_auc(M, &positives(y_true, &labels[1]), y_score)
}

/// How one-vs-rest AUCs are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OvrAverage {
    /// Unweighted mean over classes.
    Macro,
    /// Mean weighted by class prevalence in `y_true`.
    Weighted,
}

/// One-vs-rest multiclass ROC-AUC. `y_prob` is `n × n_classes` with columns in sorted-label
/// order; rows must sum to one within NumPy's `allclose` tolerance (scikit-learn raises
/// the same error for multiclass ROC-AUC).
pub fn roc_auc_ovr<T: Ord + Clone>(
    y_true: &[T],
    y_prob: ArrayView2<'_, f64>,
    average: OvrAverage,
) -> Result<f64> {
    const M: &str = "roc_auc_ovr";
    check_lengths(M, y_true.len(), y_prob.nrows())?;
    let labels = unique_labels(&[y_true]);
    if labels.len() != y_prob.ncols() || labels.len() < 2 {
        return Err(MetricsError::Labels {
            metric: M,
            reason: format!(
                "y_true has {} labels but y_prob has {} columns (need equal, at least 2)",
                labels.len(),
                y_prob.ncols()
            ),
        });
    }
    for (i, row) in y_prob.rows().into_iter().enumerate() {
        let s = row.sum();
        if !s.is_finite() || (s - 1.0).abs() > crate::probabilistic::PROB_SUM_TOL {
            return Err(MetricsError::InvalidValue {
                metric: M,
                row: i + 1,
                column: String::new(),
                value: s,
                reason: "target scores must be probabilities summing to one",
            });
        }
    }
    let (mut sum, mut wsum) = (0.0, 0.0);
    for (j, label) in labels.iter().enumerate() {
        let pos = positives(y_true, label);
        let col: Vec<f64> = y_prob.column(j).to_vec();
        let a = binary_auc(M, &pos, &col)?;
        let w = match average {
            OvrAverage::Macro => 1.0,
            OvrAverage::Weighted => pos.iter().filter(|&&p| p).count() as f64,
        };
        sum += w * a;
        wsum += w;
    }
    Ok(sum / wsum)
}

/// A precision-recall curve (scikit-learn's `precision_recall_curve`, no point dropping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrCurve {
    /// Precision at each threshold, increasing threshold order, ending with 1.
    pub precision: Vec<f64>,
    /// Recall at each threshold, ending with 0.
    pub recall: Vec<f64>,
    /// Increasing thresholds (one fewer than the points).
    pub thresholds: Vec<f64>,
}

/// The precision-recall curve for class `pos_label`.
pub fn precision_recall_curve<T: PartialEq>(
    y_true: &[T],
    y_score: &[f64],
    pos_label: &T,
) -> Result<PrCurve> {
    check_lengths("precision_recall_curve", y_true.len(), y_score.len())?;
    check_finite("precision_recall_curve", y_score)?;
    let (fps, tps, thr) = binary_clf_curve(&positives(y_true, pos_label), y_score);
    let last_tp = *tps.last().unwrap_or(&0.0);
    let mut precision: Vec<f64> = fps
        .iter()
        .zip(&tps)
        .map(|(&f, &t)| if t + f == 0.0 { 1.0 } else { t / (t + f) })
        .collect();
    let mut recall: Vec<f64> = tps
        .iter()
        .map(|&t| if last_tp == 0.0 { 1.0 } else { t / last_tp })
        .collect();
    let mut thresholds = thr;
    precision.reverse();
    recall.reverse();
    thresholds.reverse();
    precision.push(1.0);
    recall.push(0.0);
    Ok(PrCurve {
        precision,
        recall,
        thresholds,
    })
}

/// Average precision `Σₙ (Rₙ − Rₙ₋₁) Pₙ` over the thresholds (scikit-learn's
/// `average_precision_score`, no interpolation).
pub fn average_precision<T: PartialEq>(
    y_true: &[T],
    y_score: &[f64],
    pos_label: &T,
) -> Result<f64> {
    let c = precision_recall_curve(y_true, y_score, pos_label)?;
    Ok(-(0..c.recall.len() - 1)
        .map(|i| (c.recall[i + 1] - c.recall[i]) * c.precision[i])
        .sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_by_hand() {
        // sklearn docs example: y = [1, 1, 2, 2], scores [0.1, 0.4, 0.35, 0.8], pos_label 2:
        // fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1], thresholds [inf, 0.8, 0.4, 0.35, 0.1].
        let c = roc_curve(&[1, 1, 2, 2], &[0.1, 0.4, 0.35, 0.8], &2, true).unwrap();
        assert_eq!(c.fpr, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(c.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(c.thresholds[1..], [0.8, 0.4, 0.35, 0.1]);
        assert!(c.thresholds[0].is_infinite());
        assert_eq!(
            roc_auc_score(&[1, 1, 2, 2], &[0.1, 0.4, 0.35, 0.8]).unwrap(),
            0.75
        );
    }

    #[test]
    fn average_precision_by_hand() {
        // sklearn docs example: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8] -> AP 0.8333...
        let ap = average_precision(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8], &1).unwrap();
        assert!((ap - 5.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn errors() {
        assert!(roc_auc_score(&[1, 1], &[0.2, 0.3]).is_err());
        assert!(roc_curve(&[1, 0], &[f64::NAN, 0.3], &1, true).is_err());
        assert!(auc(&[0.0, 1.0, 0.5], &[0.0, 1.0, 1.0]).is_err());
    }
}
