//! The umbrella error type: every layer's error plus bundle and training errors.

use std::path::PathBuf;

/// Result alias of the umbrella crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Any error of glassbox. Each layer's error converts into it with `?`; the variants added
/// here name the bundle file, the architecture or the training option at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor kernel rejected its input.
    #[error(transparent)]
    Tensor(#[from] glassbox_tensor::TensorError),
    /// An autograd op failed.
    #[error(transparent)]
    Autograd(#[from] glassbox_autograd::AutogradError),
    /// A layer, loss or model file failed.
    #[error(transparent)]
    Nn(#[from] glassbox_nn::NnError),
    /// An optimizer, schedule or checkpoint failed.
    #[error(transparent)]
    Optim(#[from] glassbox_optim::OptimError),
    /// Loading or preprocessing data failed.
    #[error(transparent)]
    Data(#[from] glassbox_data::DataError),
    /// A metric rejected its input.
    #[error(transparent)]
    Metrics(#[from] glassbox_metrics::MetricsError),
    /// An explanation method failed.
    #[error(transparent)]
    Explain(#[from] glassbox_explain::ExplainError),
    /// A gradient attribution method failed.
    #[error(transparent)]
    Gradient(#[from] glassbox_explain::gradient::GradientError),
    /// Writing the HTML report failed.
    #[error(transparent)]
    Report(#[from] glassbox_report::ReportError),
    /// From the distributed (MPI) layer: ranks that disagree, a failed rank.
    #[error(transparent)]
    Distributed(#[from] glassbox_distributed::DistributedError),
    /// Reading or running a Hugging Face model directory failed (safetensors, config.json,
    /// tokenizer.json, an over-long input).
    #[error(transparent)]
    Hf(#[from] glassbox_hf::HfError),
    /// A path is neither a glassbox bundle nor a Hugging Face model directory.
    #[error("{path}: not a model: {reason}")]
    NotAModel {
        /// The file or folder.
        path: String,
        /// What is missing.
        reason: String,
    },
    /// A Hugging Face `config.json` names an architecture glassbox does not load.
    #[error("{file}: field `{field}`: {reason}")]
    UnsupportedModel {
        /// The `config.json`.
        file: String,
        /// The field that decided (`architectures`, `model_type`).
        field: &'static str,
        /// What was found and what is supported.
        reason: String,
    },
    /// A loaded model was asked for something its kind cannot do (embedding with a GPT-2,
    /// generating with a classifier, predicting a table with a text model).
    #[error("{path}: this model cannot {action} (it is a {kind})")]
    Capability {
        /// Where the model came from.
        path: String,
        /// What was asked.
        action: &'static str,
        /// What the model is.
        kind: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Writing a file failed (disk full, file too large, not a directory, ...).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A bundle file is not a valid glassbox bundle (bad magic, version, checksum, payload).
    #[error("{path}: not a valid glassbox model bundle: {reason}")]
    Bundle {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A bundle holds a different architecture than the one asked for.
    #[error("{path}: model of another architecture: expected {expected}, found {found}")]
    ArchitectureMismatch {
        /// The file.
        path: String,
        /// The architecture asked for.
        expected: String,
        /// The architecture in the file.
        found: String,
    },
    /// An architecture specification is invalid (`mlp:0`, unknown kind, ...).
    #[error("invalid architecture `{spec}`: {reason}")]
    Architecture {
        /// The specification.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// Input data does not fit the model (wrong number of features, image size, ...).
    #[error("input does not fit the model: {0}")]
    Input(String),
    /// A training option is invalid.
    #[error("invalid training option `{option}`: {reason}")]
    Config {
        /// The option.
        option: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A classification target holds one class only: there is nothing to learn.
    #[error(
        "target column '{column}' has a single class ('{class}'); a classifier needs at least two"
    )]
    SingleClass {
        /// The target column.
        column: String,
        /// The one class found.
        class: String,
    },
    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}, batch {batch}: loss is {loss}")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// The loss value.
        loss: f64,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
