//! The error type of `glassbox-nn`.

/// Result alias used throughout `glassbox-nn`.
pub type Result<T> = std::result::Result<T, NnError>;

/// Everything that can go wrong building, running, saving or loading a model. Each message
/// names the layer, tensor, file or field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NnError {
    /// An autograd op failed (shape mismatch, bad class index, ...).
    #[error(transparent)]
    Autograd(#[from] glassbox_autograd::AutogradError),
    /// A tensor kernel failed.
    #[error(transparent)]
    Tensor(#[from] glassbox_tensor::TensorError),
    /// A layer was configured with an invalid value.
    #[error("{layer}: invalid configuration `{field}`: {reason}")]
    InvalidConfig {
        /// Layer being built.
        layer: &'static str,
        /// Offending field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A layer received an input of the wrong shape.
    #[error("{layer}: expected input {expected}, got shape {found:?}")]
    InputShape {
        /// Layer that rejected the input.
        layer: &'static str,
        /// Description of the expected shape.
        expected: String,
        /// Shape received.
        found: Vec<usize>,
    },
    /// A target (class index, label) is out of range or has the wrong shape.
    #[error("{op}: {reason}")]
    InvalidTarget {
        /// Loss or layer that rejected the target.
        op: &'static str,
        /// What is wrong, with the index or value.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the expected magic bytes.
    #[error("{origin}: not a glassbox file: expected magic `{expected}`, found `{found}`")]
    BadMagic {
        /// File or buffer being read.
        origin: String,
        /// The magic this reader expects.
        expected: String,
        /// The bytes found.
        found: String,
    },
    /// The file was written by a newer (or invalid) format version.
    #[error("{origin}: format version {found} is not supported (this build reads versions 1 to {supported})")]
    UnsupportedVersion {
        /// File or buffer being read.
        origin: String,
        /// Version in the file.
        found: u32,
        /// Newest version this build reads.
        supported: u32,
    },
    /// The file is shorter than its header says.
    #[error("{origin}: truncated: expected {expected} bytes, found {found}")]
    Truncated {
        /// File or buffer being read.
        origin: String,
        /// Bytes the header announces.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The payload's checksum does not match the header.
    #[error("{origin}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the file is corrupted")]
    ChecksumMismatch {
        /// File or buffer being read.
        origin: String,
        /// CRC-32 stored in the header.
        stored: u32,
        /// CRC-32 of the payload read.
        computed: u32,
    },
    /// The payload could not be decoded or is inconsistent.
    #[error("{origin}: corrupt payload: {reason}")]
    Corrupt {
        /// File or buffer being read.
        origin: String,
        /// What could not be decoded.
        reason: String,
    },
    /// The model has a tensor the file lacks.
    #[error("loading state: tensor `{name}` of the model is missing from the file")]
    MissingTensor {
        /// Name of the tensor.
        name: String,
    },
    /// The file has a tensor the model lacks.
    #[error("loading state: the file has tensor `{name}`, which the model does not have")]
    UnexpectedTensor {
        /// Name of the tensor.
        name: String,
    },
    /// A tensor in the file has another shape than the model's.
    #[error("loading state: tensor `{name}` has shape {found:?} in the file but {expected:?} in the model")]
    ShapeMismatch {
        /// Name of the tensor.
        name: String,
        /// Shape in the model.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
}
