//! The error type of every fallible autograd operation.

use glassbox_tensor::TensorError;

/// Result alias used throughout `glassbox-autograd`.
pub type Result<T> = std::result::Result<T, AutogradError>;

/// Everything that can go wrong while recording or differentiating a graph.
///
/// Messages name the op and the shapes at fault, e.g.
/// `backward: called on a value of shape [2, 3]; a non-scalar output needs an explicit upstream gradient (use backward_with)`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AutogradError {
    /// A tensor kernel failed (shape mismatch, bad axis, ...).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// `backward()` was called on a value with more than one element.
    #[error("backward: called on a value of shape {shape:?}; a non-scalar output needs an explicit upstream gradient (use backward_with)")]
    NonScalarBackward {
        /// Shape of the value `backward()` was called on.
        shape: Vec<usize>,
    },
    /// `backward` was called on a value that does not require a gradient.
    #[error("backward: the value (shape {shape:?}) does not require a gradient: it is a constant, a detached value, or was computed under no_grad")]
    NoGradient {
        /// Shape of the value.
        shape: Vec<usize>,
    },
    /// A graph was traversed twice without `backward_retain_graph`, or is being traversed
    /// by another thread at the same time.
    #[error("backward: the graph through op `{op}` was already freed by an earlier backward (use backward_retain_graph to keep it) or is in use by another thread")]
    GraphFreed {
        /// Name of the op whose record was missing (or `"?"` if unknown).
        op: &'static str,
    },
    /// A gradient has the wrong shape (upstream gradient or a custom op's output).
    #[error(
        "{op}: gradient has shape {found:?} but the value it belongs to has shape {expected:?}"
    )]
    GradShape {
        /// The op (or `backward_with`) that produced the gradient.
        op: &'static str,
        /// Shape of the value.
        expected: Vec<usize>,
        /// Shape of the gradient.
        found: Vec<usize>,
    },
    /// A backward op returned the wrong number of gradients.
    #[error("{op}: backward returned {found} gradients for {expected} inputs")]
    GradCount {
        /// The op at fault.
        op: &'static str,
        /// Number of inputs recorded.
        expected: usize,
        /// Number of gradients returned.
        found: usize,
    },
    /// An argument is invalid (bad class index, probability out of range, ...).
    #[error("{op}: {reason}")]
    InvalidArgument {
        /// The op at fault.
        op: &'static str,
        /// What is wrong, naming the offending value, row or shape.
        reason: String,
    },
}

impl AutogradError {
    /// Shorthand for [`AutogradError::InvalidArgument`].
    pub fn invalid(op: &'static str, reason: impl Into<String>) -> Self {
        AutogradError::InvalidArgument {
            op,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_fault() {
        let e = AutogradError::NonScalarBackward { shape: vec![2, 3] };
        assert!(e.to_string().contains("[2, 3]"));
        let e = AutogradError::GradShape {
            op: "mul",
            expected: vec![4],
            found: vec![5],
        };
        assert_eq!(
            e.to_string(),
            "mul: gradient has shape [5] but the value it belongs to has shape [4]"
        );
        let e = AutogradError::invalid("cross_entropy", "row 3: class index 7 >= 4 classes");
        assert_eq!(
            e.to_string(),
            "cross_entropy: row 3: class index 7 >= 4 classes"
        );
    }
}
