//! Training checkpoints: model state, optimizer state, learning-rate schedule, epoch and
//! RNG state in one versioned, checksummed, atomically written file, so an interrupted
//! run resumes bit for bit.

use std::collections::BTreeMap;
use std::path::Path;

use glassbox_nn::io::{bincode_options, decode_payload, envelope};
use glassbox_nn::{load_state_dict, state_dict, Module, NnError, StateDict};
use glassbox_tensor::rng::Rng;
use serde::{Deserialize, Serialize};

use crate::optimizer::{Optimizer, OptimizerState};
use crate::plateau::ReduceLrOnPlateau;
use crate::schedule::LrScheduler;

/// Magic bytes of a checkpoint file.
pub const CHECKPOINT_MAGIC: &[u8; 8] = b"GBXCKPT1";
/// Current checkpoint format version.
pub const CHECKPOINT_FORMAT_VERSION: u32 = 1;

/// The learning-rate schedule stored in a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SchedulerState {
    /// No schedule.
    None,
    /// An epoch-indexed schedule.
    Epoch(LrScheduler),
    /// Reduce-on-plateau.
    Plateau(ReduceLrOnPlateau),
}

/// Everything needed to resume training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Model parameters and buffers.
    pub model: StateDict,
    /// Optimizer learning rate and per-parameter state.
    pub optimizer: OptimizerState,
    /// Learning-rate schedule state.
    pub scheduler: SchedulerState,
    /// Number of completed epochs.
    pub epoch: u64,
    /// Random generator state (shuffling, dropout), if the run uses one.
    pub rng: Option<Rng>,
    /// Free-form metadata.
    pub metadata: BTreeMap<String, String>,
}

impl Checkpoint {
    /// Captures the current state of a training run.
    pub fn capture(
        model: &dyn Module,
        optimizer: &dyn Optimizer,
        scheduler: SchedulerState,
        epoch: u64,
        rng: Option<Rng>,
    ) -> Self {
        Checkpoint {
            model: state_dict(model),
            optimizer: optimizer.state(),
            scheduler,
            epoch,
            rng,
            metadata: BTreeMap::new(),
        }
    }

    /// Restores model and optimizer state (the caller takes back the scheduler, epoch and
    /// RNG from the public fields).
    pub fn restore(&self, model: &dyn Module, optimizer: &mut dyn Optimizer) -> crate::Result<()> {
        load_state_dict(model, &self.model)?;
        optimizer.load_state(&self.optimizer)
    }

    /// Serialises to the checkpoint file bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        use bincode::Options;
        let payload = bincode_options()
            .serialize(self)
            .expect("serialising plain data cannot fail");
        envelope::encode(CHECKPOINT_MAGIC, CHECKPOINT_FORMAT_VERSION, &payload)
    }

    /// Parses checkpoint bytes; `origin` names the source in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, NnError> {
        let (_, payload) =
            envelope::decode(bytes, origin, CHECKPOINT_MAGIC, CHECKPOINT_FORMAT_VERSION)?;
        let ck: Checkpoint = decode_payload(payload, origin)?;
        for (name, t) in &ck.model.tensors {
            t.validate(name, origin)?;
        }
        Ok(ck)
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), NnError> {
        envelope::write_atomic(path.as_ref(), &self.to_bytes())
    }

    /// Reads a checkpoint file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, NnError> {
        let path = path.as_ref();
        let bytes = envelope::read_file(path)?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }
}
