//! The error type of `glassbox-metrics`.

/// Result alias used throughout `glassbox-metrics`.
pub type Result<T> = std::result::Result<T, MetricsError>;

/// Everything that can make a metric undefined or its input invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// Two inputs that must have the same length do not.
    #[error("{metric}: length mismatch: {what} has {found} entries, expected {expected}")]
    LengthMismatch {
        /// Metric name.
        metric: &'static str,
        /// Which input is wrong.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// No samples at all.
    #[error("{metric}: empty input")]
    Empty {
        /// Metric name.
        metric: &'static str,
    },
    /// The labels do not fit the metric (e.g. one class for ROC-AUC, multiclass for binary averaging).
    #[error("{metric}: {reason}")]
    Labels {
        /// Metric name.
        metric: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A score or probability that is NaN/infinite or out of range.
    #[error("{metric}: invalid value {value} at row {row}{column}: {reason}")]
    InvalidValue {
        /// Metric name.
        metric: &'static str,
        /// 1-based row.
        row: usize,
        /// `", column j"` or empty.
        column: String,
        /// The value.
        value: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// An invalid parameter (k = 0, fewer than two folds, ...).
    #[error("{metric}: invalid argument: {reason}")]
    InvalidArgument {
        /// Metric or function name.
        metric: &'static str,
        /// Why the argument is invalid.
        reason: String,
    },
    /// The estimator failed while fitting or predicting during cross-validation.
    #[error("cross-validation fold {fold}: estimator failed during {stage}: {message}")]
    Estimator {
        /// 0-based fold.
        fold: usize,
        /// `"fit"` or `"predict"`.
        stage: &'static str,
        /// The estimator's error message.
        message: String,
    },
    /// Fold generation failed.
    #[error(transparent)]
    Data(#[from] glassbox_data::DataError),
}

/// Errors unless `a` and `b` have the same length (and are not empty).
pub(crate) fn check_lengths(metric: &'static str, n_true: usize, n_pred: usize) -> Result<()> {
    if n_true != n_pred {
        return Err(MetricsError::LengthMismatch {
            metric,
            what: "y_pred",
            expected: n_true,
            found: n_pred,
        });
    }
    if n_true == 0 {
        return Err(MetricsError::Empty { metric });
    }
    Ok(())
}

/// Errors on NaN/infinite values.
pub(crate) fn check_finite(metric: &'static str, v: &[f64]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(MetricsError::InvalidValue {
            metric,
            row: i + 1,
            column: String::new(),
            value: v[i],
            reason: "values must be finite",
        }),
    }
}
