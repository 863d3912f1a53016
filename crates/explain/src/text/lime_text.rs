//! LIME for text (the `lime` package's `LimeTextExplainer`) over the features (tokens or
//! words) of one text.

use ndarray::{Array1, Array2};

use super::perturb::{budget_error, MaskedText, Removal, TextBudget, TextFeatures, TokenPredictor};
use crate::error::{ExplainError, Result};
use crate::lime::kernel;
use crate::linalg::weighted_ridge;
use crate::predictor::{check_target, predict_chunked};
use crate::rng::Rng;

const OP: &str = "lime_text";

/// Settings of [`lime_text`].
#[derive(Debug, Clone)]
pub struct LimeTextConfig {
    /// How removed features are rendered (`lime` deletes words: `Delete`).
    pub removal: Removal,
    /// Samples, the unperturbed text first (`lime` default 5000).
    pub n_samples: usize,
    /// Kernel width on the cosine distance × 100 (`lime` default 25).
    pub kernel_width: f64,
    /// Ridge penalty of the surrogate (`lime` uses `Ridge(alpha=1)`).
    pub alpha: f64,
    /// Seed.
    pub seed: u64,
    /// Evaluation budget and stop check.
    pub budget: TextBudget,
}

impl LimeTextConfig {
    /// `n_samples` samples with the given removal and `lime`'s other defaults.
    pub fn new(removal: Removal, n_samples: usize) -> Self {
        LimeTextConfig {
            removal,
            n_samples,
            kernel_width: 25.0,
            alpha: 1.0,
            seed: 0,
            budget: TextBudget::default(),
        }
    }
}

/// A LIME explanation of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct LimeTextExplanation {
    /// Surrogate coefficient of each feature's presence.
    pub weights: Vec<f64>,
    /// Surrogate intercept.
    pub intercept: f64,
    /// Weighted R² of the surrogate on the samples (local fidelity).
    pub r2: f64,
    /// Surrogate prediction at the whole text.
    pub local_prediction: f64,
    /// The model's output `target` on the whole text.
    pub model_prediction: f64,
    /// Rows given to the model.
    pub evaluations: usize,
}

/// LIME for text, as `lime.lime_text.LimeTextExplainer` samples and weights: the first
/// sample is the whole text; every other sample removes a uniformly drawn number
/// `1..=M` of distinct features, chosen uniformly. The binary presence vectors are weighted
/// by `sqrt(exp(−d² / width²))` of `d = 100 × cosine distance` to the all-present vector
/// (an empty sample is at distance 100), and a weighted ridge regression of output `target`
/// on presence is fitted (all features kept: `lime`'s `num_features` selection is not
/// applied). Evaluations: `n_samples`.
pub fn lime_text<P: TokenPredictor + ?Sized>(
    predictor: &P,
    features: &TextFeatures,
    target: usize,
    config: &LimeTextConfig,
) -> Result<LimeTextExplanation> {
    let m = features.n_features();
    let n = config.n_samples;
    if n < 2 || !(config.kernel_width > 0.0 && config.kernel_width.is_finite()) {
        return Err(ExplainError::invalid(
            OP,
            "n_samples / kernel_width",
            format!(
                "need n_samples >= 2 and a finite kernel_width > 0 (got {n} and {})",
                config.kernel_width
            ),
        ));
    }
    if !(config.alpha >= 0.0 && config.alpha.is_finite()) {
        return Err(ExplainError::invalid(
            OP,
            "alpha",
            format!("{} must be finite and >= 0", config.alpha),
        ));
    }
    config.budget.check(OP, n)?;
    let mut rng = Rng::new(config.seed);
    let mut z = Array2::<f64>::ones((n, m));
    let mut pool: Vec<usize> = (0..m).collect();
    for i in 1..n {
        let size = 1 + rng.below(m);
        // partial Fisher–Yates: `size` distinct features to remove
        for k in 0..size {
            let j = k + rng.below(m - k);
            pool.swap(k, j);
        }
        for &j in &pool[..size] {
            z[[i, j]] = 0.0;
        }
    }
    let sqrt_m = (m as f64).sqrt();
    let weights: Array1<f64> = z
        .outer_iter()
        .map(|r| {
            let on = r.sum();
            let cosine = if on > 0.0 {
                1.0 - on / (on.sqrt() * sqrt_m)
            } else {
                1.0
            };
            kernel(100.0 * cosine, config.kernel_width)
        })
        .collect();
    let masked = MaskedText::new(predictor, features, config.removal, &config.budget);
    let y = predict_chunked(OP, &masked, z.view(), None, config.budget.batch_rows())
        .map_err(|e| budget_error(e, OP, n))?;
    check_target(OP, target, y.ncols())?;
    let yt = y.column(target);
    let fit = weighted_ridge(OP, z.view(), yt, weights.view(), config.alpha)?;
    let local_prediction = fit.intercept + fit.coef.sum();
    Ok(LimeTextExplanation {
        weights: fit.coef.to_vec(),
        intercept: fit.intercept,
        r2: fit.r2,
        local_prediction,
        model_prediction: yt[0],
        evaluations: masked.evaluations(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lime_recovers_the_signs_and_order_of_an_additive_model() {
        let w = [0.0, 1.5, -2.0, 0.25, 3.0, -0.5, 0.75];
        let model = |rows: &[Vec<u32>]| {
            Array2::from_shape_fn((rows.len(), 1), |(r, _)| {
                rows[r].iter().map(|&t| w[t as usize]).sum::<f64>()
            })
        };
        let f = TextFeatures::tokens(vec![1, 2, 3, 4, 5, 6], &[false; 6]).unwrap();
        let cfg = LimeTextConfig::new(Removal::Delete, 2000);
        let e = lime_text(&model, &f, 0, &cfg).unwrap();
        assert_eq!(e.evaluations, 2000);
        for j in 0..6 {
            assert_eq!(e.weights[j] > 0.0, w[j + 1] > 0.0, "{:?}", e.weights);
        }
        let mut by_lime: Vec<usize> = (0..6).collect();
        by_lime.sort_by(|&a, &b| e.weights[b].total_cmp(&e.weights[a]));
        assert_eq!(by_lime, vec![3, 0, 5, 2, 4, 1]);
        // The model is linear in presence: the surrogate fits it, up to ridge shrinkage.
        assert!(e.r2 > 0.999, "r2 {}", e.r2);
        assert!((e.model_prediction - 3.0).abs() < 1e-12);
        // Without the penalty the coefficients are the weights.
        let exact = lime_text(
            &model,
            &f,
            0,
            &LimeTextConfig {
                alpha: 0.0,
                ..cfg.clone()
            },
        )
        .unwrap();
        for j in 0..6 {
            assert!((exact.weights[j] - w[j + 1]).abs() < 1e-9);
        }
        let small = LimeTextConfig {
            budget: TextBudget {
                max_evaluations: 10,
                ..TextBudget::default()
            },
            ..cfg
        };
        assert!(matches!(
            lime_text(&model, &f, 0, &small),
            Err(ExplainError::TooLarge { value: 2000, .. })
        ));
    }
}
