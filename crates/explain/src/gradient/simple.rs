//! One-pass gradient methods: saliency, Input×Gradient, guided backprop, deconvolution.

use glassbox_tensor::Tensor;
use ndarray::ArrayD;

use super::core::{expand_targets, grad_from, to_array};
use super::error::Result;
use super::model::{GradModel, Rule};

/// Gradient of output `targets` (one per row or one for all) with respect to the batch
/// `x` (`[N, …]`), shaped like `x`.
pub fn input_gradients(model: &GradModel, x: &Tensor, targets: &[usize]) -> Result<ArrayD<f64>> {
    let t = expand_targets("input_gradients", x, targets)?;
    Ok(to_array(
        &grad_from("input_gradients", model, x, 0, &t, Rule::Plain)?.0,
    ))
}

/// Saliency (Simonyan et al., 2014): `|∂f_t/∂x|` when `abs` (Captum's default), else the
/// signed gradient.
pub fn saliency(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    abs: bool,
) -> Result<ArrayD<f64>> {
    let g = input_gradients(model, x, targets)?;
    Ok(if abs { g.mapv(f64::abs) } else { g })
}

/// Input × Gradient (Shrikumar et al., 2016): `x ⊙ ∂f_t/∂x`.
pub fn input_x_gradient(model: &GradModel, x: &Tensor, targets: &[usize]) -> Result<ArrayD<f64>> {
    Ok(input_gradients(model, x, targets)? * to_array(x))
}

/// Guided backprop (Springenberg et al., 2015): the input gradient when every ReLU layer
/// passes back only positive gradients of positive inputs. Needs a walkable model (see
/// [`GradModel`]).
pub fn guided_backprop(model: &GradModel, x: &Tensor, targets: &[usize]) -> Result<ArrayD<f64>> {
    modified(model, x, targets, Rule::Guided, "guided_backprop")
}

/// Deconvolution (Zeiler & Fergus, 2014): every ReLU layer passes back `max(grad, 0)`
/// whatever its input.
pub fn deconvolution(model: &GradModel, x: &Tensor, targets: &[usize]) -> Result<ArrayD<f64>> {
    modified(model, x, targets, Rule::Deconv, "deconvolution")
}

fn modified(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    rule: Rule,
    op: &'static str,
) -> Result<ArrayD<f64>> {
    model.check_walkable(op, false)?;
    let t = expand_targets(op, x, targets)?;
    Ok(to_array(&grad_from(op, model, x, 0, &t, rule)?.0))
}
