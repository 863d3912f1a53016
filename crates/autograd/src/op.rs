//! The [`BackwardOp`] trait: how every op, built-in or custom, sends gradients back.
//!
//! # Writing a custom op
//!
//! Compute the forward value with tensor kernels, save whatever the backward step needs in
//! a struct, and record the result with [`Var::from_op`]. The backward step receives the
//! gradient of the loss with respect to the op's output and returns one optional gradient
//! per input, each with that input's shape (return `None` for inputs that are constants or
//! not differentiable; check [`Var::requires_grad`] to skip expensive work).
//!
//! ```
//! use glassbox_autograd::{gradcheck, BackwardOp, Result, Var};
//! use glassbox_tensor::Tensor;
//!
//! /// y = x³, dy/dx = 3x².
//! struct Cube {
//!     x: Tensor,
//! }
//!
//! impl BackwardOp for Cube {
//!     fn backward(&self, grad_out: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
//!         let dx = self.x.mul(&self.x).mul_scalar(3.0);
//!         Ok(vec![Some(grad_out.try_mul(&dx)?)])
//!     }
//!     fn name(&self) -> &'static str {
//!         "cube"
//!     }
//! }
//!
//! fn cube(x: &Var) -> Var {
//!     let xv = x.value();
//!     let y = xv.mul(&xv).mul(&xv);
//!     Var::from_op(y, &[x.clone()], Box::new(Cube { x: xv }))
//! }
//!
//! let x = Var::parameter(Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap());
//! cube(&x).sum_all().backward().unwrap();
//! assert_eq!(x.grad().unwrap().to_vec(), vec![3.0, 12.0]);
//!
//! // Central finite differences agree with the hand-written backward.
//! let report = gradcheck(
//!     |v: &[Var]| Ok(cube(&v[0])),
//!     &[Tensor::from_vec(vec![0.5, -1.5, 2.0], &[3]).unwrap()],
//!     1e-3,
//!     1e-2,
//! )
//! .unwrap();
//! assert!(report.passed(), "{report}");
//! ```

use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::var::Var;

/// The backward step of a recorded op.
///
/// Implementors must be `Send + Sync` (graphs may be built on one thread and differentiated
/// on another). Save tensors, not `Var`s, in the struct: the inputs are passed to
/// [`backward`](BackwardOp::backward) anyway, and holding `Var`s would keep graphs alive.
pub trait BackwardOp: Send + Sync {
    /// Given `grad_out` (d loss / d output, shaped like the output) and the op's recorded
    /// inputs, returns d loss / d input for each input, in order, each shaped like its input
    /// (`None` = no gradient flows to that input).
    fn backward(&self, grad_out: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>>;

    /// Short name used in error messages and `Debug` output (e.g. `"conv2d"`).
    fn name(&self) -> &'static str;
}
