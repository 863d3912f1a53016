//! Layer Integrated Gradients and Layer Conductance (Dhamdhere et al., 2018) on a named
//! layer, as Captum's `LayerIntegratedGradients` and `LayerConductance`.

use glassbox_autograd::{no_grad, Var};
use glassbox_tensor::Tensor;
use ndarray::{ArrayD, IxDyn};

use super::core::{expand_targets, grad_from, BatchCap};
use super::error::Result;
use super::integrated::{completeness_delta, path_integral, AttributionsWithDelta, IgConfig};
use super::model::{GradModel, Rule};

fn layer_output(model: &GradModel, x: &Tensor, idx: usize) -> Result<Tensor> {
    Ok(
        no_grad(|| model.forward_range(&Var::constant(x.clone()), 0, idx + 1, Rule::Plain))?
            .value(),
    )
}

/// Integrated Gradients in the output space of layer `layer`: the path runs from the
/// layer's output on the baseline to its output on `x`, and attributions (shaped like
/// the layer output) are `(A(x) − A(b)) ⊙ ∫ ∂f_t/∂A`. Delta as [`integrated_gradients`](super::integrated_gradients).
pub fn layer_integrated_gradients(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    layer: &str,
    config: &IgConfig,
) -> Result<AttributionsWithDelta> {
    const OP: &str = "layer_integrated_gradients";
    let targets = expand_targets(OP, x, targets)?;
    let idx = model.layer_index(OP, layer)?;
    let base = config.baseline.expand(OP, x)?;
    let (alphas, weights) = config.method.alphas_and_weights(config.steps)?;
    let cap = config.cap.rows(OP, model, x)?;
    let ax = layer_output(model, x, idx)?;
    let ab = layer_output(model, &base, idx)?;
    let integral = path_integral(
        model,
        &ax,
        &ab,
        idx + 1,
        &targets,
        &alphas,
        &weights,
        cap,
        Rule::Plain,
    )?;
    let (xs, bs) = (ax.contiguous().to_vec(), ab.contiguous().to_vec());
    let attr: Vec<f64> = (0..xs.len())
        .map(|k| integral[k] * (xs[k] as f64 - bs[k] as f64))
        .collect();
    let attributions = ArrayD::from_shape_vec(IxDyn(ax.shape()), attr).expect("shape");
    let convergence_delta = completeness_delta(model, x, &base, &targets, &attributions, cap)?;
    Ok(AttributionsWithDelta {
        attributions,
        convergence_delta,
    })
}

/// Layer Conductance of layer `layer`: with `steps + 1` points `x_s` of the rule
/// `config.method` on the input path,
/// `Σ_{s<steps} ∂f_t/∂A(x_s) ⊙ (A(x_{s+1}) − A(x_s))` (Captum's definition), shaped like
/// the layer output, with the convergence delta.
pub fn layer_conductance(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    layer: &str,
    config: &IgConfig,
) -> Result<AttributionsWithDelta> {
    const OP: &str = "layer_conductance";
    let targets = expand_targets(OP, x, targets)?;
    let idx = model.layer_index(OP, layer)?;
    let base = config.baseline.expand(OP, x)?;
    let (alphas, _) = config.method.alphas_and_weights(config.steps + 1)?;
    let cap = match config.cap {
        BatchCap::Unlimited => usize::MAX,
        c => c.rows(OP, model, x)?,
    };
    let n = x.shape()[0];
    let d = x.len() / n;
    let pts = alphas.len();
    let (xs, bs) = (x.contiguous().to_vec(), base.contiguous().to_vec());
    let mut acc: Vec<f64> = Vec::new();
    let mut layer_shape = Vec::new();
    let mut prev: Option<(Vec<f32>, Vec<f32>)> = None;
    let total = n * pts;
    let chunk = cap.min(total).max(1);
    let mut start = 0;
    let mut shape = x.shape().to_vec();
    while start < total {
        let len = chunk.min(total - start);
        let mut buf = Vec::with_capacity(len * d);
        let mut tg = Vec::with_capacity(len);
        for r in start..start + len {
            let (i, s) = (r / pts, r % pts);
            let a = alphas[s] as f32;
            buf.extend((0..d).map(|j| bs[i * d + j] + a * (xs[i * d + j] - bs[i * d + j])));
            tg.push(targets[i]);
        }
        shape[0] = len;
        let a = layer_output(model, &Tensor::from_vec(buf, &shape)?, idx)?;
        let (g, _) = grad_from(OP, model, &a, idx + 1, &tg, Rule::Plain)?;
        let l = a.len() / len;
        if acc.is_empty() {
            acc = vec![0.0; n * l];
            layer_shape = a.shape().to_vec();
            layer_shape[0] = n;
        }
        let (av, gv) = (a.contiguous().to_vec(), g.contiguous().to_vec());
        for (k, r) in (start..start + len).enumerate() {
            let (i, s) = (r / pts, r % pts);
            let (ev, gr) = (&av[k * l..(k + 1) * l], &gv[k * l..(k + 1) * l]);
            if s > 0 {
                let (pe, pg) = prev.as_ref().expect("previous step of the same input");
                for j in 0..l {
                    acc[i * l + j] += pg[j] as f64 * (ev[j] as f64 - pe[j] as f64);
                }
            }
            prev = Some((ev.to_vec(), gr.to_vec()));
        }
        start += len;
    }
    let attributions = ArrayD::from_shape_vec(IxDyn(&layer_shape), acc).expect("shape");
    let convergence_delta = completeness_delta(model, x, &base, &targets, &attributions, cap)?;
    Ok(AttributionsWithDelta {
        attributions,
        convergence_delta,
    })
}
