//! Data-parallel training and distributed explanations for glassbox, on MPI.
//!
//! glassbox does not invent a cluster protocol: processes are started and connected by MPI
//! (`mpirun`, Slurm's `srun`, Kubeflow's MPIJob), as in Horovod. This crate holds
//!
//! - [`Communicator`]: the collectives glassbox needs (broadcast, all-reduce sum,
//!   all-gather, barrier, abort), implemented by [`SingleProcess`] and, with the `mpi`
//!   feature, by `MpiCommunicator` over rsmpi;
//! - the data-parallel building blocks ([`broadcast_module`], [`all_reduce_gradients`],
//!   fingerprints checked with [`agree`]) that `glassbox::Trainer` uses;
//! - explanations split across ranks with results identical, bit for bit, to one process:
//!   [`kernel_shap`], [`permutation_importance`], [`integrated_gradients`].
//!
//! ```
//! use glassbox_distributed::{agree, fingerprint, shard_range, Communicator, SingleProcess};
//!
//! let comm = SingleProcess;
//! // Every rank explains its contiguous share of the rows...
//! assert_eq!(shard_range(10, comm.rank(), comm.size()), 0..10);
//! // ...after checking that all ranks hold the same input.
//! agree(&comm, "input rows", fingerprint(b"the rows"))?;
//! let mut grads = vec![0.5f32, 2.0];
//! comm.all_reduce_sum_f32(&mut grads);
//! assert_eq!(grads, [0.5, 2.0]);
//! # Ok::<(), glassbox_distributed::DistributedError>(())
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod comm;
mod error;
pub mod explain;
#[cfg(feature = "mpi")]
mod mpi_comm;
mod replicate;

pub use comm::{agree, fingerprint, Communicator, Replicas, SingleProcess};
pub use error::{DistributedError, Result};
pub use explain::{all_gather_f64, integrated_gradients, kernel_shap, permutation_importance};
pub use glassbox_data::shard_range;
#[cfg(feature = "mpi")]
pub use mpi_comm::{abort_if_running, abort_world, install_abort_on_panic, MpiCommunicator};
pub use replicate::{
    all_reduce_gradients, array_print, broadcast_module, structure_print, values_print,
};
