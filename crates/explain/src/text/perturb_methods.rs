//! Occlusion and Kernel SHAP over the tokens or words of one text. Both run the crate's
//! own methods ([`occlusion`](crate::perturbation::occlusion) and
//! [`KernelShap`](crate::shapley::KernelShap)) on a [`MaskedText`]: the input is the
//! all-present mask, the baseline the all-removed mask.

use ndarray::{Array1, Array2};

use super::perturb::{budget_error, MaskedText, Removal, TextBudget, TextFeatures, TokenPredictor};
use crate::error::{ExplainError, Result};
use crate::perturbation::{occlusion, Baseline, OcclusionConfig};
use crate::predictor::{check_target, predict_checked};
use crate::shapley::{Background, KernelShap, KernelShapConfig};

/// One attribution score per feature (token or word) of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextAttribution {
    /// Score of each feature, in [`TextFeatures::groups`] order.
    pub scores: Vec<f64>,
    /// The explained output column.
    pub target: usize,
    /// The model's output `target` on the whole text.
    pub output: f64,
    /// The model's output `target` with every feature removed (special tokens only, or
    /// only mask tokens).
    pub removed_output: f64,
    /// Rows given to the model.
    pub evaluations: usize,
}

/// Settings of [`text_occlusion`].
#[derive(Debug, Clone)]
pub struct TextOcclusionConfig {
    /// How removed features are rendered.
    pub removal: Removal,
    /// Features removed together by one window (`1`: leave-one-out, i.e. ablation).
    pub window: usize,
    /// Step between windows.
    pub stride: usize,
    /// Evaluation budget and stop check.
    pub budget: TextBudget,
}

impl TextOcclusionConfig {
    /// Leave-one-out with the given removal.
    pub fn new(removal: Removal) -> Self {
        TextOcclusionConfig {
            removal,
            window: 1,
            stride: 1,
            budget: TextBudget::default(),
        }
    }
}

/// Occlusion over features: windows of `window` consecutive features (positions `0, s,
/// 2s, …`, as Captum's `Occlusion`) are removed, and each feature gets the mean drop
/// `f(x)[target] − f(x without the window)[target]` over the windows covering it. With
/// `window = 1` this is leave-one-out ablation.
///
/// Evaluations: one per window, the all-removed output, and `f(x)` twice (once for
/// [`TextAttribution::output`], once inside the shared occlusion loop).
pub fn text_occlusion<P: TokenPredictor + ?Sized>(
    predictor: &P,
    features: &TextFeatures,
    target: usize,
    config: &TextOcclusionConfig,
) -> Result<TextAttribution> {
    const OP: &str = "text_occlusion";
    let m = features.n_features();
    if config.window == 0 || config.stride == 0 {
        return Err(ExplainError::invalid(
            OP,
            "window / stride",
            "must be at least 1",
        ));
    }
    let w = config.window.min(m);
    let windows = (m - w).div_ceil(config.stride) + 1;
    let needed = windows + 3;
    config.budget.check(OP, needed)?;
    let masked = MaskedText::new(predictor, features, config.removal, &config.budget);
    let run = || -> Result<TextAttribution> {
        let (output, removed_output) = ends(OP, &masked, m, target)?;
        let occ = OcclusionConfig {
            sample_shape: vec![m],
            window: vec![w],
            strides: vec![config.stride],
            baseline: Baseline::Scalar(0.0),
            max_batch_rows: config.budget.batch_rows(),
        };
        let a = occlusion(&masked, Array2::ones((1, m)).view(), target, &occ)?;
        Ok(TextAttribution {
            scores: a.row(0).to_vec(),
            target,
            output,
            removed_output,
            evaluations: 0,
        })
    };
    let mut out = run().map_err(|e| budget_error(e, OP, needed))?;
    out.evaluations = masked.evaluations();
    Ok(out)
}

/// `f(x)[target]` and `f(all removed)[target]`, in one call, checking the target.
pub(crate) fn ends<P: TokenPredictor + ?Sized>(
    op: &'static str,
    masked: &MaskedText<'_, P>,
    m: usize,
    target: usize,
) -> Result<(f64, f64)> {
    let mut z = Array2::zeros((2, m));
    z.row_mut(0).fill(1.0);
    let y = predict_checked(op, masked, z.view(), None)?;
    check_target(op, target, y.ncols())?;
    Ok((y[[0, target]], y[[1, target]]))
}

/// Settings of [`text_kernel_shap`].
#[derive(Debug, Clone)]
pub struct TextKernelShapConfig {
    /// How absent features are rendered: a mask or baseline token (`Replace`), or deletion.
    pub removal: Removal,
    /// Coalitions; `None` uses `2·M + 2048`. When all `2^M − 2` coalitions fit, they are
    /// enumerated and the values are exact Shapley values.
    pub n_samples: Option<usize>,
    /// Seed of the coalition sampler.
    pub seed: u64,
    /// Evaluation budget and stop check.
    pub budget: TextBudget,
}

impl TextKernelShapConfig {
    /// `n_samples` coalitions with the given removal, seed 0.
    pub fn new(removal: Removal, n_samples: usize) -> Self {
        TextKernelShapConfig {
            removal,
            n_samples: Some(n_samples),
            seed: 0,
            budget: TextBudget::default(),
        }
    }
}

/// Kernel SHAP over features, with the all-removed text as the one background row: the
/// value of a coalition is the model's output on the text with only the coalition's
/// features present. The scores are efficient: they sum to `f(x) − f(all removed)`.
///
/// Runs the crate's [`KernelShap`] (Shapley kernel weights, enumeration of whole subset
/// sizes while the budget allows, paired sampling, the efficiency constraint solved
/// exactly). Evaluations: the coalitions (at most `n_samples`, at most `2^M − 2`) plus
/// `f(x)` and the background.
pub fn text_kernel_shap<P: TokenPredictor + ?Sized>(
    predictor: &P,
    features: &TextFeatures,
    target: usize,
    config: &TextKernelShapConfig,
) -> Result<TextAttribution> {
    const OP: &str = "text_kernel_shap";
    let m = features.n_features();
    let budget = config.n_samples.unwrap_or(2 * m + 2048);
    if budget == 0 {
        return Err(ExplainError::invalid(OP, "n_samples", "must be positive"));
    }
    let coalitions = if m <= 1 {
        0
    } else if m < 63 {
        budget.min((1usize << m) - 2)
    } else {
        budget
    };
    let needed = coalitions + 2;
    config.budget.check(OP, needed)?;
    let masked = MaskedText::new(predictor, features, config.removal, &config.budget);
    let run = || -> Result<TextAttribution> {
        let background = Background::new(Array2::zeros((1, m)))?;
        let shap_config = KernelShapConfig {
            n_samples: Some(budget),
            seed: config.seed,
            max_batch_rows: config.budget.batch_rows(),
        };
        let shap = KernelShap::new(&masked, background, shap_config)?;
        let k = shap.expected_value().len();
        check_target(OP, target, k)?;
        let values = shap.explain(Array2::ones((1, m)).view())?;
        let phi: Array1<f64> = values.for_output(target)?.row(0).to_owned();
        Ok(TextAttribution {
            scores: phi.to_vec(),
            target,
            output: values.outputs[[0, target]],
            removed_output: values.base_values[target],
            evaluations: 0,
        })
    };
    let mut out = run().map_err(|e| budget_error(e, OP, needed))?;
    out.evaluations = masked.evaluations();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stop::StopCheck;

    /// Output 0 = Σ weight(id) over the ids present (mask id 0 weighs 0), output 1 = its
    /// negative: an additive model over tokens.
    fn additive(weights: &[f64]) -> impl Fn(&[Vec<u32>]) -> Array2<f64> + Sync + '_ {
        move |rows: &[Vec<u32>]| {
            Array2::from_shape_fn((rows.len(), 2), |(r, c)| {
                let s: f64 = rows[r].iter().map(|&t| weights[t as usize]).sum();
                if c == 0 {
                    s
                } else {
                    -s
                }
            })
        }
    }

    fn sample() -> (Vec<f64>, TextFeatures) {
        // ids: 9 = [CLS] (weight 0.25, never removed), 1..=6 tokens, 10 = [SEP]
        let mut w = vec![0.0; 11];
        for (id, v) in [
            (1, 1.5),
            (2, -2.0),
            (3, 0.25),
            (4, 3.0),
            (5, -0.5),
            (6, 0.75),
        ] {
            w[id] = v;
        }
        w[9] = 0.25;
        let ids = vec![9, 1, 2, 3, 4, 5, 6, 10];
        let mut special = vec![false; 8];
        special[0] = true;
        special[7] = true;
        (w, TextFeatures::tokens(ids, &special).unwrap())
    }

    #[test]
    fn occlusion_is_the_brute_force_drop() {
        let (w, f) = sample();
        let model = additive(&w);
        for removal in [Removal::Replace(0), Removal::Delete] {
            let cfg = TextOcclusionConfig::new(removal);
            let a = text_occlusion(&model, &f, 0, &cfg).unwrap();
            let full = model(&[f.ids().to_vec()])[[0, 0]];
            for j in 0..f.n_features() {
                let dropped = model(&[f.render(|k| k != j, removal)])[[0, 0]];
                assert!(
                    (a.scores[j] - (full - dropped)).abs() < 1e-12,
                    "feature {j}"
                );
            }
            assert_eq!(a.evaluations, f.n_features() + 3);
            assert_eq!(a.output, full);
            assert_eq!(a.removed_output, 0.25);
        }
        // Windows of 2 with stride 1: feature j gets the mean of the windows covering it.
        let cfg = TextOcclusionConfig {
            window: 2,
            ..TextOcclusionConfig::new(Removal::Delete)
        };
        let a = text_occlusion(&model, &f, 0, &cfg).unwrap();
        let pair = |j: usize| w[j + 1] + w[j + 2]; // window starting at feature j
        assert!((a.scores[0] - pair(0)).abs() < 1e-12);
        assert!((a.scores[2] - (pair(1) + pair(2)) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn kernel_shap_recovers_additive_weights_exactly_and_is_efficient() {
        let (w, f) = sample();
        let model = additive(&w);
        // 2^6 - 2 = 62 coalitions fit in 100: enumerated; with 30 they are sampled.
        for n_samples in [100, 30] {
            for removal in [Removal::Replace(0), Removal::Delete] {
                let cfg = TextKernelShapConfig::new(removal, n_samples);
                let a = text_kernel_shap(&model, &f, 1, &cfg).unwrap();
                for j in 0..6 {
                    assert!((a.scores[j] + w[j + 1]).abs() < 1e-9, "{n_samples}: {j}");
                }
                let sum: f64 = a.scores.iter().sum();
                assert!((sum - (a.output - a.removed_output)).abs() < 1e-12);
                assert_eq!(a.evaluations, n_samples.min(62) + 2);
            }
        }
    }

    #[test]
    fn budgets_stops_and_targets_are_checked() {
        let (w, f) = sample();
        let model = additive(&w);
        let mut cfg = TextKernelShapConfig::new(Removal::Delete, 1000);
        cfg.budget.max_evaluations = 50;
        let err = text_kernel_shap(&model, &f, 0, &cfg).unwrap_err();
        assert_eq!(
            err,
            ExplainError::TooLarge {
                op: "text_kernel_shap",
                what: "model evaluations",
                value: 64,
                limit: 50
            }
        );
        let mut occ = TextOcclusionConfig::new(Removal::Delete);
        occ.budget.stop = StopCheck::new(|| true);
        let err = text_occlusion(&model, &f, 0, &occ).unwrap_err();
        assert!(matches!(err, ExplainError::Stopped { .. }), "{err}");
        let err = text_occlusion(&model, &f, 2, &TextOcclusionConfig::new(Removal::Delete));
        assert!(matches!(
            err,
            Err(ExplainError::TargetOutOfRange { target: 2, .. })
        ));
    }
}
