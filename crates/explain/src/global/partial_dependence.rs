//! Partial dependence (Friedman, 2001) and ICE curves (Goldstein et al., 2015).

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};

use crate::error::{ExplainError, Result};
use crate::predictor::{check_matrix, predict_chunked, Predictor, DEFAULT_MAX_BATCH_ROWS};

const OP: &str = "partial_dependence";

/// Settings of [`partial_dependence`].
#[derive(Debug, Clone, PartialEq)]
pub struct PartialDependenceConfig {
    /// Grid points when the feature has more distinct values than this.
    pub grid_resolution: usize,
    /// Percentiles bounding the grid (scikit-learn default `(0.05, 0.95)`).
    pub percentiles: (f64, f64),
    /// Explicit grid, overriding the two fields above.
    pub grid: Option<Vec<f64>>,
    /// Cap on rows per predictor call.
    pub max_batch_rows: usize,
}

impl Default for PartialDependenceConfig {
    fn default() -> Self {
        PartialDependenceConfig {
            grid_resolution: 100,
            percentiles: (0.05, 0.95),
            grid: None,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
        }
    }
}

/// Partial dependence of every output on one feature, with the ICE curves it averages.
#[derive(Debug, Clone, PartialEq)]
pub struct PartialDependence {
    /// The feature.
    pub feature: usize,
    /// Grid values of the feature.
    pub grid: Array1<f64>,
    /// Mean prediction per grid value and output, `[grid, outputs]`.
    pub average: Array2<f64>,
    /// Prediction of each sample with the feature set to each grid value,
    /// `[samples, grid, outputs]` (ICE curves).
    pub individual: Array3<f64>,
}

/// Computes the partial dependence of the predictor on `feature` over rows `x`.
///
/// The grid follows scikit-learn: the sorted distinct values when there are at most
/// `grid_resolution` of them, otherwise `grid_resolution` evenly spaced points between
/// the given percentiles (linear interpolation, as `numpy.percentile`).
pub fn partial_dependence<P: Predictor + ?Sized>(
    predictor: &P,
    x: ArrayView2<f64>,
    feature: usize,
    config: &PartialDependenceConfig,
) -> Result<PartialDependence> {
    check_matrix(OP, "x", x)?;
    let (n, m) = x.dim();
    if feature >= m {
        return Err(ExplainError::FeatureOutOfRange {
            op: OP,
            feature,
            features: m,
        });
    }
    let grid = match &config.grid {
        Some(g) if g.is_empty() || g.iter().any(|v| !v.is_finite()) => {
            return Err(ExplainError::invalid(
                OP,
                "grid",
                "must be non-empty and finite",
            ))
        }
        Some(g) => Array1::from(g.clone()),
        None => make_grid(x.column(feature), config)?,
    };
    let g = grid.len();
    let mut batch = Array2::zeros((g * n, m));
    for (gi, &v) in grid.iter().enumerate() {
        for i in 0..n {
            let mut row = batch.row_mut(gi * n + i);
            row.assign(&x.row(i));
            row[feature] = v;
        }
    }
    let y = predict_chunked(OP, predictor, batch.view(), None, config.max_batch_rows)?;
    let k = y.ncols();
    let mut individual = Array3::zeros((n, g, k));
    for gi in 0..g {
        for i in 0..n {
            individual
                .index_axis_mut(Axis(0), i)
                .row_mut(gi)
                .assign(&y.row(gi * n + i));
        }
    }
    let average = individual.mean_axis(Axis(0)).expect("n > 0");
    Ok(PartialDependence {
        feature,
        grid,
        average,
        individual,
    })
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn make_grid(col: ArrayView1<f64>, cfg: &PartialDependenceConfig) -> Result<Array1<f64>> {
    let (lo, hi) = cfg.percentiles;
    if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) || lo >= hi {
        return Err(ExplainError::invalid(
            OP,
            "percentiles",
            format!("({lo}, {hi}) must satisfy 0 <= lo < hi <= 1"),
        ));
    }
    if cfg.grid_resolution < 2 {
        return Err(ExplainError::invalid(
            OP,
            "grid_resolution",
            "must be at least 2",
        ));
    }
    let mut sorted = col.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut uniq = sorted.clone();
    uniq.dedup();
    if uniq.len() <= cfg.grid_resolution {
        return Ok(Array1::from(uniq));
    }
    let (a, b) = (percentile(&sorted, lo), percentile(&sorted, hi));
    Ok(Array1::linspace(a, b, cfg.grid_resolution))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn additive_model_pd_is_the_shape_function_plus_mean_of_the_rest() {
        // f = x0² + 3 x1: PD on x0 at v is v² + 3·mean(x1); ICE of row i is v² + 3 x1_i.
        let f = |x: ArrayView2<f64>| {
            (&x.column(0).mapv(|v| v * v) + &(3.0 * &x.column(1))).insert_axis(Axis(1))
        };
        let x = array![[0.0, 1.0], [1.0, 2.0], [2.0, 6.0]];
        let pd = partial_dependence(&f, x.view(), 0, &PartialDependenceConfig::default()).unwrap();
        assert_eq!(pd.grid.to_vec(), vec![0.0, 1.0, 2.0]);
        for (gi, v) in [0.0, 1.0, 2.0].iter().enumerate() {
            assert!((pd.average[[gi, 0]] - (v * v + 9.0)).abs() < 1e-12);
            assert!((pd.individual[[2, gi, 0]] - (v * v + 18.0)).abs() < 1e-12);
        }
        let cfg = PartialDependenceConfig {
            grid_resolution: 2,
            percentiles: (0.0, 1.0),
            ..Default::default()
        };
        let pd = partial_dependence(&f, x.view(), 1, &cfg).unwrap();
        assert_eq!(pd.grid.to_vec(), vec![1.0, 6.0]);
        assert!(matches!(
            partial_dependence(&f, x.view(), 2, &cfg),
            Err(ExplainError::FeatureOutOfRange { feature: 2, .. })
        ));
    }
}
