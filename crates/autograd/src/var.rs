//! [`Var`]: a tensor value tracked by the autograd graph.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use glassbox_tensor::Tensor;

use crate::error::{AutogradError, Result};
use crate::graph;
use crate::op::BackwardOp;

/// A tensor value that may take part in a define-by-run graph.
///
/// Cloning a `Var` is an `Arc` bump: both handles name the same value and gradient. A `Var`
/// is one of
/// - a **leaf**: a parameter or an input created with [`Var::leaf`] / [`Var::parameter`];
///   its gradient is accumulated by every [`backward`](Var::backward) until
///   [`zero_grad`](Var::zero_grad);
/// - an **intermediate** made by an op on values of which at least one requires a
///   gradient; it keeps a link to its inputs and its backward step until a backward pass
///   frees them, and it stores its own gradient only after [`retain_grad`](Var::retain_grad);
/// - a **constant**: made by [`Var::constant`], by [`detach`](Var::detach), by ops on
///   constants, or by any op inside [`no_grad`](crate::no_grad).
///
/// `Var` is `Send + Sync`: a trained model's parameters can be read from many threads at
/// once, and optimizers update them through [`set_value`](Var::set_value) /
/// [`update_value`](Var::update_value) while modules hold them behind `&self`.
#[derive(Clone)]
pub struct Var(pub(crate) Arc<Node>);

/// The recorded backward step of an intermediate value.
pub(crate) struct OpRecord {
    pub(crate) inputs: Vec<Var>,
    pub(crate) op: Box<dyn BackwardOp>,
}

/// Shared state behind a [`Var`].
pub(crate) struct Node {
    pub(crate) value: RwLock<Tensor>,
    pub(crate) grad: Mutex<Option<Tensor>>,
    pub(crate) requires_grad: AtomicBool,
    pub(crate) is_leaf: bool,
    pub(crate) retain: AtomicBool,
    pub(crate) record: Mutex<Option<OpRecord>>,
    pub(crate) op_name: &'static str,
}

/// Locks a mutex, ignoring poisoning (the protected data is always left consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Var {
    fn new_node(
        value: Tensor,
        requires_grad: bool,
        is_leaf: bool,
        record: Option<OpRecord>,
        op_name: &'static str,
    ) -> Var {
        Var(Arc::new(Node {
            value: RwLock::new(value),
            grad: Mutex::new(None),
            requires_grad: AtomicBool::new(requires_grad),
            is_leaf,
            retain: AtomicBool::new(false),
            record: Mutex::new(record),
            op_name,
        }))
    }

    /// A leaf value; with `requires_grad` its gradient is accumulated by backward passes
    /// (use this for inputs whose saliency you want).
    pub fn leaf(value: Tensor, requires_grad: bool) -> Var {
        Var::new_node(value, requires_grad, true, None, "leaf")
    }

    /// A trainable parameter: a leaf that requires a gradient.
    pub fn parameter(value: Tensor) -> Var {
        Var::leaf(value, true)
    }

    /// A constant: a leaf that never receives a gradient.
    pub fn constant(value: Tensor) -> Var {
        Var::leaf(value, false)
    }

    /// Records the result of a custom op: `value` was computed from `inputs`, and `op`
    /// knows how to send an output gradient back to them (see [`BackwardOp`]).
    ///
    /// If no input requires a gradient, or recording is off ([`no_grad`](crate::no_grad)),
    /// the result is a constant and `op` is dropped without being stored.
    pub fn from_op(value: Tensor, inputs: &[Var], op: Box<dyn BackwardOp>) -> Var {
        if crate::no_grad::is_grad_enabled() && inputs.iter().any(Var::requires_grad) {
            crate::no_grad::count_node();
            let name = op.name();
            Var::new_node(
                value,
                true,
                false,
                Some(OpRecord {
                    inputs: inputs.to_vec(),
                    op,
                }),
                name,
            )
        } else {
            Var::constant(value)
        }
    }

    /// Records a built-in op; `make` builds the backward step only when it is needed, so
    /// constant and no-grad computations clone nothing.
    #[inline]
    pub(crate) fn record<B, F>(value: Tensor, inputs: &[&Var], make: F) -> Var
    where
        B: BackwardOp + 'static,
        F: FnOnce() -> B,
    {
        if crate::no_grad::is_grad_enabled() && inputs.iter().any(|v| v.requires_grad()) {
            crate::no_grad::count_node();
            let op = make();
            let name = op.name();
            Var::new_node(
                value,
                true,
                false,
                Some(OpRecord {
                    inputs: inputs.iter().map(|v| (*v).clone()).collect(),
                    op: Box::new(op),
                }),
                name,
            )
        } else {
            Var::constant(value)
        }
    }

    /// The current value (a cheap clone sharing storage).
    pub fn value(&self) -> Tensor {
        self.0
            .value
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `f` on the current value without cloning it.
    pub fn with_value<T>(&self, f: impl FnOnce(&Tensor) -> T) -> T {
        f(&self.0.value.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Shape of the current value.
    pub fn shape(&self) -> Vec<usize> {
        self.with_value(|t| t.shape().to_vec())
    }

    /// Replaces the value (used by optimizers and when loading weights). The graph already
    /// recorded keeps the values it saved at forward time.
    pub fn set_value(&self, value: Tensor) {
        *self.0.value.write().unwrap_or_else(|e| e.into_inner()) = value;
    }

    /// Mutates the value in place, e.g. `p.update_value(|t| t.zip_mut_with(&g, ..))`.
    /// The tensor is copy-on-write, so an update allocates only if the storage is shared.
    pub fn update_value<T>(&self, f: impl FnOnce(&mut Tensor) -> T) -> T {
        f(&mut self.0.value.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// The accumulated gradient, if any backward pass reached this value (leaves, and
    /// intermediates after [`retain_grad`](Var::retain_grad)).
    pub fn grad(&self) -> Option<Tensor> {
        lock(&self.0.grad).clone()
    }

    /// Replaces the stored gradient (e.g. after clipping).
    pub fn set_grad(&self, grad: Option<Tensor>) {
        *lock(&self.0.grad) = grad;
    }

    /// Clears the accumulated gradient (PyTorch's `zero_grad(set_to_none=True)`).
    pub fn zero_grad(&self) {
        *lock(&self.0.grad) = None;
    }

    /// Asks an intermediate value to keep its gradient after backward (needed for
    /// Grad-CAM and layer attributions). Has no extra effect on leaves.
    pub fn retain_grad(&self) {
        self.0.retain.store(true, Ordering::Relaxed);
    }

    /// Whether backward passes compute a gradient for this value.
    #[inline]
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// Turns gradient tracking of a leaf on or off (freezing a parameter).
    ///
    /// Fails on an intermediate value, whose tracking is decided by its inputs.
    pub fn set_requires_grad(&self, requires_grad: bool) -> Result<()> {
        if !self.0.is_leaf {
            return Err(AutogradError::invalid(
                "set_requires_grad",
                format!(
                    "value made by op `{}` is not a leaf; detach() it first",
                    self.0.op_name
                ),
            ));
        }
        self.0.requires_grad.store(requires_grad, Ordering::Relaxed);
        Ok(())
    }

    /// Whether this is a leaf (parameter, input or constant) rather than an op result.
    pub fn is_leaf(&self) -> bool {
        self.0.is_leaf
    }

    /// Name of the op that produced this value (`"leaf"` for leaves and constants).
    pub fn op_name(&self) -> &'static str {
        self.0.op_name
    }

    /// Whether two handles name the same value.
    pub fn ptr_eq(&self, other: &Var) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A constant sharing this value's storage, cut off from the graph.
    pub fn detach(&self) -> Var {
        Var::constant(self.value())
    }

    /// Backpropagates from a value with one element (a loss), then frees the graph.
    ///
    /// Backward passes may run on any thread, and passes on different threads may share
    /// leaves (their gradients are accumulated under a lock). Two passes must not walk the
    /// same intermediate values at the same time: the second one gets
    /// [`AutogradError::GraphFreed`]. Errors found before any backward step runs (bad
    /// upstream shape, freed graph) leave gradients and graph untouched; if a backward step
    /// itself fails, the gradients accumulated before it are kept.
    pub fn backward(&self) -> Result<()> {
        graph::backward(self, None, false)
    }

    /// Backpropagates an explicit upstream gradient (same shape as this value), then frees
    /// the graph. `y.backward_with(&u)` computes the gradients of `sum(y * u)`.
    pub fn backward_with(&self, upstream: &Tensor) -> Result<()> {
        graph::backward(self, Some(upstream), false)
    }

    /// Like [`backward`](Var::backward) / [`backward_with`](Var::backward_with) (scalar when
    /// `upstream` is `None`) but keeps the graph so it can be traversed again.
    pub fn backward_retain_graph(&self, upstream: Option<&Tensor>) -> Result<()> {
        graph::backward(self, upstream, true)
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Var")
            .field("op", &self.0.op_name)
            .field("shape", &self.shape())
            .field("requires_grad", &self.requires_grad())
            .field("has_grad", &lock(&self.0.grad).is_some())
            .finish()
    }
}

impl Drop for Node {
    /// Frees a chain of records iteratively, so dropping the output of a 100,000-op chain
    /// does not overflow the stack.
    fn drop(&mut self) {
        let record = self
            .record
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(OpRecord { inputs, op }) = record else {
            return;
        };
        drop(op);
        let mut stack = inputs;
        while let Some(v) = stack.pop() {
            if let Some(mut node) = Arc::into_inner(v.0) {
                let rec = node
                    .record
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                if let Some(r) = rec {
                    stack.extend(r.inputs);
                }
                // `node` drops here with an empty record: no recursion.
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn var_is_send_sync() {
        assert_send_sync::<Var>();
    }

    #[test]
    fn leaf_flags() {
        let p = Var::parameter(Tensor::zeros(&[2]));
        assert!(p.requires_grad() && p.is_leaf());
        let c = Var::constant(Tensor::zeros(&[2]));
        assert!(!c.requires_grad());
        assert!(p.grad().is_none());
        let d = p.detach();
        assert!(!d.requires_grad());
        assert!(!d.ptr_eq(&p));
    }

    #[test]
    fn set_and_update_value() {
        let p = Var::parameter(Tensor::zeros(&[3]));
        p.set_value(Tensor::ones(&[3]));
        assert_eq!(p.value().to_vec(), vec![1.0; 3]);
        p.update_value(|t| t.map_inplace(|x| x * 2.0));
        assert_eq!(p.value().to_vec(), vec![2.0; 3]);
    }

    #[test]
    fn freezing_only_leaves() {
        let p = Var::parameter(Tensor::zeros(&[1]));
        p.set_requires_grad(false).unwrap();
        assert!(!p.requires_grad());
        p.set_requires_grad(true).unwrap();
        let y = p.exp();
        assert!(y.set_requires_grad(false).is_err());
    }
}
