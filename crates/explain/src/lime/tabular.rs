//! LIME for tabular rows (the `lime` package's `LimeTabularExplainer`).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::kernel;
use crate::error::{ExplainError, Result};
use crate::linalg::weighted_ridge;
use crate::predictor::{
    check_matrix, check_target, predict_chunked, Predictor, DEFAULT_MAX_BATCH_ROWS,
};
use crate::rng::{cumulative, Rng};

const OP: &str = "LimeTabular";

/// Settings of [`LimeTabular`].
#[derive(Debug, Clone, PartialEq)]
pub struct LimeTabularConfig {
    /// Perturbed samples per explanation (the input itself is the first).
    pub n_samples: usize,
    /// Kernel width; `None` uses `0.75 · sqrt(features)` (the `lime` default).
    pub kernel_width: Option<f64>,
    /// Discretise every feature into training quartiles; the interpretable features are then
    /// "in the same quartile as the input" (0/1). Otherwise features are standardised
    /// values.
    pub discretize: bool,
    /// Ridge penalty of the surrogate (`lime` uses `Ridge(alpha=1)`).
    pub alpha: f64,
    /// Keep only this many features: the largest |coefficients| of a first fit on all
    /// features are kept and the surrogate refitted on them (`lime`'s "highest_weights").
    /// `None` keeps every feature.
    pub num_features: Option<usize>,
    /// Seed.
    pub seed: u64,
    /// Cap on rows per predictor call.
    pub max_batch_rows: usize,
}

impl Default for LimeTabularConfig {
    fn default() -> Self {
        LimeTabularConfig {
            n_samples: 5000,
            kernel_width: None,
            discretize: true,
            alpha: 1.0,
            num_features: None,
            seed: 0,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
        }
    }
}

/// A LIME explanation of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct LimeTabularExplanation {
    /// Surrogate coefficient per feature (per standard deviation, or for being in the
    /// input's quartile when discretised); 0 for features left out by `num_features`.
    pub weights: Array1<f64>,
    /// Features used by the surrogate, ascending.
    pub selected: Vec<usize>,
    /// Surrogate intercept.
    pub intercept: f64,
    /// Weighted R² of the surrogate on the samples (local fidelity).
    pub r2: f64,
    /// Surrogate prediction at the input.
    pub local_prediction: f64,
    /// Model prediction at the input.
    pub model_prediction: f64,
    /// Human-readable interpretable feature, e.g. `x[2] <= 1.30` or `0.2 < x[0] <= 0.9`.
    pub descriptions: Vec<String>,
}

/// LIME explainer holding training statistics (mean, std and quartile bins).
#[derive(Debug, Clone)]
pub struct LimeTabular {
    config: LimeTabularConfig,
    mean: Array1<f64>,
    std: Array1<f64>,
    /// Per feature: sorted distinct quartile boundaries.
    bounds: Vec<Vec<f64>>,
    /// Per feature and bin: training values falling in the bin.
    bin_values: Vec<Vec<Vec<f64>>>,
    feature_names: Vec<String>,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Bin of `v` given sorted boundaries: `v <= b0` → 0, `b0 < v <= b1` → 1, … (numpy
/// `searchsorted(side="left")`).
fn bin_of(bounds: &[f64], v: f64) -> usize {
    bounds.partition_point(|&b| b < v)
}

impl LimeTabular {
    /// Learns feature statistics from `training` rows.
    pub fn new(training: ArrayView2<f64>, config: LimeTabularConfig) -> Result<Self> {
        check_matrix(OP, "training data", training)?;
        if config.n_samples < 2 {
            return Err(ExplainError::invalid(
                OP,
                "n_samples",
                "need at least 2 samples",
            ));
        }
        if config
            .kernel_width
            .is_some_and(|w| !(w > 0.0 && w.is_finite()))
        {
            return Err(ExplainError::invalid(
                OP,
                "kernel_width",
                "must be positive and finite",
            ));
        }
        let mean = training.mean_axis(Axis(0)).expect("non-empty");
        // lime uses StandardScaler: population std, zeros replaced by 1
        let std = training
            .std_axis(Axis(0), 0.0)
            .mapv(|s| if s > 0.0 { s } else { 1.0 });
        let mut bounds = Vec::new();
        let mut bin_values = Vec::new();
        for col in training.axis_iter(Axis(1)) {
            let mut sorted = col.to_vec();
            sorted.sort_by(f64::total_cmp);
            let mut b: Vec<f64> = [0.25, 0.5, 0.75]
                .iter()
                .map(|&q| percentile(&sorted, q))
                .collect();
            b.dedup();
            let mut vals = vec![Vec::new(); b.len() + 1];
            for &v in &sorted {
                vals[bin_of(&b, v)].push(v);
            }
            bounds.push(b);
            bin_values.push(vals);
        }
        let feature_names = (0..training.ncols()).map(|j| format!("x[{j}]")).collect();
        Ok(LimeTabular {
            config,
            mean,
            std,
            bounds,
            bin_values,
            feature_names,
        })
    }

    /// Uses these names in [`LimeTabularExplanation::descriptions`].
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.mean.len() {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what: "feature names",
                expected: vec![self.mean.len()],
                found: vec![names.len()],
            });
        }
        self.feature_names = names;
        Ok(self)
    }

    /// Explains output `target` of the predictor at row `x`.
    pub fn explain<P: Predictor + ?Sized>(
        &self,
        predictor: &P,
        x: ArrayView1<f64>,
        target: usize,
    ) -> Result<LimeTabularExplanation> {
        let m = self.mean.len();
        if x.len() != m {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what: "input row",
                expected: vec![m],
                found: vec![x.len()],
            });
        }
        check_matrix(OP, "input row", x.insert_axis(Axis(0)))?;
        let n = self.config.n_samples;
        let mut rng = Rng::new(self.config.seed);
        let mut data = Array2::zeros((n, m)); // values given to the model
        let mut interp = Array2::zeros((n, m)); // interpretable representation
        data.row_mut(0).assign(&x);
        let x_bins: Vec<usize> = (0..m).map(|j| bin_of(&self.bounds[j], x[j])).collect();
        if self.config.discretize {
            let cums: Vec<Vec<f64>> = self
                .bin_values
                .iter()
                .map(|bins| cumulative(&bins.iter().map(|b| b.len() as f64).collect::<Vec<_>>()))
                .collect();
            interp.row_mut(0).fill(1.0);
            for i in 1..n {
                for j in 0..m {
                    let b = rng.weighted_index(&cums[j]);
                    let vals = &self.bin_values[j][b];
                    data[[i, j]] = vals[rng.below(vals.len())];
                    interp[[i, j]] = if b == x_bins[j] { 1.0 } else { 0.0 };
                }
            }
        } else {
            for j in 0..m {
                interp[[0, j]] = (x[j] - self.mean[j]) / self.std[j];
            }
            for i in 1..n {
                for j in 0..m {
                    let z = rng.normal();
                    data[[i, j]] = z * self.std[j] + self.mean[j];
                    interp[[i, j]] = z;
                }
            }
        }
        let width = self.config.kernel_width.unwrap_or(0.75 * (m as f64).sqrt());
        let x0 = interp.row(0).to_owned();
        let weights: Array1<f64> = interp
            .outer_iter()
            .map(|r| kernel((&r - &x0).mapv(|v| v * v).sum().sqrt(), width))
            .collect();
        let y = predict_chunked(OP, predictor, data.view(), None, self.config.max_batch_rows)?;
        check_target(OP, target, y.ncols())?;
        let yt = y.column(target);
        let mut fit = weighted_ridge(OP, interp.view(), yt, weights.view(), self.config.alpha)?;
        let mut selected: Vec<usize> = (0..m).collect();
        if let Some(k) = self.config.num_features.filter(|&k| k < m) {
            if k == 0 {
                return Err(ExplainError::invalid(
                    OP,
                    "num_features",
                    "must be at least 1",
                ));
            }
            selected.sort_by(|&a, &b| fit.coef[b].abs().total_cmp(&fit.coef[a].abs()));
            selected.truncate(k);
            selected.sort_unstable();
            let sub = interp.select(Axis(1), &selected);
            let refit = weighted_ridge(OP, sub.view(), yt, weights.view(), self.config.alpha)?;
            let mut coef = Array1::zeros(m);
            for (p, &j) in selected.iter().enumerate() {
                coef[j] = refit.coef[p];
            }
            fit = crate::linalg::RidgeFit { coef, ..refit };
        }
        let local_prediction = fit.intercept + x0.dot(&fit.coef);
        let descriptions = (0..m)
            .map(|j| {
                let name = &self.feature_names[j];
                if !self.config.discretize {
                    return name.clone();
                }
                let b = &self.bounds[j];
                let k = x_bins[j];
                match (k.checked_sub(1).map(|p| b[p]), b.get(k)) {
                    (None, Some(u)) => format!("{name} <= {u:.4}"),
                    (Some(l), None) => format!("{name} > {l:.4}"),
                    (Some(l), Some(u)) => format!("{l:.4} < {name} <= {u:.4}"),
                    (None, None) => name.clone(),
                }
            })
            .collect();
        Ok(LimeTabularExplanation {
            weights: fit.coef,
            selected,
            intercept: fit.intercept,
            r2: fit.r2,
            local_prediction,
            model_prediction: yt[0],
            descriptions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_model_recovers_scaled_slopes() {
        // f = 2 x0 − 3 x1 + 0 x2. Continuous LIME regresses f on standardised features, so
        // the coefficients are slope · std (ridge shrinkage is negligible for 5000 samples).
        let mut rng = Rng::new(3);
        let train = Array2::from_shape_fn((500, 3), |(_, j)| rng.normal() * (j + 1) as f64);
        let f = |x: ArrayView2<f64>| (2.0 * &x.column(0) - 3.0 * &x.column(1)).insert_axis(Axis(1));
        let lime = LimeTabular::new(
            train.view(),
            LimeTabularConfig {
                discretize: false,
                ..Default::default()
            },
        )
        .unwrap();
        let std = train.std_axis(Axis(0), 0.0);
        let e = lime.explain(&f, train.row(0), 0).unwrap();
        assert!(
            (e.weights[0] - 2.0 * std[0]).abs() < 0.01 * std[0],
            "{:?}",
            e.weights
        );
        assert!((e.weights[1] + 3.0 * std[1]).abs() < 0.01 * std[1]);
        assert!(e.weights[2].abs() < 0.01);
        assert!(e.r2 > 0.999);
        // discretised: an ignored feature still gets ~0, descriptions name the quartile
        let lime = LimeTabular::new(train.view(), LimeTabularConfig::default()).unwrap();
        let e = lime.explain(&f, train.row(0), 0).unwrap();
        assert!(
            e.weights[2].abs() < 0.1 * e.weights[1].abs(),
            "{:?}",
            e.weights
        );
        assert!(e.descriptions[0].contains("x[0]"));
        // keeping 2 features drops the ignored one
        let lime2 = LimeTabular::new(
            train.view(),
            LimeTabularConfig {
                discretize: false,
                num_features: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
        let e2 = lime2.explain(&f, train.row(0), 0).unwrap();
        assert_eq!(e2.selected, vec![0, 1]);
        assert_eq!(e2.weights[2], 0.0);
        assert!(e2.r2 > 0.999);
        assert!(matches!(
            lime.explain(&f, train.row(0), 1),
            Err(ExplainError::TargetOutOfRange { .. })
        ));
    }
}
