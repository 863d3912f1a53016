//! The data-parallel side of [`Trainer`](crate::Trainer): what happens differently when a
//! [`Communicator`] joins several processes (Horovod's scheme, on MPI).
//!
//! - Before training the ranks check that they hold the same settings, model structure
//!   and data (fingerprints; a mismatch is an error on every rank), then rank 0's
//!   parameters and buffers are broadcast (after a resume, the checkpoint rank 0 read).
//! - Every rank walks the same seeded global batch order and takes its contiguous shard of
//!   each batch ([`DataLoader::epoch_shard`](glassbox_data::DataLoader::epoch_shard)).
//! - After backward on the *sum* of its shard's losses, each rank all-reduces its gradient
//!   sums together with its sample count, loss sum and correct count, and divides by the
//!   global count: the step is that of the mean loss over the global batch, exact for an
//!   uneven last batch. Every rank then takes the same optimizer step.
//! - BatchNorm uses the statistics of the global batch (synchronised batch norm), so a
//!   model with BatchNorm trains as in one process too.
//! - Validation is sharded and its sums all-reduced; only rank 0 writes checkpoints. After
//!   every epoch the ranks compare fingerprints of their parameters.

use std::path::Path;

use glassbox_distributed::{
    agree, all_reduce_gradients, array_print, fingerprint, shard_range, structure_print,
    values_print, Communicator, DistributedError,
};
use glassbox_nn::Module;
use glassbox_optim::Checkpoint;

use crate::error::{Error, Result};
use crate::trainer::{evaluate_sums, TrainConfig, TrainData};

/// Checks that every rank has the same settings, model structure and data, and that every
/// rank gets at least one sample of every batch.
pub(crate) fn check_agreement(
    comm: &dyn Communicator,
    model: &dyn Module,
    cfg: &TrainConfig,
    train: &TrainData,
    val: Option<&TrainData>,
) -> Result<()> {
    let size = comm.size();
    let last = match train.len() % cfg.batch_size {
        0 => cfg.batch_size,
        r => r,
    };
    if last.min(cfg.batch_size) < size {
        return Err(DistributedError::Config {
            field: "batch size",
            processes: size,
            reason: format!(
                "every batch must give each process at least one sample, but with {} samples \
                 and batches of {} the smallest batch has {last}",
                train.len(),
                cfg.batch_size
            ),
        }
        .into());
    }
    let settings = format!(
        "{} {} {} {:?} {} {:?} {:?} {:?} {}",
        cfg.epochs,
        cfg.batch_size,
        cfg.lr,
        cfg.optimizer,
        cfg.seed,
        cfg.patience,
        cfg.schedule,
        cfg.clip_norm,
        cfg.resume
    );
    agree(comm, "training settings", fingerprint(settings.as_bytes()))?;
    agree(comm, "model structure", structure_print(model))?;
    agree(comm, "training data", data_print(train))?;
    agree(comm, "validation data", val.map_or(0, data_print))?;
    Ok(())
}

fn data_print(d: &TrainData) -> u32 {
    let (x, y) = (d.dataset.x(), d.dataset.y());
    let both = [
        array_print(x.shape(), x.iter()).to_le_bytes(),
        array_print(y.shape(), y.iter()).to_le_bytes(),
    ]
    .concat();
    fingerprint(&both)
}

/// The checkpoint at `path` as rank 0 reads it, sent to every rank (the other ranks need
/// no shared file system). `None` when rank 0 has no file there.
pub(crate) fn load_checkpoint(comm: &dyn Communicator, path: &Path) -> Result<Option<Checkpoint>> {
    let mut bytes = Vec::new();
    let mut status = vec![0u8];
    if comm.is_root() && path.exists() {
        match std::fs::read(path) {
            Ok(b) => bytes = b,
            Err(e) => {
                status = format!("\x01{}: {e}", path.display()).into_bytes();
            }
        }
    }
    comm.broadcast_bytes(0, &mut status);
    if status.first() == Some(&1) {
        return Err(DistributedError::RankFailed {
            rank: 0,
            message: String::from_utf8_lossy(&status[1..]).into_owned(),
        }
        .into());
    }
    comm.broadcast_bytes(0, &mut bytes);
    if bytes.is_empty() {
        return Ok(None);
    }
    Ok(Some(Checkpoint::from_bytes(
        &bytes,
        &path.display().to_string(),
    )?))
}

/// Global sums of one step.
pub(crate) struct StepSums {
    /// Samples in the global batch.
    pub n: usize,
    /// Sum of the per-sample losses.
    pub loss: f64,
    /// Correct predictions (classification).
    pub correct: usize,
}

/// All-reduces the gradients (of the loss sum over this rank's `n` samples) with the
/// counts and divides them by the global sample count.
pub(crate) fn reduce_step(
    comm: &dyn Communicator,
    model: &dyn Module,
    n: usize,
    loss_sum: f32,
    correct: usize,
) -> Result<StepSums> {
    let s = all_reduce_gradients(
        comm,
        &model.parameters(),
        &[n as f32, loss_sum, correct as f32],
    )?;
    Ok(StepSums {
        n: s[0] as usize,
        loss: f64::from(s[1]),
        correct: s[2] as usize,
    })
}

/// Mean loss and accuracy over `data`, each rank evaluating its shard of the rows.
pub(crate) fn evaluate(
    comm: &dyn Communicator,
    model: &dyn Module,
    data: &TrainData,
    batch_size: usize,
) -> Result<(f64, Option<f64>)> {
    let n = data.len();
    let idx: Vec<usize> = shard_range(n, comm.rank(), comm.size()).collect();
    let (total, correct) = evaluate_sums(model, data, batch_size, &idx)?;
    let mut sums = [total, correct as f64];
    comm.all_reduce_sum_f64(&mut sums);
    let nf = n as f64;
    Ok((sums[0] / nf, data.classification.then(|| sums[1] / nf)))
}

/// Errors when the ranks' parameters no longer agree bit for bit.
pub(crate) fn check_replicas(
    comm: &dyn Communicator,
    model: &dyn Module,
    epoch: usize,
) -> Result<()> {
    agree(
        comm,
        &format!("model parameters after epoch {epoch} (replicas diverged)"),
        values_print(model),
    )
    .map_err(Error::from)
}
