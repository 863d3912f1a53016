//! The error type of distributed runs.

use thiserror::Error;

/// What can go wrong when processes work together.
#[derive(Debug, Error)]
pub enum DistributedError {
    /// The processes do not hold the same thing (data, model, settings): training or
    /// explaining would silently diverge.
    #[error(
        "ranks disagree on the {what}: rank 0 has fingerprint {expected:08x}, rank(s) {ranks:?} differ ({found})"
    )]
    Disagreement {
        /// What was compared (`"training data"`, `"model structure"`, ...).
        what: String,
        /// Rank 0's fingerprint.
        expected: u32,
        /// Ranks whose fingerprint differs from rank 0's.
        ranks: Vec<usize>,
        /// Their fingerprints, `rank=fingerprint` pairs.
        found: String,
    },
    /// MPI could not be started (already initialised, or no MPI runtime).
    #[error("MPI could not be initialised: {0}")]
    Init(String),
    /// A setting does not fit the number of processes.
    #[error("invalid {field} for {processes} processes: {reason}")]
    Config {
        /// The setting at fault.
        field: &'static str,
        /// Number of processes.
        processes: usize,
        /// Why.
        reason: String,
    },
    /// A message from another rank could not be decoded.
    #[error("rank {rank} sent a malformed {what}: {reason}")]
    Message {
        /// The sender.
        rank: usize,
        /// What was being exchanged.
        what: &'static str,
        /// Why it could not be decoded.
        reason: String,
    },
    /// Another rank failed; its error message.
    #[error("rank {rank} failed: {message}")]
    RankFailed {
        /// The failing rank.
        rank: usize,
        /// Its error.
        message: String,
    },
    /// An explanation failed.
    #[error(transparent)]
    Explain(#[from] glassbox_explain::ExplainError),
    /// A gradient explanation failed.
    #[error(transparent)]
    Gradient(#[from] glassbox_explain::gradient::GradientError),
    /// A module could not be updated.
    #[error(transparent)]
    Nn(#[from] glassbox_nn::NnError),
    /// A tensor could not be built.
    #[error(transparent)]
    Tensor(#[from] glassbox_tensor::TensorError),
}

/// `Result` with [`DistributedError`].
pub type Result<T> = std::result::Result<T, DistributedError>;
