//! One-pass gradient methods: saliency, Input×Gradient, guided backprop, deconvolution.

use glassbox_tensor::Tensor;
use ndarray::ArrayD;

use super::core::{by_chunks, expand_targets, grad_from, to_array};
use super::error::Result;
use super::model::{GradModel, Rule};

/// Gradient of output `targets` (one per row or one for all) with respect to the batch
/// `x` (`[N, …]`), shaped like `x`. Rows go through the model in chunks of
/// [`GradModel::cap`] rows; the model's stop check is asked before each.
pub fn input_gradients(model: &GradModel, x: &Tensor, targets: &[usize]) -> Result<ArrayD<f64>> {
    modified(model, x, targets, Rule::Plain, "input_gradients")
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
    if !matches!(rule, Rule::Plain) {
        model.check_walkable(op, false)?;
    }
    let t = expand_targets(op, x, targets)?;
    by_chunks(op, model, x, &t, |xc, tc| {
        Ok(to_array(&grad_from(op, model, xc, 0, tc, rule)?.0))
    })
}
