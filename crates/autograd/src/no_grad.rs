//! The no-grad (inference) scope and per-thread graph statistics.
//!
//! Recording is switched per thread: inside [`no_grad`] (or while a [`NoGradGuard`] lives)
//! every op computes its value and returns a constant [`Var`](crate::Var) without allocating
//! a graph node, a backward closure or an input list. Other threads are unaffected, so a
//! server can run inference on some threads while training continues on another.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    static NODES_RECORDED: Cell<u64> = const { Cell::new(0) };
}

/// Whether ops on the current thread record a graph (true unless inside [`no_grad`]).
#[inline]
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Runs `f` with graph recording switched off on this thread, restoring the previous state
/// afterwards (also on panic).
///
/// ```
/// use glassbox_autograd::{no_grad, Var};
/// use glassbox_tensor::Tensor;
/// let w = Var::parameter(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
/// let y = no_grad(|| w.mul_scalar(3.0));
/// assert!(!y.requires_grad());
/// assert_eq!(y.value().to_vec(), vec![3.0, 6.0]);
/// ```
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    let _guard = NoGradGuard::new();
    f()
}

/// RAII guard that disables graph recording on this thread until it is dropped.
///
/// Guards nest: dropping one restores whatever state was in force when it was created.
#[derive(Debug)]
pub struct NoGradGuard {
    previous: bool,
    // A guard must be dropped on the thread that created it.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl NoGradGuard {
    /// Disables recording on this thread until the guard is dropped.
    pub fn new() -> Self {
        let previous = GRAD_ENABLED.with(|g| g.replace(false));
        NoGradGuard {
            previous,
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Runs `f` with graph recording switched **on** on this thread, whatever the enclosing
/// scope, restoring the previous state afterwards (also on panic): PyTorch's
/// `torch.enable_grad`.
///
/// Code that needs a graph and may run as a rayon job uses it: a pool thread that waits
/// inside another job's [`no_grad`] (a batched inference that itself calls into rayon)
/// steals and runs queued jobs with that job's thread-local state, so a gradient job
/// stolen there would otherwise record nothing.
///
/// ```
/// use glassbox_autograd::{enable_grad, no_grad, Var};
/// use glassbox_tensor::Tensor;
/// let w = Var::parameter(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
/// let y = no_grad(|| enable_grad(|| w.mul_scalar(3.0)));
/// assert!(y.requires_grad());
/// ```
pub fn enable_grad<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|g| g.replace(true)));
    f()
}

/// Number of graph nodes (op records) created on this thread since it started.
///
/// Only ops that record a backward step count; constants, leaves and values computed under
/// [`no_grad`] do not. Useful to assert that an inference path builds no graph.
pub fn nodes_recorded() -> u64 {
    NODES_RECORDED.with(|n| n.get())
}

#[inline]
pub(crate) fn count_node() {
    NODES_RECORDED.with(|n| n.set(n.get() + 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enable_grad_nests_inside_no_grad_and_restores() {
        assert!(is_grad_enabled());
        no_grad(|| {
            assert!(!is_grad_enabled());
            enable_grad(|| {
                assert!(is_grad_enabled());
                no_grad(|| assert!(!is_grad_enabled()));
                assert!(is_grad_enabled());
            });
            assert!(!is_grad_enabled());
        });
        assert!(is_grad_enabled());
    }

    #[test]
    fn guards_nest_and_restore() {
        assert!(is_grad_enabled());
        {
            let _a = NoGradGuard::new();
            assert!(!is_grad_enabled());
            {
                let _b = NoGradGuard::new();
                assert!(!is_grad_enabled());
            }
            assert!(!is_grad_enabled());
        }
        assert!(is_grad_enabled());
        let inside = no_grad(is_grad_enabled);
        assert!(!inside);
        assert!(is_grad_enabled());
    }

    #[test]
    fn restored_after_panic() {
        let r = std::panic::catch_unwind(|| no_grad(|| panic!("boom")));
        assert!(r.is_err());
        assert!(is_grad_enabled());
    }

    #[test]
    fn other_threads_unaffected() {
        let _g = NoGradGuard::new();
        let other = std::thread::spawn(is_grad_enabled).join().unwrap();
        assert!(other);
    }
}
