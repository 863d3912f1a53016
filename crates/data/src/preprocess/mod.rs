//! Fit-once, apply-many transformers on `f64` feature matrices (rows are samples).
//!
//! Each transformer is a small configuration struct implementing [`Fit`]; fitting returns a
//! separate *fitted* type (serde-serialisable) implementing [`Transform`] and, where it
//! exists, [`InverseTransform`]. Definitions follow scikit-learn: statistics ignore NaN
//! (missing) values, which pass through scaling unchanged; near-zero scales are replaced by
//! 1 so constant features do not blow up.

mod encode;
mod impute;
mod label;
mod scale;
mod select;

pub use encode::{
    FittedOneHotEncoder, FittedOrdinalEncoder, HandleUnknown, OneHotEncoder, OrdinalEncoder,
};
pub use impute::{FittedSimpleImputer, ImputeStrategy, SimpleImputer};
pub use label::LabelEncoder;
pub use scale::{
    FittedMaxAbsScaler, FittedMinMaxScaler, FittedRobustScaler, FittedStandardScaler, MaxAbsScaler,
    MinMaxScaler, Norm, Normalizer, RobustScaler, StandardScaler,
};
pub use select::{column_variances, FittedVarianceThreshold, VarianceThreshold};

use crate::error::{DataError, Result};
use ndarray::{Array2, ArrayView2};

/// A transformer configuration that can be fitted to data.
pub trait Fit {
    /// The fitted transformer.
    type Fitted: Transform;
    /// Learns the transformer's statistics from `x` (`n_samples × n_features`).
    fn fit(&self, x: ArrayView2<'_, f64>) -> Result<Self::Fitted>;
    /// Fits on `x` and transforms it.
    fn fit_transform(&self, x: ArrayView2<'_, f64>) -> Result<(Self::Fitted, Array2<f64>)> {
        let fitted = self.fit(x)?;
        let out = fitted.transform(x)?;
        Ok((fitted, out))
    }
}

/// A fitted transformer.
pub trait Transform {
    /// Applies the fitted transformation to `x`, which must have [`Transform::n_features_in`] columns.
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>>;
    /// Number of columns expected by [`Transform::transform`].
    fn n_features_in(&self) -> usize;
}

/// A fitted transformer that can be undone.
pub trait InverseTransform: Transform {
    /// Maps transformed data back to the original space.
    fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>>;
}

/// Errors unless `x` has `n` columns.
pub(crate) fn check_features(op: &'static str, n: usize, x: ArrayView2<'_, f64>) -> Result<()> {
    if x.ncols() != n {
        return Err(DataError::shape(
            op,
            format!("{n} features (as at fit time)"),
            format!(
                "{} features in an array of shape {:?}",
                x.ncols(),
                x.shape()
            ),
        ));
    }
    Ok(())
}

/// Errors unless the per-feature vectors of a fitted transformer (possibly deserialised from
/// an untrusted file) all have the same length, then checks `x` against that length.
pub(crate) fn check_state(
    op: &'static str,
    lengths: &[(&'static str, usize)],
    x: ArrayView2<'_, f64>,
) -> Result<()> {
    let n = lengths.first().map_or(0, |l| l.1);
    if let Some((name, len)) = lengths.iter().find(|l| l.1 != n) {
        return Err(DataError::invalid(
            op,
            format!(
                "inconsistent fitted state: '{name}' has {len} entries, '{}' has {n}",
                lengths[0].0
            ),
        ));
    }
    check_features(op, n, x)
}

/// Errors if `x` has no rows or holds an infinite value.
pub(crate) fn check_fit_input(op: &'static str, x: ArrayView2<'_, f64>) -> Result<()> {
    if x.nrows() == 0 {
        return Err(DataError::Empty {
            op,
            reason: format!("cannot fit on an array of shape {:?}", x.shape()),
        });
    }
    check_no_infinite(op, x)
}

/// Errors if `x` holds `±inf` (NaN means missing and is allowed).
pub(crate) fn check_no_infinite(op: &'static str, x: ArrayView2<'_, f64>) -> Result<()> {
    for ((i, j), &v) in x.indexed_iter() {
        if v.is_infinite() {
            return Err(DataError::NonFinite {
                op,
                row: i + 1,
                column: j.to_string(),
                value: v,
            });
        }
    }
    Ok(())
}

/// The non-NaN values of column `j`.
pub(crate) fn present(x: ArrayView2<'_, f64>, j: usize) -> Vec<f64> {
    x.column(j)
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .collect()
}

/// NumPy's default (linear) percentile of sorted data, `q` in `[0, 100]`.
pub(crate) fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    // NumPy's lerp form, exact at both ends.
    let (a, b) = (sorted[lo], sorted[hi]);
    if frac >= 0.5 {
        b - (b - a) * (1.0 - frac)
    } else {
        a + (b - a) * frac
    }
}

/// Sorts a copy of `v` (NaN-free) ascending.
pub(crate) fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// scikit-learn's `_handle_zeros_in_scale`: scales below `10·eps` become 1.
pub(crate) fn handle_zeros(scale: f64) -> f64 {
    if scale.abs() < 10.0 * f64::EPSILON || scale.is_nan() {
        1.0
    } else {
        scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        // np.percentile([1, 2, 3, 4], [0, 25, 50, 75, 100]) = [1, 1.75, 2.5, 3.25, 4]
        let s = [1.0, 2.0, 3.0, 4.0];
        let got: Vec<f64> = [0.0, 25.0, 50.0, 75.0, 100.0]
            .iter()
            .map(|&q| percentile_sorted(&s, q))
            .collect();
        assert_eq!(got, vec![1.0, 1.75, 2.5, 3.25, 4.0]);
    }
}
