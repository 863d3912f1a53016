//! The [`Communicator`] abstraction (the collectives data parallelism needs) and the
//! single-process communicator.

use std::sync::Arc;

use glassbox_nn::ReplicaSum;

use crate::error::{DistributedError, Result};

/// The collective operations of a group of processes ("ranks") that glassbox's data-parallel
/// training and distributed explanations use: an MPI communicator, or [`SingleProcess`].
///
/// Every rank must call the same collectives in the same order with buffers of the same
/// length (as in MPI). Reductions are element-wise sums; every rank receives the same
/// result.
pub trait Communicator: Send + Sync {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;
    /// Number of processes.
    fn size(&self) -> usize;
    /// Waits until every rank has arrived.
    fn barrier(&self);
    /// Replaces `buf` on every rank by `root`'s `buf`.
    fn broadcast_f32(&self, root: usize, buf: &mut [f32]);
    /// Replaces `buf` on every rank by `root`'s (`buf`'s length is taken from `root`).
    fn broadcast_bytes(&self, root: usize, buf: &mut Vec<u8>);
    /// Element-wise sum of `buf` over every rank, in place.
    fn all_reduce_sum_f32(&self, buf: &mut [f32]);
    /// Element-wise sum of `buf` over every rank, in place.
    fn all_reduce_sum_f64(&self, buf: &mut [f64]);
    /// Every rank's `mine`, in rank order (lengths may differ).
    fn all_gather_bytes(&self, mine: &[u8]) -> Vec<Vec<u8>>;
    /// Ends every process of the job with exit code `code` (`MPI_Abort`).
    fn abort(&self, code: i32) -> !;
    /// Whether this is rank 0, the one that writes files and prints progress.
    fn is_root(&self) -> bool {
        self.rank() == 0
    }
}

/// A job of one process: collectives return their input. Training and explanations run
/// through it exactly as through an MPI communicator of size 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Communicator for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn barrier(&self) {}
    fn broadcast_f32(&self, _root: usize, _buf: &mut [f32]) {}
    fn broadcast_bytes(&self, _root: usize, _buf: &mut Vec<u8>) {}
    fn all_reduce_sum_f32(&self, _buf: &mut [f32]) {}
    fn all_reduce_sum_f64(&self, _buf: &mut [f64]) {}
    fn all_gather_bytes(&self, mine: &[u8]) -> Vec<Vec<u8>> {
        vec![mine.to_vec()]
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// A communicator as the [`ReplicaSum`] of synchronised batch normalisation.
#[derive(Clone)]
pub struct Replicas(pub Arc<dyn Communicator>);

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Replicas(rank {} of {})", self.0.rank(), self.0.size())
    }
}

impl ReplicaSum for Replicas {
    fn sum_f32(&self, buf: &mut [f32]) {
        self.0.all_reduce_sum_f32(buf);
    }
}

/// A 32-bit fingerprint (CRC-32) of `bytes`, for [`agree`].
pub fn fingerprint(bytes: &[u8]) -> u32 {
    glassbox_nn::io::crc32::crc32(bytes)
}

/// Checks that every rank holds the same `what` (by its `fingerprint`). Every rank receives
/// every fingerprint, so all ranks return the same error together (none is left waiting).
pub fn agree(comm: &dyn Communicator, what: &str, fingerprint: u32) -> Result<()> {
    let all = comm.all_gather_bytes(&fingerprint.to_le_bytes());
    let mut prints = Vec::with_capacity(all.len());
    for (rank, b) in all.iter().enumerate() {
        let bytes: [u8; 4] = b
            .as_slice()
            .try_into()
            .map_err(|_| DistributedError::Message {
                rank,
                what: "fingerprint",
                reason: format!("{} bytes instead of 4", b.len()),
            })?;
        prints.push(u32::from_le_bytes(bytes));
    }
    let expected = prints[0];
    let ranks: Vec<usize> = (0..prints.len())
        .filter(|&r| prints[r] != expected)
        .collect();
    if ranks.is_empty() {
        return Ok(());
    }
    let found = ranks
        .iter()
        .map(|&r| format!("{r}={:08x}", prints[r]))
        .collect::<Vec<_>>()
        .join(", ");
    Err(DistributedError::Disagreement {
        what: what.to_string(),
        expected,
        ranks,
        found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_process_collectives_are_identities() {
        let c = SingleProcess;
        let mut v = vec![1.5f32, -2.0];
        c.all_reduce_sum_f32(&mut v);
        c.broadcast_f32(0, &mut v);
        assert_eq!(v, [1.5, -2.0]);
        assert_eq!(c.all_gather_bytes(b"ab"), vec![b"ab".to_vec()]);
        assert!(agree(&c, "data", fingerprint(b"x")).is_ok());
        assert_eq!((c.rank(), c.size(), c.is_root()), (0, 1, true));
    }

    #[test]
    fn fingerprint_is_crc32() {
        // The CRC-32 check value of "123456789".
        assert_eq!(fingerprint(b"123456789"), 0xCBF4_3926);
    }
}
