//! The error type of every fallible tensor operation.

/// Result alias used throughout `glassbox-tensor`.
pub type Result<T> = std::result::Result<T, TensorError>;

/// Everything that can go wrong in a tensor operation.
///
/// Every variant names the operation (`op`) and the shapes involved, so a message reads like
/// `matmul: lhs [2, 3] and rhs [4, 5]: inner dimensions 3 and 4 differ`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// Two operands have incompatible shapes.
    #[error("{op}: lhs {lhs:?} and rhs {rhs:?}: {reason}")]
    ShapeMismatch {
        /// The operation that failed.
        op: &'static str,
        /// Shape of the left operand.
        lhs: Vec<usize>,
        /// Shape of the right operand.
        rhs: Vec<usize>,
        /// Why the shapes do not fit.
        reason: String,
    },
    /// An axis is out of range for the tensor's rank.
    #[error("{op}: axis {axis} is out of range for a tensor of rank {rank} (shape {shape:?})")]
    InvalidAxis {
        /// The operation that failed.
        op: &'static str,
        /// The offending axis.
        axis: usize,
        /// Rank of the tensor.
        rank: usize,
        /// Shape of the tensor.
        shape: Vec<usize>,
    },
    /// An index is out of range along an axis.
    #[error(
        "{op}: index {index} is out of range for axis {axis} of size {size} (shape {shape:?})"
    )]
    IndexOutOfRange {
        /// The operation that failed.
        op: &'static str,
        /// The offending index.
        index: usize,
        /// The axis indexed.
        axis: usize,
        /// Size of that axis.
        size: usize,
        /// Shape of the tensor.
        shape: Vec<usize>,
    },
    /// The number of data elements does not match the requested shape.
    #[error("{op}: {len} data elements do not fill shape {shape:?}, which needs {expected}")]
    DataLength {
        /// The operation that failed.
        op: &'static str,
        /// Number of elements supplied.
        len: usize,
        /// Requested shape.
        shape: Vec<usize>,
        /// Number of elements the shape needs.
        expected: usize,
    },
    /// A parameter is invalid for the given tensor (bad kernel size, empty input, ...).
    #[error("{op}: {reason} (shape {shape:?})")]
    InvalidArgument {
        /// The operation that failed.
        op: &'static str,
        /// Shape of the tensor the argument applies to.
        shape: Vec<usize>,
        /// What is wrong.
        reason: String,
    },
}

impl TensorError {
    pub(crate) fn mismatch(
        op: &'static str,
        lhs: &[usize],
        rhs: &[usize],
        reason: impl Into<String>,
    ) -> Self {
        TensorError::ShapeMismatch {
            op,
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
            reason: reason.into(),
        }
    }

    pub(crate) fn axis(op: &'static str, axis: usize, shape: &[usize]) -> Self {
        TensorError::InvalidAxis {
            op,
            axis,
            rank: shape.len(),
            shape: shape.to_vec(),
        }
    }

    pub(crate) fn arg(op: &'static str, shape: &[usize], reason: impl Into<String>) -> Self {
        TensorError::InvalidArgument {
            op,
            shape: shape.to_vec(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_op_and_shapes() {
        let e = TensorError::mismatch(
            "matmul",
            &[2, 3],
            &[4, 5],
            "inner dimensions 3 and 4 differ",
        );
        assert_eq!(
            e.to_string(),
            "matmul: lhs [2, 3] and rhs [4, 5]: inner dimensions 3 and 4 differ"
        );
        let e = TensorError::axis("sum_axes", 3, &[2, 2]);
        assert_eq!(
            e.to_string(),
            "sum_axes: axis 3 is out of range for a tensor of rank 2 (shape [2, 2])"
        );
    }
}
