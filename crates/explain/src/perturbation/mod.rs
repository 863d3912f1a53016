//! Perturbation attributions: feature ablation (with feature groups) and occlusion with
//! sliding windows (Zeiler & Fergus, 2014). They only need a [`Predictor`](crate::Predictor),
//! so they work on any model, including images given as flattened rows plus a shape.

mod ablation;
mod occlusion;

pub use ablation::{feature_ablation, FeatureAblationConfig};
pub use occlusion::{occlusion, OcclusionConfig};

use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

use crate::error::{ExplainError, Result};
use crate::predictor::{
    check_target, predict_checked, predict_chunked, Predictor, DEFAULT_MAX_BATCH_ROWS,
};

/// The value a removed feature takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// The same value for every feature and input (Captum's scalar baseline).
    Scalar(f64),
    /// One value per feature, shared by all inputs.
    PerFeature(Array1<f64>),
    /// One row per input `[inputs, features]`.
    PerInput(Array2<f64>),
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline::Scalar(0.0)
    }
}

impl Baseline {
    /// Baseline value of feature `j` for input `i` (after [`Baseline::check`]).
    pub(crate) fn value(&self, i: usize, j: usize) -> f64 {
        match self {
            Baseline::Scalar(v) => *v,
            Baseline::PerFeature(b) => b[j],
            Baseline::PerInput(b) => b[[i, j]],
        }
    }

    /// Checks the baseline fits inputs of shape `[inputs, features]`.
    pub fn check(&self, op: &'static str, inputs: usize, features: usize) -> Result<()> {
        let (ok, found) = match self {
            Baseline::Scalar(v) => (v.is_finite(), vec![]),
            Baseline::PerFeature(b) => (
                b.len() == features && b.iter().all(|v| v.is_finite()),
                vec![b.len()],
            ),
            Baseline::PerInput(b) => (
                b.dim() == (inputs, features) && b.iter().all(|v| v.is_finite()),
                b.shape().to_vec(),
            ),
        };
        if ok {
            Ok(())
        } else {
            Err(ExplainError::ShapeMismatch {
                op,
                what: "baseline (shape must match the inputs and values be finite)",
                expected: vec![inputs, features],
                found,
            })
        }
    }
}

/// The loop ablation and occlusion share. For every input `i` (in parallel) and every
/// feature set `s` of `sets`, the drop `d_s = f(x_i)[target] − f(x_i with the features of
/// `s` at the baseline)[target]`; `spread(drops, row)` turns the drops of one input into its
/// attribution row (`row` has one zero per feature). All copies of an input are evaluated in
/// one batched predictor call, chunked by `max_batch_rows` (`0` means
/// [`DEFAULT_MAX_BATCH_ROWS`]). The caller has checked `x` and the baseline.
#[allow(clippy::too_many_arguments)]
pub(crate) fn removal_attributions<P, F>(
    op: &'static str,
    predictor: &P,
    x: ArrayView2<f64>,
    target: usize,
    baseline: &Baseline,
    sets: &[Vec<usize>],
    max_batch_rows: usize,
    spread: F,
) -> Result<Array2<f64>>
where
    P: Predictor + ?Sized,
    F: Fn(&[f64], &mut [f64]) + Sync,
{
    let (n, m) = x.dim();
    let fx = predict_checked(op, predictor, x, None)?;
    let k = fx.ncols();
    check_target(op, target, k)?;
    let max_rows = if max_batch_rows == 0 {
        DEFAULT_MAX_BATCH_ROWS
    } else {
        max_batch_rows
    };
    let rows: Vec<Result<Vec<f64>>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut batch = Array2::zeros((sets.len(), m));
            for (s, members) in sets.iter().enumerate() {
                let mut row = batch.row_mut(s);
                row.assign(&x.row(i));
                for &j in members {
                    row[j] = baseline.value(i, j);
                }
            }
            let y = predict_chunked(op, predictor, batch.view(), Some(k), max_rows)?;
            let drops: Vec<f64> = (0..sets.len())
                .map(|s| fx[[i, target]] - y[[s, target]])
                .collect();
            let mut attr = vec![0.0; m];
            spread(&drops, &mut attr);
            Ok(attr)
        })
        .collect();
    let mut out = Array2::zeros((n, m));
    for (i, r) in rows.into_iter().enumerate() {
        for (j, v) in r?.into_iter().enumerate() {
            out[[i, j]] = v;
        }
    }
    Ok(out)
}
