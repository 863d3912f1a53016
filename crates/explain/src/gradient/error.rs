//! [`GradientError`]: what can go wrong in a gradient attribution.

use glassbox_autograd::AutogradError;
use glassbox_nn::NnError;
use glassbox_tensor::TensorError;

use crate::error::ExplainError;

/// Result alias of the gradient methods.
pub type Result<T> = std::result::Result<T, GradientError>;

/// Errors of the gradient attribution methods; each message names the method and the
/// shape, row, layer or field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GradientError {
    /// An input, baseline or layer output has the wrong shape.
    #[error("{op}: {what} has shape {found:?}, expected {expected}")]
    Shape {
        /// Method that detected the problem.
        op: &'static str,
        /// What has the wrong shape.
        what: &'static str,
        /// The shape that is accepted.
        expected: String,
        /// The shape given.
        found: Vec<usize>,
    },
    /// A target output index is not below the model's number of outputs.
    #[error(
        "{op}: target {target} of row {row} is out of range for a model with {outputs} outputs"
    )]
    Target {
        /// Method that detected the problem.
        op: &'static str,
        /// Row of the input batch.
        row: usize,
        /// Requested output.
        target: usize,
        /// Number of outputs of the model.
        outputs: usize,
    },
    /// A configuration field has an invalid value.
    #[error("{op}: invalid {field}: {reason}")]
    InvalidArgument {
        /// Method that detected the problem.
        op: &'static str,
        /// Field or argument name.
        field: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// No layer has the requested dotted path.
    #[error("{op}: no layer named `{layer}` (layers reachable through Sequential containers: {available})")]
    UnknownLayer {
        /// Method that detected the problem.
        op: &'static str,
        /// The requested path.
        layer: String,
        /// Comma-separated paths that can be used.
        available: String,
    },
    /// The model contains a layer the method cannot handle.
    #[error("{op}: layer `{layer}` ({type_name}) is not supported: {reason}")]
    UnsupportedLayer {
        /// Method that detected the problem.
        op: &'static str,
        /// Dotted path of the layer (`""` for the root).
        layer: String,
        /// The layer's [`Module::type_name`](glassbox_nn::Module::type_name).
        type_name: &'static str,
        /// Why it is not supported.
        reason: String,
    },
    /// The model's output does not depend on the input (no gradient reached it).
    #[error("{op}: no gradient reached {what}")]
    NoGradient {
        /// Method that detected the problem.
        op: &'static str,
        /// The variable without a gradient.
        what: &'static str,
    },
    /// The model being explained returned an error of its own (a model behind a trait
    /// such as [`EmbeddingModel`](crate::text::EmbeddingModel)).
    #[error("{op}: the model failed: {error}")]
    Model {
        /// Method that called the model.
        op: &'static str,
        /// The model's error.
        error: crate::error::ModelError,
    },
    /// The model's [`StopCheck`](crate::StopCheck) fired before the method finished
    /// (see [`GradModel::with_stop`](super::GradModel::with_stop)).
    #[error("stopped before finishing (deadline passed or cancelled)")]
    Stopped,
    /// An error of the autodiff engine.
    #[error(transparent)]
    Autograd(#[from] AutogradError),
    /// An error raised by a layer of the model.
    #[error(transparent)]
    Nn(#[from] NnError),
    /// An error of a tensor kernel.
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

impl From<GradientError> for ExplainError {
    fn from(e: GradientError) -> Self {
        match e {
            GradientError::Stopped => {
                return ExplainError::Stopped {
                    op: "gradient attribution",
                }
            }
            GradientError::Model { op, error } => return ExplainError::Model { op, error },
            _ => {}
        }
        ExplainError::InvalidArgument {
            op: "gradient attribution",
            field: "model or input",
            reason: e.to_string(),
        }
    }
}
