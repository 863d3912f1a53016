//! Permutation feature importance (Breiman, 2001; Fisher et al., 2019).

use std::ops::Range;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;

use crate::error::{ExplainError, Result};
use crate::predictor::{
    check_matrix, predict_checked, predict_chunked, Predictor, DEFAULT_MAX_BATCH_ROWS,
};
use crate::rng::Rng;

const OP: &str = "permutation_importance";

/// Settings of [`permutation_importance`].
#[derive(Debug, Clone, PartialEq)]
pub struct PermutationImportanceConfig {
    /// Shuffles per feature.
    pub n_repeats: usize,
    /// Seed (each feature gets its own derived stream, so results do not depend on threads).
    pub seed: u64,
    /// Cap on rows per predictor call.
    pub max_batch_rows: usize,
}

impl Default for PermutationImportanceConfig {
    fn default() -> Self {
        PermutationImportanceConfig {
            n_repeats: 5,
            seed: 0,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
        }
    }
}

/// Result of [`permutation_importance`].
#[derive(Debug, Clone, PartialEq)]
pub struct PermutationImportance {
    /// Score of the model on the unshuffled data.
    pub baseline_score: f64,
    /// `baseline_score − score with the feature shuffled`, `[features, repeats]`.
    pub importances: Array2<f64>,
    /// Mean over repeats.
    pub mean: Array1<f64>,
    /// Standard deviation over repeats (ddof = 0, as scikit-learn).
    pub std: Array1<f64>,
}

impl PermutationImportance {
    /// The result for `importances` `[features, repeats]` (at least one repeat): their mean
    /// and standard deviation over repeats.
    pub fn from_importances(baseline_score: f64, importances: Array2<f64>) -> Self {
        let mean = importances
            .mean_axis(Axis(1))
            .unwrap_or_else(|| Array1::zeros(importances.nrows()));
        let std = importances.std_axis(Axis(1), 0.0);
        PermutationImportance {
            baseline_score,
            importances,
            mean,
            std,
        }
    }

    /// Feature indices from most to least important (by mean).
    pub fn ranking(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.mean.len()).collect();
        idx.sort_by(|&a, &b| self.mean[b].total_cmp(&self.mean[a]));
        idx
    }
}

/// Permutation importance as scikit-learn's `permutation_importance`: each feature's
/// column is shuffled `n_repeats` times and the drop of `score` recorded.
///
/// `score` maps the model's predictions `[rows, outputs]` on (shuffled) `x` to a number
/// where larger is better; rows keep their order, so the closure can hold the targets (see
/// [`accuracy_scorer`]). The repeats of one feature go to the model in one batched call;
/// features run in parallel.
pub fn permutation_importance<P, S>(
    predictor: &P,
    x: ArrayView2<f64>,
    score: S,
    config: &PermutationImportanceConfig,
) -> Result<PermutationImportance>
where
    P: Predictor + ?Sized,
    S: Fn(ArrayView2<f64>) -> f64 + Sync,
{
    let m = x.ncols();
    let (baseline_score, importances) =
        permutation_importance_features(predictor, x, score, config, 0..m)?;
    Ok(PermutationImportance::from_importances(
        baseline_score,
        importances,
    ))
}

/// The part of [`permutation_importance`] for the features `features` only: the baseline
/// score and the importances `[features.len(), n_repeats]`, bit for bit the rows
/// `features` of the full result (each feature's shuffles come from the stream derived from
/// the seed and the feature's index). Processes of a distributed job each compute their
/// share of the features this way.
pub fn permutation_importance_features<P, S>(
    predictor: &P,
    x: ArrayView2<f64>,
    score: S,
    config: &PermutationImportanceConfig,
    features: Range<usize>,
) -> Result<(f64, Array2<f64>)>
where
    P: Predictor + ?Sized,
    S: Fn(ArrayView2<f64>) -> f64 + Sync,
{
    check_matrix(OP, "x", x)?;
    if features.start > features.end || features.end > x.ncols() {
        return Err(ExplainError::invalid(
            OP,
            "features",
            format!("{features:?} is not a range of the {} features", x.ncols()),
        ));
    }
    if config.n_repeats == 0 {
        return Err(ExplainError::invalid(OP, "n_repeats", "must be positive"));
    }
    let (n, m) = x.dim();
    let base_pred = predict_checked(OP, predictor, x, None)?;
    let k = base_pred.ncols();
    let baseline_score = score(base_pred.view());
    if !baseline_score.is_finite() {
        return Err(ExplainError::invalid(
            OP,
            "score",
            format!("baseline score is {baseline_score}"),
        ));
    }
    let reps = config.n_repeats;
    let per_feature: Vec<Result<Vec<f64>>> = features
        .clone()
        .into_par_iter()
        .map(|j| {
            let mut rng = Rng::derive(config.seed, j as u64);
            let mut batch = Array2::zeros((reps * n, m));
            for r in 0..reps {
                let perm = rng.permutation(n);
                for i in 0..n {
                    let mut row = batch.row_mut(r * n + i);
                    row.assign(&x.row(i));
                    row[j] = x[[perm[i], j]];
                }
            }
            let y = predict_chunked(OP, predictor, batch.view(), Some(k), config.max_batch_rows)?;
            Ok((0..reps)
                .map(|r| baseline_score - score(y.slice(ndarray::s![r * n..(r + 1) * n, ..])))
                .collect())
        })
        .collect();
    let mut importances = Array2::zeros((features.len(), reps));
    for (j, r) in per_feature.into_iter().enumerate() {
        for (t, v) in r?.into_iter().enumerate() {
            importances[[j, t]] = v;
        }
    }
    Ok((baseline_score, importances))
}

/// Accuracy of the argmax (or, for one output, `output > 0.5`) against `labels`.
pub fn accuracy_scorer(labels: Vec<usize>) -> impl Fn(ArrayView2<f64>) -> f64 + Sync {
    move |pred: ArrayView2<f64>| {
        let hits = pred
            .outer_iter()
            .zip(&labels)
            .filter(|(row, &l)| {
                let c = if row.len() == 1 {
                    usize::from(row[0] > 0.5)
                } else {
                    glassbox_tensor::ops::reduce::argmax(row.iter())
                };
                c == l
            })
            .count();
        hits as f64 / labels.len().max(1) as f64
    }
}

/// Negative mean squared error of the first output against `targets`.
pub fn neg_mean_squared_error_scorer(targets: Vec<f64>) -> impl Fn(ArrayView2<f64>) -> f64 + Sync {
    move |pred: ArrayView2<f64>| {
        let se: f64 = pred
            .column(0)
            .iter()
            .zip(&targets)
            .map(|(p, t)| (p - t) * (p - t))
            .sum();
        -se / targets.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn ignored_feature_scores_zero_and_used_feature_matches_expectation() {
        // f = x0 (feature 1 ignored); score = -MSE against f(x): baseline 0.
        let f = |x: ArrayView2<f64>| x.column(0).to_owned().insert_axis(Axis(1));
        let x = Array2::from_shape_fn((50, 2), |(i, j)| {
            if j == 0 {
                i as f64
            } else {
                (i * 7 % 11) as f64
            }
        });
        let targets: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let pi = permutation_importance(
            &f,
            x.view(),
            neg_mean_squared_error_scorer(targets),
            &PermutationImportanceConfig::default(),
        )
        .unwrap();
        assert_eq!(pi.baseline_score, 0.0);
        assert!(pi.importances.row(1).iter().all(|&v| v == 0.0));
        // E[(x_i − x_π(i))²] over a random permutation = 2·Var(x) = 2·(50²−1)/12 = 416.5
        assert!((pi.mean[0] - 416.5).abs() < 120.0, "{}", pi.mean[0]);
        assert_eq!(pi.ranking(), vec![0, 1]);
    }
}
