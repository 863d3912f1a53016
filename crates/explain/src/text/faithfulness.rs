//! Faithfulness of any ranking of a text's features, measured on the model: ERASER's AOPC
//! comprehensiveness and sufficiency (DeYoung et al., 2020), deletion and insertion curves
//! (the crate's [`perturbation_curves`]), and a seeded random-ranking baseline.
//!
//! All of them remove features through a [`MaskedText`], so they work for tokens or words,
//! with deletion (ERASER's choice) or a replacement token.

use ndarray::Array2;

use super::perturb::{
    budget_error, check_scores, MaskedText, Removal, TextBudget, TextFeatures, TokenPredictor,
};
use crate::checks::{perturbation_curves, Curve, CurveConfig, CurveKind};
use crate::error::{ExplainError, Result};
use crate::perturbation::Baseline;
use crate::predictor::{check_target, predict_chunked};
use crate::rng::Rng;

/// ERASER's bins: the top 1, 5, 10, 20 and 50% of the features.
pub const ERASER_BINS: [f64; 5] = [0.01, 0.05, 0.1, 0.2, 0.5];

/// Settings of [`aopc`], [`text_curves`] and [`faithfulness`].
#[derive(Debug, Clone)]
pub struct FaithfulnessConfig {
    /// Fractions of the features in the rationale (each in `(0, 1]`); the top
    /// `ceil(fraction × M)` features (at least 1) form it.
    pub bins: Vec<f64>,
    /// How removed features are rendered (ERASER deletes them).
    pub removal: Removal,
    /// Points of each deletion/insertion curve after the start (`0`: one per feature).
    pub curve_steps: usize,
    /// Evaluation budget and stop check.
    pub budget: TextBudget,
}

impl Default for FaithfulnessConfig {
    fn default() -> Self {
        FaithfulnessConfig {
            bins: ERASER_BINS.to_vec(),
            removal: Removal::Delete,
            curve_steps: 20,
            budget: TextBudget::default(),
        }
    }
}

/// AOPC comprehensiveness and sufficiency of one ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct AopcScores {
    /// Mean over bins of `f(x)[t] − f(x without the rationale)[t]`: how much the output
    /// falls when the top features are removed (higher is more faithful).
    pub comprehensiveness: f64,
    /// Mean over bins of `f(x)[t] − f(rationale only)[t]`: how much the output falls when
    /// only the top features are kept (lower is more faithful).
    pub sufficiency: f64,
    /// Rationale size (features) of each bin.
    pub k: Vec<usize>,
    /// Comprehensiveness of each bin.
    pub comprehensiveness_per_bin: Vec<f64>,
    /// Sufficiency of each bin.
    pub sufficiency_per_bin: Vec<f64>,
    /// `f(x)[t]`.
    pub output: f64,
    /// Rows given to the model.
    pub evaluations: usize,
}

/// Deletion and insertion curves of one ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct TextCurves {
    /// Output as the top features are removed (a faithful ranking gives a low area).
    pub deletion: Curve,
    /// Output as the top features are put back into the all-removed text (a faithful
    /// ranking gives a high area).
    pub insertion: Curve,
    /// Rows given to the model.
    pub evaluations: usize,
}

/// The four numbers of one ranking (or the mean over random rankings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faithfulness {
    /// AOPC comprehensiveness (higher is better).
    pub comprehensiveness: f64,
    /// AOPC sufficiency (lower is better).
    pub sufficiency: f64,
    /// Area under the deletion curve (lower is better).
    pub deletion_auc: f64,
    /// Area under the insertion curve (higher is better).
    pub insertion_auc: f64,
    /// Rows given to the model.
    pub evaluations: usize,
}

/// Features by decreasing score, ties by position (the order of the deletion curves).
fn ranking(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

/// Rationale sizes of `bins` for `m` features.
fn bin_sizes(op: &'static str, bins: &[f64], m: usize) -> Result<Vec<usize>> {
    if bins.is_empty() {
        return Err(ExplainError::Empty { op, what: "bins" });
    }
    bins.iter()
        .map(|&b| {
            if b > 0.0 && b <= 1.0 {
                Ok(((b * m as f64).ceil() as usize).clamp(1, m))
            } else {
                Err(ExplainError::invalid(
                    op,
                    "bins",
                    format!("{b} is not a fraction in (0, 1]"),
                ))
            }
        })
        .collect()
}

/// ERASER's AOPC comprehensiveness and sufficiency of the ranking given by `scores` (one
/// per feature, higher = more important) for output `target`, averaged over the bins.
/// Evaluations: `1 + 2 × bins`, in one batched call.
pub fn aopc<P: TokenPredictor + ?Sized>(
    predictor: &P,
    features: &TextFeatures,
    scores: &[f64],
    target: usize,
    config: &FaithfulnessConfig,
) -> Result<AopcScores> {
    const OP: &str = "aopc";
    check_scores(OP, features, scores)?;
    let m = features.n_features();
    let k = bin_sizes(OP, &config.bins, m)?;
    let needed = 1 + 2 * k.len();
    config.budget.check(OP, needed)?;
    let order = ranking(scores);
    let mut z = Array2::<f64>::ones((needed, m));
    for (b, &kb) in k.iter().enumerate() {
        let mut suff = z.row_mut(2 + 2 * b);
        suff.fill(0.0);
        for &j in &order[..kb] {
            suff[j] = 1.0;
        }
        let mut comp = z.row_mut(1 + 2 * b);
        for &j in &order[..kb] {
            comp[j] = 0.0;
        }
    }
    let masked = MaskedText::new(predictor, features, config.removal, &config.budget);
    let y = predict_chunked(OP, &masked, z.view(), None, config.budget.batch_rows())
        .map_err(|e| budget_error(e, OP, needed))?;
    check_target(OP, target, y.ncols())?;
    let full = y[[0, target]];
    let comp: Vec<f64> = (0..k.len())
        .map(|b| full - y[[1 + 2 * b, target]])
        .collect();
    let suff: Vec<f64> = (0..k.len())
        .map(|b| full - y[[2 + 2 * b, target]])
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Ok(AopcScores {
        comprehensiveness: mean(&comp),
        sufficiency: mean(&suff),
        k,
        comprehensiveness_per_bin: comp,
        sufficiency_per_bin: suff,
        output: full,
        evaluations: masked.evaluations(),
    })
}

/// Deletion and insertion curves of the ranking given by `scores`, through
/// [`perturbation_curves`] on the presence mask (features removed or inserted in ranking
/// order, `curve_steps` points after the start). Evaluations: `2 × (curve_steps + 2)`
/// (`curve_steps = 0` counts as `M`).
pub fn text_curves<P: TokenPredictor + ?Sized>(
    predictor: &P,
    features: &TextFeatures,
    scores: &[f64],
    target: usize,
    config: &FaithfulnessConfig,
) -> Result<TextCurves> {
    const OP: &str = "text_curves";
    check_scores(OP, features, scores)?;
    let m = features.n_features();
    let steps = if config.curve_steps == 0 {
        m
    } else {
        config.curve_steps
    };
    let needed = 2 * (steps + 2);
    config.budget.check(OP, needed)?;
    let masked = MaskedText::new(predictor, features, config.removal, &config.budget);
    let x = Array2::<f64>::ones((1, m));
    let a = Array2::from_shape_vec((1, m), scores.to_vec())
        .map_err(|e| ExplainError::invalid(OP, "scores", e.to_string()))?;
    let curve_config = CurveConfig {
        steps,
        baseline: Baseline::Scalar(0.0),
        max_batch_rows: config.budget.batch_rows(),
    };
    let curve = |kind| -> Result<Curve> {
        let mut c = perturbation_curves(kind, &masked, x.view(), a.view(), target, &curve_config)
            .map_err(|e| budget_error(e, OP, needed))?;
        Ok(c.remove(0))
    };
    let deletion = curve(CurveKind::Deletion)?;
    let insertion = curve(CurveKind::Insertion)?;
    Ok(TextCurves {
        deletion,
        insertion,
        evaluations: masked.evaluations(),
    })
}

/// [`aopc`] and [`text_curves`] of one ranking.
pub fn faithfulness<P: TokenPredictor + ?Sized>(
    predictor: &P,
    features: &TextFeatures,
    scores: &[f64],
    target: usize,
    config: &FaithfulnessConfig,
) -> Result<Faithfulness> {
    let a = aopc(predictor, features, scores, target, config)?;
    let rest = TextBudget {
        max_evaluations: config.budget.max_evaluations.saturating_sub(a.evaluations),
        ..config.budget.clone()
    };
    let c = text_curves(
        predictor,
        features,
        scores,
        target,
        &FaithfulnessConfig {
            budget: rest,
            ..config.clone()
        },
    )?;
    Ok(Faithfulness {
        comprehensiveness: a.comprehensiveness,
        sufficiency: a.sufficiency,
        deletion_auc: c.deletion.auc,
        insertion_auc: c.insertion.auc,
        evaluations: a.evaluations + c.evaluations,
    })
}

/// Draw `draw` of the seeded random rankings of `m` features: a random permutation of
/// `0..m` as scores.
pub fn random_scores(m: usize, seed: u64, draw: u64) -> Vec<f64> {
    Rng::derive(seed, draw)
        .permutation(m)
        .into_iter()
        .map(|r| r as f64)
        .collect()
}

/// The random-ranking baseline: [`faithfulness`] averaged over `draws` rankings
/// [`random_scores`]`(M, seed, 0..draws)`. The budget covers all draws.
pub fn random_faithfulness<P: TokenPredictor + ?Sized>(
    predictor: &P,
    features: &TextFeatures,
    target: usize,
    config: &FaithfulnessConfig,
    draws: usize,
    seed: u64,
) -> Result<Faithfulness> {
    if draws == 0 {
        return Err(ExplainError::invalid(
            "random_faithfulness",
            "draws",
            "must be at least 1",
        ));
    }
    let m = features.n_features();
    let mut sum = Faithfulness {
        comprehensiveness: 0.0,
        sufficiency: 0.0,
        deletion_auc: 0.0,
        insertion_auc: 0.0,
        evaluations: 0,
    };
    for d in 0..draws {
        let budget = TextBudget {
            max_evaluations: config
                .budget
                .max_evaluations
                .saturating_sub(sum.evaluations),
            ..config.budget.clone()
        };
        let f = faithfulness(
            predictor,
            features,
            &random_scores(m, seed, d as u64),
            target,
            &FaithfulnessConfig {
                budget,
                ..config.clone()
            },
        )?;
        sum.comprehensiveness += f.comprehensiveness;
        sum.sufficiency += f.sufficiency;
        sum.deletion_auc += f.deletion_auc;
        sum.insertion_auc += f.insertion_auc;
        sum.evaluations += f.evaluations;
    }
    let n = draws as f64;
    Ok(Faithfulness {
        comprehensiveness: sum.comprehensiveness / n,
        sufficiency: sum.sufficiency / n,
        deletion_auc: sum.deletion_auc / n,
        insertion_auc: sum.insertion_auc / n,
        evaluations: sum.evaluations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[CLS] a b c d [SEP]` with weights a=4, b=3, c=2, d=1 and [CLS]/[SEP]/mask 0: the
    /// output is the sum of the weights present.
    fn setup() -> (impl Fn(&[Vec<u32>]) -> Array2<f64> + Sync, TextFeatures) {
        let w = [0.0, 4.0, 3.0, 2.0, 1.0, 0.0, 0.0];
        let model = move |rows: &[Vec<u32>]| {
            Array2::from_shape_fn((rows.len(), 1), |(r, _)| {
                rows[r].iter().map(|&t| w[t as usize]).sum::<f64>()
            })
        };
        let f = TextFeatures::tokens(
            vec![5, 1, 2, 3, 4, 6],
            &[true, false, false, false, false, true],
        )
        .unwrap();
        (model, f)
    }

    #[test]
    fn aopc_by_hand() {
        let (model, f) = setup();
        let good = [0.9, 0.5, 0.2, 0.1]; // ranks a, b, c, d
                                         // ERASER bins on 4 features: k = ceil(0.04)=1, ceil(0.2)=1, ceil(0.4)=1,
                                         // ceil(0.8)=1, ceil(2)=2. f(x) = 10.
                                         // Comprehensiveness: removing {a} leaves 6 (drop 4), {a, b} leaves 3 (drop 7):
                                         // (4·4 + 7) / 5 = 4.6. Sufficiency: keeping {a} gives 4 (drop 6), {a, b} gives 7
                                         // (drop 3): (4·6 + 3) / 5 = 5.4.
        for removal in [Removal::Delete, Removal::Replace(0)] {
            let cfg = FaithfulnessConfig {
                removal,
                ..FaithfulnessConfig::default()
            };
            let s = aopc(&model, &f, &good, 0, &cfg).unwrap();
            assert_eq!(s.k, vec![1, 1, 1, 1, 2]);
            assert!((s.comprehensiveness - 4.6).abs() < 1e-12);
            assert!((s.sufficiency - 5.4).abs() < 1e-12);
            assert_eq!(s.evaluations, 11);
        }
        // The reverse ranking is worse on both.
        let bad = aopc(
            &model,
            &f,
            &[0.1, 0.2, 0.5, 0.9],
            0,
            &FaithfulnessConfig::default(),
        )
        .unwrap();
        // removing {d}: drop 1; {d, c}: drop 3 → (4 + 3)/5 = 1.4; keeping {d}: 9, {d, c}: 7
        assert!((bad.comprehensiveness - 1.4).abs() < 1e-12);
        assert!((bad.sufficiency - (4.0 * 9.0 + 7.0) / 5.0).abs() < 1e-12);
    }

    #[test]
    fn curves_by_hand() {
        let (model, f) = setup();
        let cfg = FaithfulnessConfig {
            curve_steps: 0,
            ..FaithfulnessConfig::default()
        };
        let c = text_curves(&model, &f, &[0.9, 0.5, 0.2, 0.1], 0, &cfg).unwrap();
        assert_eq!(c.deletion.scores.to_vec(), vec![10.0, 6.0, 3.0, 1.0, 0.0]);
        assert_eq!(c.insertion.scores.to_vec(), vec![0.0, 4.0, 7.0, 9.0, 10.0]);
        // trapezoids of width 1/4: (8 + 4.5 + 2 + 0.5) / 4 and (2 + 5.5 + 8 + 9.5) / 4
        assert!((c.deletion.auc - 3.75).abs() < 1e-12);
        assert!((c.insertion.auc - 6.25).abs() < 1e-12);
        assert_eq!(c.evaluations, 12);
        let all = faithfulness(&model, &f, &[0.9, 0.5, 0.2, 0.1], 0, &cfg).unwrap();
        assert_eq!(
            (all.comprehensiveness, all.deletion_auc, all.evaluations),
            (4.6, 3.75, 23)
        );
    }

    #[test]
    fn random_rankings_average_to_the_mean_weight() {
        let (model, f) = setup();
        // One bin of one feature: a random top feature drops the output by the mean
        // weight, 2.5, in expectation; keeping it leaves 10 − 2.5.
        let cfg = FaithfulnessConfig {
            bins: vec![0.25],
            curve_steps: 0,
            ..FaithfulnessConfig::default()
        };
        let r = random_faithfulness(&model, &f, 0, &cfg, 400, 7).unwrap();
        assert!((r.comprehensiveness - 2.5).abs() < 0.15, "{r:?}");
        assert!((r.sufficiency - 7.5).abs() < 0.15, "{r:?}");
        // Expected deletion curve of a random order: 10, 7.5, 5, 2.5, 0 → area 5.
        assert!((r.deletion_auc - 5.0).abs() < 0.15, "{r:?}");
        assert_eq!(r.evaluations, 400 * (3 + 12));
        let p = random_scores(6, 1, 2);
        let mut sorted = p.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(sorted, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(p, random_scores(6, 1, 2));
        assert_ne!(p, random_scores(6, 1, 3));
    }

    #[test]
    fn bad_arguments_are_errors() {
        let (model, f) = setup();
        let cfg = FaithfulnessConfig::default();
        assert!(matches!(
            aopc(&model, &f, &[1.0], 0, &cfg),
            Err(ExplainError::ShapeMismatch { .. })
        ));
        let bins = FaithfulnessConfig {
            bins: vec![0.0],
            ..FaithfulnessConfig::default()
        };
        let err = aopc(&model, &f, &[1.0; 4], 0, &bins).unwrap_err();
        assert!(err.to_string().contains("0 is not a fraction"), "{err}");
        assert!(matches!(
            aopc(&model, &f, &[f64::NAN; 4], 0, &cfg),
            Err(ExplainError::NonFinite { .. })
        ));
        assert!(matches!(
            text_curves(&model, &f, &[1.0; 4], 3, &cfg),
            Err(ExplainError::TargetOutOfRange { .. })
        ));
        let tiny = FaithfulnessConfig {
            budget: TextBudget {
                max_evaluations: 5,
                ..TextBudget::default()
            },
            ..FaithfulnessConfig::default()
        };
        assert!(matches!(
            aopc(&model, &f, &[1.0; 4], 0, &tiny),
            Err(ExplainError::TooLarge {
                value: 11,
                limit: 5,
                ..
            })
        ));
    }
}
