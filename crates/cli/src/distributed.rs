//! `--distributed`: the MPI communicator of `glassbox train` / `glassbox explain` when the
//! binary runs under `mpirun` / `srun` (feature `distributed`).

use std::sync::Arc;

use glassbox::distributed::{all_gather_f64, shard_range, Communicator, DistributedError};
use ndarray::Array2;

use crate::error::{failure, CliResult};

/// Initialises MPI, makes a panic on any rank abort the whole job, and returns the world
/// communicator. Errors when the binary was built without the `distributed` feature.
pub fn communicator(enabled: bool) -> CliResult<Option<Arc<dyn Communicator>>> {
    if !enabled {
        return Ok(None);
    }
    init()
}

#[cfg(feature = "distributed")]
fn init() -> CliResult<Option<Arc<dyn Communicator>>> {
    use glassbox::distributed::{install_abort_on_panic, MpiCommunicator};
    let comm = MpiCommunicator::init().map_err(|e| failure(e.to_string()))?;
    install_abort_on_panic(comm.rank());
    Ok(Some(Arc::new(comm)))
}

#[cfg(not(feature = "distributed"))]
fn init() -> CliResult<Option<Arc<dyn Communicator>>> {
    Err(crate::error::usage(
        "unexpected argument '--distributed': this glassbox was built without the `distributed` feature (cargo build --features distributed)",
    ))
}

/// Whether this process prints and writes files (rank 0, or not distributed).
pub fn is_root(comm: &Option<Arc<dyn Communicator>>) -> bool {
    comm.as_ref().is_none_or(|c| c.is_root())
}

/// `f(range)` (rows `range` of an `[n, cols]` result, row-major) computed by each rank for
/// its share of `0..n` and gathered on every rank.
pub fn rows_across(
    comm: &dyn Communicator,
    n: usize,
    cols: usize,
    f: impl FnOnce(std::ops::Range<usize>) -> CliResult<Vec<f64>>,
) -> CliResult<Array2<f64>> {
    let mine = shard_range(n, comm.rank(), comm.size());
    let part = f(mine).map_err(|e| DistributedError::RankFailed {
        rank: comm.rank(),
        message: e.to_string(),
    });
    let parts = all_gather_f64(comm, part, |r| shard_range(n, r, comm.size()).len() * cols)
        .map_err(|e| failure(e.to_string()))?;
    Array2::from_shape_vec((n, cols), parts.concat()).map_err(|e| failure(e.to_string()))
}

/// After an error was printed: ends the whole MPI job when this process is part of one, so
/// no other rank waits forever for this one.
pub fn end_job_on_error(code: i32) {
    #[cfg(feature = "distributed")]
    glassbox::distributed::abort_if_running(code);
    #[cfg(not(feature = "distributed"))]
    let _ = code;
}
