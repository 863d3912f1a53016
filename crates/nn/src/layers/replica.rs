//! Batch statistics shared across the replicas of a data-parallel job (synchronised batch
//! normalisation, as PyTorch's `SyncBatchNorm`).
//!
//! A data-parallel trainer installs a [`ReplicaSum`] for the duration of training with
//! [`sync_batch_statistics`]. While it is installed on a thread, every [`BatchNorm`] in
//! training mode run on that thread normalises with the mean and variance of the *global*
//! batch (the union of every replica's shard): the per-channel sums are all-reduced in the
//! forward pass and, through the [`all_reduce_sum`] op, the matching gradient sums in the
//! backward pass. The result equals batch normalisation of the whole batch in one process,
//! up to the rounding of the sums.
//!
//! [`BatchNorm`]: crate::BatchNorm

use std::cell::RefCell;
use std::sync::Arc;

use glassbox_autograd::{BackwardOp, Var};
use glassbox_tensor::Tensor;

use crate::error::Result;

/// Element-wise sum of a buffer over every replica, the result written back on each (an
/// MPI all-reduce). Every replica must call it the same number of times, in the same order,
/// with buffers of the same length.
pub trait ReplicaSum: Send + Sync {
    /// Replaces `buf` by the sum of every replica's `buf`.
    fn sum_f32(&self, buf: &mut [f32]);
}

thread_local! {
    static REPLICAS: RefCell<Option<Arc<dyn ReplicaSum>>> = const { RefCell::new(None) };
}

/// Keeps [`sync_batch_statistics`] in force on this thread until dropped (the previous
/// setting is restored then).
#[must_use = "batch statistics are synchronised only while the guard lives"]
pub struct SyncBatchStatistics {
    previous: Option<Arc<dyn ReplicaSum>>,
}

impl std::fmt::Debug for SyncBatchStatistics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncBatchStatistics")
            .finish_non_exhaustive()
    }
}

impl Drop for SyncBatchStatistics {
    fn drop(&mut self) {
        let previous = self.previous.take();
        REPLICAS.with(|r| *r.borrow_mut() = previous);
    }
}

/// Makes every `BatchNorm` in training mode on this thread use global-batch statistics
/// summed over the replicas by `replicas`, until the returned guard is dropped.
pub fn sync_batch_statistics(replicas: Arc<dyn ReplicaSum>) -> SyncBatchStatistics {
    let previous = REPLICAS.with(|r| r.borrow_mut().replace(replicas));
    SyncBatchStatistics { previous }
}

/// The replica sum installed on this thread, if any.
pub fn current_replicas() -> Option<Arc<dyn ReplicaSum>> {
    REPLICAS.with(|r| r.borrow().clone())
}

/// `x` summed over every replica. The gradient of a replica's input is the sum over the
/// replicas of the gradients arriving at their outputs (each replica's loss depends on the
/// shared sum), so the backward pass is an all-reduce too.
pub fn all_reduce_sum(x: &Var, replicas: &Arc<dyn ReplicaSum>) -> Result<Var> {
    let value = reduce_tensor(&x.value(), replicas.as_ref())?;
    Ok(Var::from_op(
        value,
        std::slice::from_ref(x),
        Box::new(AllReduceBackward {
            replicas: Arc::clone(replicas),
        }),
    ))
}

fn reduce_tensor(t: &Tensor, replicas: &dyn ReplicaSum) -> Result<Tensor> {
    let mut buf = t.to_vec();
    replicas.sum_f32(&mut buf);
    Ok(Tensor::from_vec(buf, t.shape())?)
}

struct AllReduceBackward {
    replicas: Arc<dyn ReplicaSum>,
}

impl BackwardOp for AllReduceBackward {
    fn backward(
        &self,
        grad_out: &Tensor,
        _inputs: &[Var],
    ) -> glassbox_autograd::Result<Vec<Option<Tensor>>> {
        let mut buf = grad_out.to_vec();
        self.replicas.sum_f32(&mut buf);
        Ok(vec![Some(Tensor::from_vec(buf, grad_out.shape())?)])
    }

    fn name(&self) -> &'static str {
        "all_reduce_sum"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Two replicas simulated in one process: the "other" replica's contributions are
    /// queued in advance and added to ours.
    struct Scripted {
        others: Mutex<Vec<Vec<f32>>>,
    }

    impl ReplicaSum for Scripted {
        fn sum_f32(&self, buf: &mut [f32]) {
            let other = self.others.lock().unwrap().remove(0);
            assert_eq!(other.len(), buf.len());
            for (b, o) in buf.iter_mut().zip(other) {
                *b += o;
            }
        }
    }

    #[test]
    fn forward_and_backward_sum_over_replicas() {
        let r: Arc<dyn ReplicaSum> = Arc::new(Scripted {
            others: Mutex::new(vec![vec![10.0, 20.0], vec![0.5, 0.25]]),
        });
        let x = Var::parameter(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
        let y = all_reduce_sum(&x, &r).unwrap();
        assert_eq!(y.value().to_vec(), vec![11.0, 22.0]);
        y.backward_with(&Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap())
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![1.5, 1.25]);
    }

    #[test]
    fn guard_restores_the_previous_setting() {
        assert!(current_replicas().is_none());
        let r: Arc<dyn ReplicaSum> = Arc::new(Scripted {
            others: Mutex::new(vec![]),
        });
        {
            let _g = sync_batch_statistics(r);
            assert!(current_replicas().is_some());
        }
        assert!(current_replicas().is_none());
    }
}
