//! The error type of `glassbox-explain`.

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

impl ExplainError {
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
