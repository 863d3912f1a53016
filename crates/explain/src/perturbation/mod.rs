//! Perturbation attributions: feature ablation (with feature groups) and occlusion with
//! sliding windows (Zeiler & Fergus, 2014). They only need a [`Predictor`](crate::Predictor),
//! so they work on any model, including images given as flattened rows plus a shape.

mod ablation;
mod occlusion;

pub use ablation::{feature_ablation, FeatureAblationConfig};
pub use occlusion::{occlusion, OcclusionConfig};

use ndarray::{Array1, Array2};

use crate::error::{ExplainError, Result};

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
