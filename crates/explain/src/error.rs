//! The error type of `glassbox-explain`.

use std::sync::Arc;

use thiserror::Error;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, ExplainError>;

/// Everything that can go wrong when explaining a model.
///
/// Every variant names the method (`op`) that rejected its input and the shape, row, column
/// or field at fault.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ExplainError {
    /// Two arrays that must agree in a dimension do not.
    #[error("{op}: shape mismatch for {what}: expected {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// Method that detected the mismatch.
        op: &'static str,
        /// Which argument is wrong.
        what: &'static str,
        /// Expected shape.
        expected: Vec<usize>,
        /// Shape that was given.
        found: Vec<usize>,
    },
    /// An input that must hold at least one row or column is empty.
    #[error("{op}: {what} is empty")]
    Empty {
        /// Method that detected the problem.
        op: &'static str,
        /// Which argument is empty.
        what: &'static str,
    },
    /// An output column index is out of range.
    #[error("{op}: target output {target} out of range for a predictor with {outputs} outputs")]
    TargetOutOfRange {
        /// Method that detected the problem.
        op: &'static str,
        /// Requested output column.
        target: usize,
        /// Number of output columns of the predictor.
        outputs: usize,
    },
    /// A feature index is out of range.
    #[error("{op}: feature {feature} out of range for {features} features")]
    FeatureOutOfRange {
        /// Method that detected the problem.
        op: &'static str,
        /// Requested feature.
        feature: usize,
        /// Number of features.
        features: usize,
    },
    /// A configuration field or argument has an invalid value.
    #[error("{op}: invalid {field}: {reason}")]
    InvalidArgument {
        /// Method that detected the problem.
        op: &'static str,
        /// Field or argument name.
        field: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("{op}: non-finite value in {what} at row {row}, column {column}")]
    NonFinite {
        /// Method that detected the problem.
        op: &'static str,
        /// Which array holds the value.
        what: &'static str,
        /// Row of the value.
        row: usize,
        /// Column of the value.
        column: usize,
    },
    /// The predictor returned an output of the wrong shape.
    #[error("{op}: predictor returned shape {found:?} for a batch of {rows} rows (expected {rows} rows and {outputs} columns)")]
    PredictorOutput {
        /// Method that called the predictor.
        op: &'static str,
        /// Number of rows in the batch that was passed in.
        rows: usize,
        /// Number of output columns expected (from the first call).
        outputs: usize,
        /// Shape that was returned.
        found: Vec<usize>,
    },
    /// A linear system that the method must solve is singular.
    #[error("{op}: singular linear system ({reason})")]
    Singular {
        /// Method that detected the problem.
        op: &'static str,
        /// Details.
        reason: String,
    },
    /// The method would need more work than allowed.
    #[error("{op}: {what} = {value} exceeds the limit {limit}")]
    TooLarge {
        /// Method that detected the problem.
        op: &'static str,
        /// What is too large.
        what: &'static str,
        /// Requested size.
        value: usize,
        /// Allowed maximum.
        limit: usize,
    },
    /// The predictor (the model being explained) returned an error of its own.
    #[error("{op}: the model failed: {error}")]
    Model {
        /// Method that called the predictor.
        op: &'static str,
        /// The model's error, as the predictor returned it.
        error: ModelError,
    },
    /// The caller's [`StopCheck`](crate::StopCheck) fired (a deadline passed or the work
    /// was cancelled) before the method finished; no result is returned.
    #[error("{op}: stopped before finishing (deadline passed or cancelled)")]
    Stopped {
        /// Method that was stopped.
        op: &'static str,
    },
    /// Writing a picture failed.
    #[error("{op}: could not write {path}: {reason}")]
    Io {
        /// Method that tried to write.
        op: &'static str,
        /// Target path.
        path: String,
        /// Underlying error message.
        reason: String,
    },
}

/// The error a [`Predictor`](crate::Predictor) returns: the model's own error, boxed. Any
/// `std::error::Error + Send + Sync` converts into it with `?`, and so does a `String`.
pub type PredictError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A model's error carried inside [`ExplainError::Model`]. It displays as the model's
/// message, and [`ModelError::get`] gives the original error back for `downcast_ref`.
/// Cloning shares the error; two are equal when they display the same message.
#[derive(Debug, Clone)]
pub struct ModelError(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl ModelError {
    /// The model's error, as the predictor returned it.
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl From<PredictError> for ModelError {
    fn from(e: PredictError) -> Self {
        ModelError(Arc::from(e))
    }
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for ModelError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl ExplainError {
    /// The model's own error when this is [`ExplainError::Model`] (for `downcast_ref` to
    /// the model's error type).
    pub fn model_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            ExplainError::Model { error, .. } => Some(error.get()),
            _ => None,
        }
    }

    /// An [`ExplainError::Model`] for method `op`.
    pub(crate) fn model(op: &'static str, error: PredictError) -> Self {
        if error.downcast_ref::<crate::stop::Stopped>().is_some() {
            return ExplainError::Stopped { op };
        }
        ExplainError::Model {
            op,
            error: error.into(),
        }
    }

    /// Shorthand for [`ExplainError::InvalidArgument`].
    pub(crate) fn invalid(
        op: &'static str,
        field: &'static str,
        reason: impl Into<String>,
    ) -> Self {
        ExplainError::InvalidArgument {
            op,
            field,
            reason: reason.into(),
        }
    }
}
