//! [`MpiCommunicator`]: the [`Communicator`] over MPI's world communicator (rsmpi).

use std::sync::Mutex;

use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, CommunicatorCollectives as _, Root as _};
use mpi::Threading;

use crate::comm::Communicator;
use crate::error::{DistributedError, Result};

/// MPI's world communicator. Create one per process with [`MpiCommunicator::init`] (which
/// calls `MPI_Init_thread`); dropping it calls `MPI_Finalize`.
///
/// Calls are serialised by a lock, so the communicator may be shared between threads
/// (MPI is initialised with `MPI_THREAD_SERIALIZED`); glassbox calls it from the training
/// or explaining thread only.
pub struct MpiCommunicator {
    state: Mutex<State>,
    rank: usize,
    size: usize,
    // Declared last: dropped (MPI_Finalize) after the communicator handle.
    _universe: Universe,
}

struct State {
    world: SimpleCommunicator,
    scratch_f32: Vec<f32>,
    scratch_f64: Vec<f64>,
}

// SAFETY: `SimpleCommunicator` is a handle to MPI_COMM_WORLD (a raw pointer in Open MPI)
// and is `!Send` only because of that pointer. MPI is initialised with
// MPI_THREAD_SERIALIZED and every use of the handle goes through `state`'s mutex, so no
// two threads ever call MPI at the same time, which is what that level requires.
unsafe impl Send for MpiCommunicator {}
// SAFETY: as above; `&MpiCommunicator` only reaches MPI through the mutex.
unsafe impl Sync for MpiCommunicator {}

impl std::fmt::Debug for MpiCommunicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MpiCommunicator(rank {} of {})", self.rank, self.size)
    }
}

impl MpiCommunicator {
    /// Initialises MPI (once per process) and returns its world communicator. Errors when
    /// MPI is already initialised or refuses to start.
    pub fn init() -> Result<MpiCommunicator> {
        let (universe, _level) =
            mpi::initialize_with_threading(Threading::Serialized).ok_or_else(|| {
                DistributedError::Init("MPI was already initialised in this process".into())
            })?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        Ok(MpiCommunicator {
            state: Mutex::new(State {
                world,
                scratch_f32: Vec::new(),
                scratch_f64: Vec::new(),
            }),
            rank,
            size,
            _universe: universe,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock aborts the job (see `install_abort_on_panic`),
        // so a poisoned lock still guards a usable handle.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Communicator for MpiCommunicator {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn barrier(&self) {
        self.state().world.barrier();
    }

    fn broadcast_f32(&self, root: usize, buf: &mut [f32]) {
        let s = self.state();
        s.world.process_at_rank(root as i32).broadcast_into(buf);
    }

    fn broadcast_bytes(&self, root: usize, buf: &mut Vec<u8>) {
        let s = self.state();
        let p = s.world.process_at_rank(root as i32);
        let mut len = buf.len() as u64;
        p.broadcast_into(&mut len);
        buf.resize(len as usize, 0);
        p.broadcast_into(&mut buf[..]);
    }

    fn all_reduce_sum_f32(&self, buf: &mut [f32]) {
        let mut guard = self.state();
        let s = &mut *guard;
        s.scratch_f32.clear();
        s.scratch_f32.extend_from_slice(buf);
        s.world
            .all_reduce_into(&s.scratch_f32[..], buf, SystemOperation::sum());
    }

    fn all_reduce_sum_f64(&self, buf: &mut [f64]) {
        let mut guard = self.state();
        let s = &mut *guard;
        s.scratch_f64.clear();
        s.scratch_f64.extend_from_slice(buf);
        s.world
            .all_reduce_into(&s.scratch_f64[..], buf, SystemOperation::sum());
    }

    fn all_gather_bytes(&self, mine: &[u8]) -> Vec<Vec<u8>> {
        let s = self.state();
        let mut counts = vec![0i32; self.size];
        s.world
            .all_gather_into(&(mine.len() as i32), &mut counts[..]);
        let displs: Vec<i32> = counts
            .iter()
            .scan(0i32, |acc, &c| {
                let d = *acc;
                *acc += c;
                Some(d)
            })
            .collect();
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let mut all = vec![0u8; total];
        {
            let mut part = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            s.world.all_gather_varcount_into(mine, &mut part);
        }
        counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| all[d as usize..(d + c) as usize].to_vec())
            .collect()
    }

    fn abort(&self, code: i32) -> ! {
        abort_world(code)
    }
}

/// Ends the whole MPI job with `code` if MPI is running in this process (initialised, not
/// finalised); returns otherwise. For error paths of programs that may run under `mpirun`:
/// a rank that stops on an error must not leave the others waiting in a collective.
pub fn abort_if_running(code: i32) {
    if mpi::environment::is_initialized() && !mpi::environment::is_finalized() {
        abort_world(code);
    }
}

/// `MPI_Abort` on the world communicator: ends every process of the job.
pub fn abort_world(code: i32) -> ! {
    // A fresh handle to MPI_COMM_WORLD: the lock may be held by the thread that failed.
    SimpleCommunicator::world().abort(code)
}

/// Makes a panic on any thread of this process end the whole job: the panic message is
/// printed with the rank and then `MPI_Abort` is called, so the other ranks do not wait
/// forever in a collective. Call it after [`MpiCommunicator::init`]; it replaces the
/// current panic hook.
pub fn install_abort_on_panic(rank: usize) {
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // One write: stderr is unbuffered, and `eprintln!` writes each piece of the format
        // separately, which mpirun's own abort message can interleave with.
        let line = format!("glassbox: rank {rank} panicked{at}: {msg}; aborting the MPI job\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
        abort_world(134);
    }));
}
