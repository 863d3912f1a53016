//! Univariate feature scores (ANOVA F, χ²), variance threshold and SelectKBest.

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};

use super::special::{chi2_sf, f_sf};
use super::{check_labels, classes};
use crate::error::{ExplainError, Result};
use crate::predictor::check_matrix;

/// Per-feature scores with their p-values.
#[derive(Debug, Clone, PartialEq)]
pub struct UnivariateScores {
    /// Statistic per feature.
    pub scores: Array1<f64>,
    /// p-value per feature.
    pub pvalues: Array1<f64>,
}

/// ANOVA F statistic of each feature against class labels (scikit-learn `f_classif`).
///
/// `F = (SS_between / (k − 1)) / (SS_within / (n − k))`, p-value from the F(k−1, n−k)
/// survival function. A feature constant within every class but not across classes gets
/// `F = ∞, p = 0`; a constant feature gets `F = 0, p = 1` (scikit-learn returns NaN).
pub fn f_classif(x: ArrayView2<f64>, y: &[usize]) -> Result<UnivariateScores> {
    const OP: &str = "f_classif";
    check_matrix(OP, "x", x)?;
    check_labels(OP, x.nrows(), y)?;
    let cls = classes(y);
    let (n, k) = (x.nrows() as f64, cls.len() as f64);
    if cls.len() < 2 || x.nrows() <= cls.len() {
        return Err(ExplainError::invalid(
            OP,
            "y",
            format!("need at least 2 classes and more rows than classes (rows {n}, classes {k})"),
        ));
    }
    let mut scores = Array1::zeros(x.ncols());
    let mut pvalues = Array1::zeros(x.ncols());
    for (j, col) in x.axis_iter(Axis(1)).enumerate() {
        let mean = col.mean().unwrap_or(0.0);
        let mut ss_between = 0.0;
        let mut ss_within = 0.0;
        for &c in &cls {
            let vals: Vec<f64> = col
                .iter()
                .zip(y)
                .filter(|(_, &l)| l == c)
                .map(|(v, _)| *v)
                .collect();
            let mc = vals.iter().sum::<f64>() / vals.len() as f64;
            ss_between += vals.len() as f64 * (mc - mean) * (mc - mean);
            ss_within += vals.iter().map(|v| (v - mc) * (v - mc)).sum::<f64>();
        }
        let (d1, d2) = (k - 1.0, n - k);
        let f = if ss_within > 0.0 {
            (ss_between / d1) / (ss_within / d2)
        } else if ss_between > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        scores[j] = f;
        pvalues[j] = f_sf(f, d1, d2);
    }
    Ok(UnivariateScores { scores, pvalues })
}

/// χ² statistic of each non-negative feature against class labels (scikit-learn `chi2`):
/// observed per-class feature totals against totals expected from class frequencies;
/// p-value from χ²(k − 1).
pub fn chi2(x: ArrayView2<f64>, y: &[usize]) -> Result<UnivariateScores> {
    const OP: &str = "chi2";
    check_matrix(OP, "x", x)?;
    check_labels(OP, x.nrows(), y)?;
    if let Some(((row, column), _)) = x.indexed_iter().find(|(_, v)| **v < 0.0) {
        return Err(ExplainError::invalid(
            OP,
            "x",
            format!("chi2 needs non-negative features; x[{row}, {column}] < 0"),
        ));
    }
    let cls = classes(y);
    if cls.len() < 2 {
        return Err(ExplainError::invalid(OP, "y", "need at least 2 classes"));
    }
    let n = x.nrows() as f64;
    let totals = x.sum_axis(Axis(0));
    let mut scores = Array1::zeros(x.ncols());
    for &c in &cls {
        let rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
        let prob = rows.len() as f64 / n;
        for j in 0..x.ncols() {
            let observed: f64 = rows.iter().map(|&i| x[[i, j]]).sum();
            let expected = prob * totals[j];
            if expected > 0.0 {
                scores[j] += (observed - expected) * (observed - expected) / expected;
            }
        }
    }
    let dof = cls.len() as f64 - 1.0;
    let pvalues = scores.mapv(|s| chi2_sf(s, dof));
    Ok(UnivariateScores { scores, pvalues })
}

/// Population variance (ddof = 0) of each feature.
pub fn variances(x: ArrayView2<f64>) -> Result<Array1<f64>> {
    check_matrix("variances", "x", x)?;
    Ok(x.var_axis(Axis(0), 0.0))
}

/// Indices of the features whose variance is strictly above `threshold` (scikit-learn
/// `VarianceThreshold`).
pub fn variance_threshold(x: ArrayView2<f64>, threshold: f64) -> Result<Vec<usize>> {
    let v = variances(x)?;
    Ok((0..v.len()).filter(|&j| v[j] > threshold).collect())
}

/// Indices (ascending) of the `k` highest scores (scikit-learn `SelectKBest`: a stable sort,
/// so among tied scores the later features win; NaN counts as the lowest score).
pub fn select_k_best(scores: ArrayView1<f64>, k: usize) -> Result<Vec<usize>> {
    if k > scores.len() {
        return Err(ExplainError::invalid(
            "select_k_best",
            "k",
            format!("k = {k} exceeds the {} features", scores.len()),
        ));
    }
    let key = |v: f64| if v.is_nan() { f64::NEG_INFINITY } else { v };
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| key(scores[a]).total_cmp(&key(scores[b])));
    let mut chosen: Vec<usize> = order[order.len() - k..].to_vec();
    chosen.sort_unstable();
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn f_and_chi2_on_a_hand_example() {
        // Feature 0: class 0 = {1, 3}, class 1 = {5, 7}: means 2, 6, grand 4;
        // SSB = 2·4 + 2·4 = 16, SSW = 1+1+1+1 = 4, F = (16/1)/(4/2) = 8.
        let x = array![[1.0, 1.0], [3.0, 1.0], [5.0, 1.0], [7.0, 1.0]];
        let y = [0, 0, 1, 1];
        let f = f_classif(x.view(), &y).unwrap();
        assert!((f.scores[0] - 8.0).abs() < 1e-12);
        assert_eq!(f.scores[1], 0.0);
        assert_eq!(f.pvalues[1], 1.0);
        // chi2 feature 0: totals 16, class probs 0.5: expected 8, observed 4 and 12 → 2 + 2 = 4
        let c = chi2(x.view(), &y).unwrap();
        assert!((c.scores[0] - 4.0).abs() < 1e-12);
        // P(χ²₁ > 4) = erfc(√2) = 0.04550026389635842
        assert!((c.pvalues[0] - 0.045_500_263_896_358_42).abs() < 1e-14);
        assert!(chi2(array![[-1.0], [1.0]].view(), &[0, 1]).is_err());
    }

    #[test]
    fn select_k_best_takes_later_ties() {
        let s = array![1.0, 3.0, 3.0, f64::NAN, 2.0];
        assert_eq!(select_k_best(s.view(), 2).unwrap(), vec![1, 2]);
        assert_eq!(select_k_best(s.view(), 3).unwrap(), vec![1, 2, 4]);
        assert!(select_k_best(s.view(), 6).is_err());
    }
}
