//! The error type of `glassbox-hf`.

/// Result alias used throughout `glassbox-hf`.
pub type Result<T> = std::result::Result<T, HfError>;

/// Everything that can go wrong reading a Hugging Face model directory or running one of
/// its models. Every message names the file, tensor, field, key or length at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HfError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A safetensors file's header is malformed (length field, UTF-8, JSON, data size).
    #[error("{file}: malformed safetensors header: {reason}")]
    SafetensorsHeader {
        /// The file (or buffer name).
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// One tensor's entry in a safetensors header is malformed (dtype, shape, offsets).
    #[error("{file}: tensor `{tensor}`: {reason}")]
    SafetensorsTensor {
        /// The file (or buffer name).
        file: String,
        /// The tensor.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor has a data type this crate cannot convert.
    #[error("{file}: tensor `{tensor}` has dtype {dtype}, which cannot be read as {wanted}")]
    UnsupportedDtype {
        /// The file.
        file: String,
        /// The tensor.
        tensor: String,
        /// Its dtype.
        dtype: String,
        /// What the caller asked for.
        wanted: &'static str,
    },
    /// A tensor the caller asked for is not in the file.
    #[error("{file}: no tensor named `{tensor}`")]
    TensorNotFound {
        /// The file.
        file: String,
        /// The tensor.
        tensor: String,
    },
    /// Tensors handed to the writer are inconsistent (duplicate names, wrong lengths).
    #[error("writing safetensors: tensor `{tensor}`: {reason}")]
    InvalidTensor {
        /// The tensor.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// A `config.json` (or another JSON file of the directory) is missing a field or has a
    /// bad value.
    #[error("{file}: field `{field}`: {reason}")]
    Config {
        /// The file.
        file: String,
        /// The field at fault (`<root>` when the file is not a JSON object).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// `tokenizer.json` could not be loaded, or the tokenizer failed on an input.
    #[error("{origin}: tokenizer: {reason}")]
    Tokenizer {
        /// The file or the operation.
        origin: String,
        /// The tokenizers crate's message.
        reason: String,
    },
    /// An input is longer than the model or the tokenizer allows.
    #[error("{what}: input of {length} tokens is longer than the limit of {limit} (use Truncation to cut it explicitly)")]
    InputTooLong {
        /// Which input or limit.
        what: String,
        /// Its length in tokens.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// The checkpoint and the model disagree on which weights exist.
    #[error("{file}: weights do not match {model}: missing keys [{}]; unexpected keys [{}]", missing.join(", "), unexpected.join(", "))]
    Keys {
        /// The weights file.
        file: String,
        /// The model being built.
        model: String,
        /// Keys the model needs that the file lacks.
        missing: Vec<String>,
        /// Float keys in the file the model does not use.
        unexpected: Vec<String>,
    },
    /// A weight has the wrong shape for the configuration.
    #[error("{file}: weight `{key}` has shape {found:?}, the configuration needs {expected:?}")]
    WeightShape {
        /// The weights file.
        file: String,
        /// The key.
        key: String,
        /// Shape the configuration implies.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A call received invalid input (token id out of range, empty batch, bad option).
    #[error("{what}: {reason}")]
    InvalidInput {
        /// The argument or option.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A layer of `glassbox-nn` failed.
    #[error(transparent)]
    Nn(#[from] glassbox_nn::NnError),
    /// An autograd op failed.
    #[error(transparent)]
    Autograd(#[from] glassbox_autograd::AutogradError),
    /// A tensor kernel failed.
    #[error(transparent)]
    Tensor(#[from] glassbox_tensor::TensorError),
}

impl HfError {
    /// An I/O error naming `path`.
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        HfError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
