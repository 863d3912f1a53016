//! Reverse-mode automatic differentiation for glassbox.
//!
//! A [`Var`] wraps a [`Tensor`](glassbox_tensor::Tensor). Ops on `Var`s compute their value
//! immediately and, when any input requires a gradient, record a node of a define-by-run
//! graph. [`Var::backward`] then sends gradients back to every value that needs one:
//! parameters, inputs (for saliency maps) and intermediate values that asked to keep
//! theirs with [`Var::retain_grad`] (for Grad-CAM and layer attributions).
//!
//! ```
//! use glassbox_autograd::{no_grad, nodes_recorded, Var};
//! use glassbox_tensor::Tensor;
//!
//! // A two-layer network: y = sum(relu(x W1) W2).
//! let x = Var::leaf(Tensor::from_vec(vec![1.0, -2.0], &[1, 2]).unwrap(), true);
//! let w1 = Var::parameter(Tensor::from_vec(vec![1.0, 0.5, -1.0, 2.0], &[2, 2]).unwrap());
//! let w2 = Var::parameter(Tensor::from_vec(vec![3.0, -1.0], &[2, 1]).unwrap());
//! let h = x.matmul(&w1).unwrap().relu();
//! h.retain_grad();
//! let y = h.matmul(&w2).unwrap().sum_all();
//! y.backward().unwrap();
//!
//! // x W1 = [3, -3.5]; relu keeps the first unit only.
//! assert_eq!(y.value().to_vec(), vec![9.0]);
//! assert_eq!(h.grad().unwrap().to_vec(), vec![3.0, -1.0]);
//! assert_eq!(w2.grad().unwrap().to_vec(), vec![3.0, 0.0]);
//! assert_eq!(x.grad().unwrap().to_vec(), vec![3.0, -3.0]); // d y / d x = W1[:, 0] · 3
//!
//! // Inference builds no graph at all.
//! let before = nodes_recorded();
//! let z = no_grad(|| x.matmul(&w1).unwrap().relu());
//! assert!(!z.requires_grad());
//! assert_eq!(nodes_recorded(), before);
//! ```
//!
//! Gradients accumulate across backward passes until [`Var::zero_grad`]; a graph is freed
//! by the backward pass that walks it unless [`Var::backward_retain_graph`] is used; the
//! traversal is iterative, so very deep graphs (a 100,000-op chain) are fine. Custom ops
//! implement [`BackwardOp`] (see the [`op`] module for a worked example) and every op can be
//! checked with [`gradcheck`].
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod error;
mod gradcheck;
mod graph;
mod no_grad;
pub mod op;
pub mod ops;
mod var;

pub use error::{AutogradError, Result};
pub use gradcheck::{gradcheck, GradcheckEntry, GradcheckReport, DIRECTIONS, MAX_ELEMENTWISE};
pub use no_grad::{enable_grad, is_grad_enabled, no_grad, nodes_recorded, NoGradGuard};
pub use op::BackwardOp;
pub use var::Var;
