//! Feature scalers (standard, min-max, robust, max-abs) and the row normaliser.

use super::{
    check_features, check_fit_input, check_no_infinite, check_state, handle_zeros,
    percentile_sorted, present, sorted,
};
use super::{Fit, InverseTransform, Transform};
use crate::error::{DataError, Result};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// Applies `f(value, column)` to every non-NaN element of a copy of `x`.
fn map_columns(x: ArrayView2<'_, f64>, f: impl Fn(f64, usize) -> f64) -> Array2<f64> {
    let mut out = x.to_owned();
    for (j, mut col) in out.axis_iter_mut(Axis(1)).enumerate() {
        col.mapv_inplace(|v| if v.is_nan() { v } else { f(v, j) });
    }
    out
}

/// Standardises features to zero mean and unit variance: `z = (x − mean) / std`
/// (population standard deviation, like scikit-learn's `StandardScaler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// Subtract the mean (default true).
    pub with_mean: bool,
    /// Divide by the standard deviation (default true).
    pub with_std: bool,
}

impl Default for StandardScaler {
    fn default() -> Self {
        StandardScaler {
            with_mean: true,
            with_std: true,
        }
    }
}

/// A fitted [`StandardScaler`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedStandardScaler {
    /// Per-feature mean (over non-missing values).
    pub mean: Array1<f64>,
    /// Per-feature population variance.
    pub var: Array1<f64>,
    /// Per-feature divisor (`sqrt(var)`, or 1 for constant features / `with_std == false`).
    pub scale: Array1<f64>,
    /// Whether the mean is subtracted.
    pub with_mean: bool,
}

impl Fit for StandardScaler {
    type Fitted = FittedStandardScaler;
    fn fit(&self, x: ArrayView2<'_, f64>) -> Result<FittedStandardScaler> {
        check_fit_input("StandardScaler::fit", x)?;
        let p = x.ncols();
        let (mut mean, mut var, mut scale) = (Array1::zeros(p), Array1::zeros(p), Array1::ones(p));
        for j in 0..p {
            let v = present(x, j);
            let n = v.len() as f64;
            if v.is_empty() {
                mean[j] = f64::NAN;
                var[j] = f64::NAN;
                continue;
            }
            let m = v.iter().sum::<f64>() / n;
            // scikit-learn's `_incremental_mean_and_var`: two-pass with a correction term.
            let correction: f64 = v.iter().map(|a| a - m).sum();
            let ss: f64 =
                v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() - correction * correction / n;
            let vj = ss / n;
            mean[j] = m;
            var[j] = vj;
            let eps = f64::EPSILON;
            let constant = vj <= n * eps * vj + (n * m * eps).powi(2);
            if self.with_std && !constant {
                scale[j] = vj.sqrt();
            }
        }
        Ok(FittedStandardScaler {
            mean,
            var,
            scale,
            with_mean: self.with_mean,
        })
    }
}

impl Transform for FittedStandardScaler {
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_state(
            "StandardScaler::transform",
            &[
                ("mean", self.mean.len()),
                ("var", self.var.len()),
                ("scale", self.scale.len()),
            ],
            x,
        )?;
        let c = self.with_mean;
        Ok(map_columns(x, |v, j| {
            (v - if c { self.mean[j] } else { 0.0 }) / self.scale[j]
        }))
    }
    fn n_features_in(&self) -> usize {
        self.mean.len()
    }
}

impl InverseTransform for FittedStandardScaler {
    fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_state(
            "StandardScaler::inverse_transform",
            &[
                ("mean", self.mean.len()),
                ("var", self.var.len()),
                ("scale", self.scale.len()),
            ],
            x,
        )?;
        let c = self.with_mean;
        Ok(map_columns(x, |v, j| {
            v * self.scale[j] + if c { self.mean[j] } else { 0.0 }
        }))
    }
}

/// Rescales each feature to `feature_range` using its minimum and maximum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScaler {
    /// Target range `(lo, hi)` with `lo < hi` (default `(0, 1)`).
    pub feature_range: (f64, f64),
    /// Clip transformed values to the range (default false).
    pub clip: bool,
}

impl Default for MinMaxScaler {
    fn default() -> Self {
        MinMaxScaler {
            feature_range: (0.0, 1.0),
            clip: false,
        }
    }
}

/// A fitted [`MinMaxScaler`]: `x' = x · scale + min`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMinMaxScaler {
    /// Per-feature minimum seen.
    pub data_min: Array1<f64>,
    /// Per-feature maximum seen.
    pub data_max: Array1<f64>,
    /// Per-feature multiplier.
    pub scale: Array1<f64>,
    /// Per-feature offset.
    pub min: Array1<f64>,
    /// Target range.
    pub feature_range: (f64, f64),
    /// Whether outputs are clipped to the range.
    pub clip: bool,
}

impl Fit for MinMaxScaler {
    type Fitted = FittedMinMaxScaler;
    fn fit(&self, x: ArrayView2<'_, f64>) -> Result<FittedMinMaxScaler> {
        let (lo, hi) = self.feature_range;
        if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
            return Err(DataError::invalid(
                "MinMaxScaler::fit",
                format!("feature_range must satisfy lo < hi, got ({lo}, {hi})"),
            ));
        }
        check_fit_input("MinMaxScaler::fit", x)?;
        let p = x.ncols();
        let mut f = FittedMinMaxScaler {
            data_min: Array1::zeros(p),
            data_max: Array1::zeros(p),
            scale: Array1::zeros(p),
            min: Array1::zeros(p),
            feature_range: self.feature_range,
            clip: self.clip,
        };
        for j in 0..p {
            let v = present(x, j);
            let mn = v.iter().copied().fold(f64::INFINITY, f64::min);
            let mx = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let (mn, mx) = if v.is_empty() {
                (f64::NAN, f64::NAN)
            } else {
                (mn, mx)
            };
            f.data_min[j] = mn;
            f.data_max[j] = mx;
            f.scale[j] = (hi - lo) / handle_zeros(mx - mn);
            f.min[j] = lo - mn * f.scale[j];
        }
        Ok(f)
    }
}

impl Transform for FittedMinMaxScaler {
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_state(
            "MinMaxScaler::transform",
            &[
                ("scale", self.scale.len()),
                ("min", self.min.len()),
                ("data_min", self.data_min.len()),
                ("data_max", self.data_max.len()),
            ],
            x,
        )?;
        let (lo, hi) = self.feature_range;
        Ok(map_columns(x, |v, j| {
            let y = v * self.scale[j] + self.min[j];
            if self.clip {
                y.clamp(lo, hi)
            } else {
                y
            }
        }))
    }
    fn n_features_in(&self) -> usize {
        self.scale.len()
    }
}

impl InverseTransform for FittedMinMaxScaler {
    fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_state(
            "MinMaxScaler::inverse_transform",
            &[
                ("scale", self.scale.len()),
                ("min", self.min.len()),
                ("data_min", self.data_min.len()),
                ("data_max", self.data_max.len()),
            ],
            x,
        )?;
        Ok(map_columns(x, |v, j| (v - self.min[j]) / self.scale[j]))
    }
}

/// Centres on the median and scales by an inter-quantile range (robust to outliers).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RobustScaler {
    /// Subtract the median (default true).
    pub with_centering: bool,
    /// Divide by the quantile range (default true).
    pub with_scaling: bool,
    /// Percentiles `(q_lo, q_hi)` in `[0, 100]` (default `(25, 75)`).
    pub quantile_range: (f64, f64),
}

impl Default for RobustScaler {
    fn default() -> Self {
        RobustScaler {
            with_centering: true,
            with_scaling: true,
            quantile_range: (25.0, 75.0),
        }
    }
}

/// A fitted [`RobustScaler`]: `x' = (x − center) / scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedRobustScaler {
    /// Per-feature median (0 when centring is off).
    pub center: Array1<f64>,
    /// Per-feature quantile range (1 when scaling is off or the range is 0).
    pub scale: Array1<f64>,
}

impl Fit for RobustScaler {
    type Fitted = FittedRobustScaler;
    fn fit(&self, x: ArrayView2<'_, f64>) -> Result<FittedRobustScaler> {
        let (ql, qh) = self.quantile_range;
        if !(0.0 <= ql && ql <= qh && qh <= 100.0) {
            return Err(DataError::invalid(
                "RobustScaler::fit",
                format!("quantile_range must satisfy 0 <= lo <= hi <= 100, got ({ql}, {qh})"),
            ));
        }
        check_fit_input("RobustScaler::fit", x)?;
        let p = x.ncols();
        let (mut center, mut scale) = (Array1::zeros(p), Array1::ones(p));
        for j in 0..p {
            let s = sorted(present(x, j));
            if self.with_centering {
                center[j] = percentile_sorted(&s, 50.0);
            }
            if self.with_scaling {
                scale[j] = handle_zeros(percentile_sorted(&s, qh) - percentile_sorted(&s, ql));
            }
        }
        Ok(FittedRobustScaler { center, scale })
    }
}

impl Transform for FittedRobustScaler {
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_state(
            "RobustScaler::transform",
            &[("center", self.center.len()), ("scale", self.scale.len())],
            x,
        )?;
        Ok(map_columns(x, |v, j| (v - self.center[j]) / self.scale[j]))
    }
    fn n_features_in(&self) -> usize {
        self.center.len()
    }
}

impl InverseTransform for FittedRobustScaler {
    fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_state(
            "RobustScaler::inverse_transform",
            &[("center", self.center.len()), ("scale", self.scale.len())],
            x,
        )?;
        Ok(map_columns(x, |v, j| v * self.scale[j] + self.center[j]))
    }
}

/// Scales each feature by its maximum absolute value (keeps zeros and sparsity).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxAbsScaler;

/// A fitted [`MaxAbsScaler`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMaxAbsScaler {
    /// Per-feature maximum absolute value.
    pub max_abs: Array1<f64>,
    /// Per-feature divisor (1 for all-zero features).
    pub scale: Array1<f64>,
}

impl Fit for MaxAbsScaler {
    type Fitted = FittedMaxAbsScaler;
    fn fit(&self, x: ArrayView2<'_, f64>) -> Result<FittedMaxAbsScaler> {
        check_fit_input("MaxAbsScaler::fit", x)?;
        let max_abs: Array1<f64> = (0..x.ncols())
            .map(|j| present(x, j).iter().fold(0.0f64, |m, v| m.max(v.abs())))
            .collect();
        let scale = max_abs.mapv(handle_zeros);
        Ok(FittedMaxAbsScaler { max_abs, scale })
    }
}

impl Transform for FittedMaxAbsScaler {
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_state(
            "MaxAbsScaler::transform",
            &[("scale", self.scale.len()), ("max_abs", self.max_abs.len())],
            x,
        )?;
        Ok(map_columns(x, |v, j| v / self.scale[j]))
    }
    fn n_features_in(&self) -> usize {
        self.scale.len()
    }
}

impl InverseTransform for FittedMaxAbsScaler {
    fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_state(
            "MaxAbsScaler::inverse_transform",
            &[("scale", self.scale.len()), ("max_abs", self.max_abs.len())],
            x,
        )?;
        Ok(map_columns(x, |v, j| v * self.scale[j]))
    }
}

/// The norm used by [`Normalizer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Norm {
    /// Sum of absolute values.
    L1,
    /// Euclidean norm.
    L2,
    /// Maximum absolute value.
    Max,
}

/// Scales each *row* to unit norm (rows of zeros are left unchanged). Stateless: fitting
/// only records the number of features. It has no inverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Normalizer {
    /// The norm (default L2).
    pub norm: Norm,
    /// Number of features (set by [`Fit::fit`]).
    pub n_features: usize,
}

impl Normalizer {
    /// A normaliser for `norm`.
    pub fn new(norm: Norm) -> Self {
        Normalizer {
            norm,
            n_features: 0,
        }
    }
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer::new(Norm::L2)
    }
}

impl Fit for Normalizer {
    type Fitted = Normalizer;
    fn fit(&self, x: ArrayView2<'_, f64>) -> Result<Normalizer> {
        check_no_infinite("Normalizer::fit", x)?;
        Ok(Normalizer {
            norm: self.norm,
            n_features: x.ncols(),
        })
    }
}

impl Transform for Normalizer {
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_features("Normalizer::transform", self.n_features, x)?;
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            let n = match self.norm {
                Norm::L1 => row.iter().map(|v| v.abs()).sum::<f64>(),
                Norm::L2 => row.iter().map(|v| v * v).sum::<f64>().sqrt(),
                Norm::Max => row.iter().fold(0.0f64, |m, v| m.max(v.abs())),
            };
            let n = handle_zeros(n);
            row.mapv_inplace(|v| v / n);
        }
        Ok(out)
    }
    fn n_features_in(&self) -> usize {
        self.n_features
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn standard_scaler_by_hand() {
        // Column 0: mean 2, population std sqrt(2/3); column 1 constant -> scale 1.
        let x = array![[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]];
        let f = StandardScaler::default().fit(x.view()).unwrap();
        let z = f.transform(x.view()).unwrap();
        let s = (2.0f64 / 3.0).sqrt();
        assert!((z[[0, 0]] + 1.0 / s).abs() < 1e-12);
        assert_eq!(z[[1, 1]], 0.0);
        assert_eq!(f.scale[1], 1.0);
        let back = f.inverse_transform(z.view()).unwrap();
        assert!((back[[2, 0]] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn nan_is_ignored_in_fit_and_kept_in_transform() {
        let x = array![[1.0], [f64::NAN], [3.0]];
        let f = MinMaxScaler::default().fit(x.view()).unwrap();
        let z = f.transform(x.view()).unwrap();
        assert_eq!(z[[0, 0]], 0.0);
        assert!(z[[1, 0]].is_nan());
        assert_eq!(z[[2, 0]], 1.0);
    }

    #[test]
    fn errors_name_the_problem() {
        let x = array![[1.0, 2.0]];
        let f = MaxAbsScaler.fit(x.view()).unwrap();
        let e = f.transform(array![[1.0]].view()).unwrap_err().to_string();
        assert!(
            e.contains("MaxAbsScaler::transform") && e.contains("2 features"),
            "{e}"
        );
        let e = StandardScaler::default()
            .fit(array![[f64::INFINITY]].view())
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1") && e.contains("column 0"), "{e}");
        assert!(StandardScaler::default()
            .fit(Array2::zeros((0, 2)).view())
            .is_err());
        let bad = MinMaxScaler {
            feature_range: (1.0, 0.0),
            clip: false,
        };
        assert!(bad.fit(x.view()).is_err());
    }

    #[test]
    fn inconsistent_deserialised_state_is_an_error() {
        let bad = FittedRobustScaler {
            center: Array1::zeros(2),
            scale: Array1::ones(1),
        };
        let e = bad
            .transform(array![[1.0, 2.0]].view())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("inconsistent fitted state") && e.contains("'scale' has 1"),
            "{e}"
        );
    }

    #[test]
    fn robust_and_normalizer_by_hand() {
        // Median 2.5, IQR 3.25 - 1.75 = 1.5.
        let x = array![[1.0], [2.0], [3.0], [4.0]];
        let f = RobustScaler::default().fit(x.view()).unwrap();
        assert_eq!(f.center[0], 2.5);
        assert_eq!(f.scale[0], 1.5);
        let n = Normalizer::new(Norm::L1)
            .fit(array![[1.0, 3.0]].view())
            .unwrap();
        assert_eq!(
            n.transform(array![[1.0, 3.0], [0.0, 0.0]].view()).unwrap(),
            array![[0.25, 0.75], [0.0, 0.0]]
        );
    }
}
