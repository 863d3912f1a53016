//! Differentiable operations.
//!
//! Most ops are methods on [`Var`] named like their tensor kernels
//! (`x.matmul(&w)?`, `x.relu()`, `x.sum_axes(&[1], false)?`); ops with many parameters are
//! free functions in the submodules ([`attention`], [`conv`], [`pool`], [`loss`], [`dropout`],
//! [`embedding`]). Every backward is broadcasting-aware: a gradient flowing into an operand
//! that was broadcast is summed back to the operand's shape.

pub mod activation;
pub mod arith;
pub mod attention;
pub mod conv;
pub mod dropout;
pub mod embedding;
pub mod indexing;
pub mod loss;
pub mod matmul;
pub mod norm;
pub mod operators;
pub mod pool;
pub mod reduce;
pub mod shape;
pub mod softmax;
pub mod unary;

use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::var::Var;

/// Sums a gradient back to `shape` (the shape of an operand that was broadcast).
#[inline]
pub(crate) fn sum_to(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape() == shape {
        Ok(g.clone())
    } else {
        Ok(g.try_reduce_to_shape(shape)?)
    }
}

/// The gradient for `input`: `None` if it needs none, else `g` summed to its shape.
#[inline]
pub(crate) fn grad_for(input: &Var, g: &Tensor) -> Result<Option<Tensor>> {
    if !input.requires_grad() {
        return Ok(None);
    }
    let same = input.with_value(|t| t.shape() == g.shape());
    if same {
        Ok(Some(g.clone()))
    } else {
        let shape = input.shape();
        Ok(Some(g.try_reduce_to_shape(&shape)?))
    }
}

/// `f(x, g)` elementwise over a saved tensor and the output gradient (same shape).
#[inline]
pub(crate) fn zip_grad(
    x: &Tensor,
    g: &Tensor,
    op: &'static str,
    f: impl Fn(f32, f32) -> f32 + Sync + Send,
) -> Result<Tensor> {
    Ok(x.try_zip_with(g, op, f)?)
}
