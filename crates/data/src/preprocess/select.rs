//! Variance-based feature selection.

use super::{check_features, check_fit_input, present, Fit, Transform};
use crate::error::{DataError, Result};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// Population variance (`ddof = 0`) of each column over its non-missing values, computed
/// in two passes (as NumPy's `var`). A column with no values has variance NaN.
pub fn column_variances(x: ArrayView2<'_, f64>) -> Array1<f64> {
    (0..x.ncols())
        .map(|j| {
            let v = present(x, j);
            if v.is_empty() {
                return f64::NAN;
            }
            let n = v.len() as f64;
            let m = v.iter().sum::<f64>() / n;
            v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / n
        })
        .collect()
}

/// Keeps the features whose variance is strictly above `threshold` (scikit-learn's
/// `VarianceThreshold`; the default threshold 0 removes constant features).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct VarianceThreshold {
    /// Minimum variance (exclusive).
    pub threshold: f64,
}

/// A fitted [`VarianceThreshold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedVarianceThreshold {
    /// Variance of every input feature.
    pub variances: Array1<f64>,
    /// Indices of the kept features.
    pub support: Vec<usize>,
}

impl Fit for VarianceThreshold {
    type Fitted = FittedVarianceThreshold;
    fn fit(&self, x: ArrayView2<'_, f64>) -> Result<FittedVarianceThreshold> {
        check_fit_input("VarianceThreshold::fit", x)?;
        let variances = column_variances(x);
        let support = (0..variances.len())
            .filter(|&j| variances[j] > self.threshold)
            .collect();
        Ok(FittedVarianceThreshold { variances, support })
    }
}

impl Transform for FittedVarianceThreshold {
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_features("VarianceThreshold::transform", self.n_features_in(), x)?;
        if let Some(&bad) = self.support.iter().find(|&&j| j >= self.variances.len()) {
            return Err(DataError::invalid(
                "VarianceThreshold::transform",
                format!(
                    "inconsistent fitted state: support index {bad} >= {} features",
                    self.variances.len()
                ),
            ));
        }
        Ok(x.select(Axis(1), &self.support))
    }
    fn n_features_in(&self) -> usize {
        self.variances.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn removes_constant_features() {
        let x = array![[1.0, 7.0, 0.0], [3.0, 7.0, 1.0]];
        let f = VarianceThreshold::default().fit(x.view()).unwrap();
        assert_eq!(f.variances.to_vec(), vec![1.0, 0.0, 0.25]);
        assert_eq!(
            f.transform(x.view()).unwrap(),
            array![[1.0, 0.0], [3.0, 1.0]]
        );
    }
}
