//! The error type of `glassbox-optim`.

/// Result alias used throughout `glassbox-optim`.
pub type Result<T> = std::result::Result<T, OptimError>;

/// Everything that can go wrong while configuring or stepping an optimizer, a schedule or
/// a checkpoint. Every message names the optimizer, parameter or field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptimError {
    /// A model-level error (loading a checkpoint's model state).
    #[error(transparent)]
    Nn(#[from] glassbox_nn::NnError),
    /// A hyperparameter is out of its valid range (for example a negative learning rate).
    #[error("{optimizer}: invalid hyperparameter `{name}` = {value}: {reason}")]
    InvalidHyperparameter {
        /// Optimizer or schedule being configured.
        optimizer: &'static str,
        /// Name of the hyperparameter.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What the valid range is.
        reason: &'static str,
    },
    /// A gradient or state buffer does not have the parameter's number of elements.
    #[error("{optimizer}: parameter `{param}` has {expected} elements but its {what} has {found}")]
    LengthMismatch {
        /// Optimizer being stepped.
        optimizer: &'static str,
        /// Name of the parameter.
        param: String,
        /// What has the wrong length (`gradient`, `state buffer exp_avg`, ...).
        what: String,
        /// Number of elements of the parameter.
        expected: usize,
        /// Number of elements found.
        found: usize,
    },
    /// A saved optimizer state does not fit the optimizer it is loaded into.
    #[error("loading optimizer state: {reason}")]
    StateMismatch {
        /// What differs (optimizer kind, parameter names, buffer sizes).
        reason: String,
    },
}
