//! K-fold cross-validation of any estimator that can fit and predict.

use crate::error::{MetricsError, Result};
use glassbox_data::split::{Fold, KFold, StratifiedKFold};
use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Boxed error returned by estimators.
pub type EstimatorError = Box<dyn std::error::Error + Send + Sync>;

/// Anything that learns from rows of `x` with targets `y` and predicts for new rows.
///
/// Cross-validation builds a fresh estimator per fold (from a factory closure), so `fit`
/// may assume an untrained estimator.
pub trait Estimator {
    /// Element type of the feature matrix (e.g. `f64` for tabular data, `f32` for nn models).
    type Elem: Clone + Send + Sync;
    /// Target type (class label or regression value).
    type Target: Clone + Send + Sync;
    /// What `predict` returns (labels, probabilities, ...): the scorer consumes it.
    type Prediction: Send;
    /// Learns from `x` (`n × features`) and `y` (`n` targets).
    fn fit(
        &mut self,
        x: ArrayView2<'_, Self::Elem>,
        y: &[Self::Target],
    ) -> std::result::Result<(), EstimatorError>;
    /// Predicts for the rows of `x`.
    fn predict(
        &self,
        x: ArrayView2<'_, Self::Elem>,
    ) -> std::result::Result<Self::Prediction, EstimatorError>;
}

/// How folds are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CvSplit {
    /// Plain K-fold.
    KFold(KFold),
    /// Stratified by the class of each target (classification).
    Stratified(StratifiedKFold),
}

/// Per-fold scores with their mean and (population) standard deviation, the way
/// `cross_val_score(...).mean()` / `.std()` report them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvScores {
    /// Score of each fold, in fold order.
    pub scores: Vec<f64>,
    /// Mean of the scores.
    pub mean: f64,
    /// Standard deviation of the scores (`ddof = 0`, as NumPy's `std`).
    pub std: f64,
}

impl CvScores {
    /// Summary statistics of `scores`.
    pub fn from_scores(scores: Vec<f64>) -> Self {
        let n = scores.len().max(1) as f64;
        let mean = scores.iter().sum::<f64>() / n;
        let std = (scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n).sqrt();
        CvScores { scores, mean, std }
    }
}

impl std::fmt::Display for CvScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.4} ± {:.4} over {} folds",
            self.mean,
            self.std,
            self.scores.len()
        )
    }
}

/// The folds for `split` over targets `y`.
pub fn make_folds<T: Ord>(split: &CvSplit, y: &[T]) -> Result<Vec<Fold>> {
    Ok(match split {
        CvSplit::KFold(k) => k.split(y.len())?,
        CvSplit::Stratified(s) => s.split(y)?,
    })
}

/// Fits a fresh estimator from `make` on each fold's training rows, predicts its test rows
/// and scores them with `score(y_test, &prediction)`. With `parallel`, folds run on the
/// rayon pool; scores come back in fold order either way.
pub fn cross_validate<E, M, S>(
    make: M,
    x: ArrayView2<'_, E::Elem>,
    y: &[E::Target],
    folds: &[Fold],
    score: S,
    parallel: bool,
) -> Result<CvScores>
where
    E: Estimator,
    M: Fn() -> E + Sync,
    S: Fn(&[E::Target], &E::Prediction) -> Result<f64> + Sync,
{
    if x.nrows() != y.len() {
        return Err(MetricsError::LengthMismatch {
            metric: "cross_validate",
            what: "y",
            expected: x.nrows(),
            found: y.len(),
        });
    }
    if folds.is_empty() {
        return Err(MetricsError::InvalidArgument {
            metric: "cross_validate",
            reason: "no folds".into(),
        });
    }
    if let Some(bad) = folds
        .iter()
        .flat_map(|f| f.train.iter().chain(&f.test))
        .find(|&&i| i >= y.len())
    {
        return Err(MetricsError::InvalidArgument {
            metric: "cross_validate",
            reason: format!("fold index {bad} out of range for {} samples", y.len()),
        });
    }
    let run = |(k, fold): (usize, &Fold)| -> Result<f64> {
        let pick = |idx: &[usize]| idx.iter().map(|&i| y[i].clone()).collect::<Vec<_>>();
        let mut est = make();
        est.fit(x.select(Axis(0), &fold.train).view(), &pick(&fold.train))
            .map_err(|e| MetricsError::Estimator {
                fold: k,
                stage: "fit",
                message: e.to_string(),
            })?;
        let pred = est
            .predict(x.select(Axis(0), &fold.test).view())
            .map_err(|e| MetricsError::Estimator {
                fold: k,
                stage: "predict",
                message: e.to_string(),
            })?;
        score(&pick(&fold.test), &pred)
    };
    let scores: Result<Vec<f64>> = if parallel {
        folds.par_iter().enumerate().map(run).collect()
    } else {
        folds.iter().enumerate().map(run).collect()
    };
    Ok(CvScores::from_scores(scores?))
}
