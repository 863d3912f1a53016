//! Integrated Gradients (Sundararajan et al., 2017), computed as few large batched
//! forward/backward passes under a row cap.

use glassbox_tensor::Tensor;
use ndarray::{Array1, ArrayD, IxDyn};

use super::approx::Approximation;
use super::core::{batch_size, expand_targets, grad_from, pick, rows, Baseline, BatchCap};
use super::error::Result;
use super::model::{GradModel, Rule};

const OP: &str = "integrated_gradients";

/// Settings of [`integrated_gradients`] (Captum's defaults: 50 Gauss–Legendre steps).
#[derive(Debug, Clone)]
pub struct IgConfig {
    /// Reference input.
    pub baseline: Baseline,
    /// Number of points on the path.
    pub steps: usize,
    /// Quadrature rule.
    pub method: Approximation,
    /// Cap on the rows of one forward/backward pass (Captum's `internal_batch_size`).
    pub cap: BatchCap,
}

impl Default for IgConfig {
    fn default() -> Self {
        IgConfig {
            baseline: Baseline::Zeros,
            steps: 50,
            method: Approximation::GaussLegendre,
            cap: BatchCap::default(),
        }
    }
}

/// Attributions with Captum's convergence delta per input:
/// `Σ attributions − (f(x)[t] − f(baseline)[t])`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionsWithDelta {
    /// Attributions, shaped like the input (or the layer output for layer methods).
    pub attributions: ArrayD<f64>,
    /// Completeness error per input row.
    pub convergence_delta: Array1<f64>,
}

/// Integrated Gradients of output `targets` (one per row or one for all) for the batch `x`
/// (`[N, …]`).
///
/// The `N × steps` interpolation points are processed input-major in chunks of at most
/// `config.cap` rows; each chunk is one forward and one backward pass, and the
/// per-point gradients are folded into an `f64` accumulator, so peak memory is set by the
/// cap, not by `N × steps`.
pub fn integrated_gradients(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    config: &IgConfig,
) -> Result<AttributionsWithDelta> {
    let targets = expand_targets(OP, x, targets)?;
    let base = config.baseline.expand(OP, x)?;
    let (alphas, weights) = config.method.alphas_and_weights(config.steps)?;
    let cap = config.cap.rows(OP, model, x)?;
    let integrated = path_integral(
        model,
        x,
        &base,
        0,
        &targets,
        &alphas,
        &weights,
        cap,
        Rule::Plain,
    )?;
    let (n, d) = (batch_size(OP, x)?, x.len() / x.shape()[0]);
    let xs = x.contiguous().to_vec();
    let bs = base.contiguous().to_vec();
    let attr: Vec<f64> = (0..n * d)
        .map(|k| integrated[k] * (xs[k] as f64 - bs[k] as f64))
        .collect();
    let attributions = ArrayD::from_shape_vec(IxDyn(x.shape()), attr).expect("shape");
    let convergence_delta = completeness_delta(model, x, &base, &targets, &attributions, cap)?;
    Ok(AttributionsWithDelta {
        attributions,
        convergence_delta,
    })
}

/// `Σ_s w_s ∂f_t/∂h (b + α_s (h − b))` for every row, where `h`/`b` are activations
/// entering layer `from` (the input when 0). Returned flat, `[N · D]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn path_integral(
    model: &GradModel,
    h: &Tensor,
    base: &Tensor,
    from: usize,
    targets: &[usize],
    alphas: &[f64],
    weights: &[f64],
    cap: usize,
    rule: Rule,
) -> Result<Vec<f64>> {
    let n = h.shape()[0];
    let d = h.len() / n;
    let steps = alphas.len();
    let hs = h.contiguous().to_vec();
    let bs = base.contiguous().to_vec();
    let mut acc = vec![0f64; n * d];
    let total = n * steps;
    let chunk = cap.min(total).max(1);
    let mut sample_shape = h.shape().to_vec();
    let mut start = 0;
    let mut buf = Vec::with_capacity(chunk * d);
    let mut tg = Vec::with_capacity(chunk);
    while start < total {
        let len = chunk.min(total - start);
        buf.clear();
        tg.clear();
        for r in start..start + len {
            let (i, s) = (r / steps, r % steps);
            let a = alphas[s] as f32;
            let (hi, bi) = (&hs[i * d..(i + 1) * d], &bs[i * d..(i + 1) * d]);
            buf.extend(hi.iter().zip(bi).map(|(&xv, &bv)| bv + a * (xv - bv)));
            tg.push(targets[i]);
        }
        sample_shape[0] = len;
        let points = Tensor::from_vec(std::mem::take(&mut buf), &sample_shape)?;
        let (g, _) = grad_from(OP, model, &points, from, &tg, rule)?;
        let gs = g.contiguous();
        let gv = gs.as_slice().expect("contiguous");
        for (k, r) in (start..start + len).enumerate() {
            let (i, s) = (r / steps, r % steps);
            let w = weights[s];
            let dst = &mut acc[i * d..(i + 1) * d];
            for (a, &gj) in dst.iter_mut().zip(&gv[k * d..(k + 1) * d]) {
                *a += w * gj as f64;
            }
        }
        buf = Vec::with_capacity(chunk * d);
        start += len;
    }
    Ok(acc)
}

/// `Σ attributions[i] − (f(x_i)[t_i] − f(b_i)[t_i])` with the forward passes chunked by
/// `cap` rows.
pub(crate) fn completeness_delta(
    model: &GradModel,
    x: &Tensor,
    base: &Tensor,
    targets: &[usize],
    attributions: &ArrayD<f64>,
    cap: usize,
) -> Result<Array1<f64>> {
    let fx = predict_targets(model, x, targets, cap)?;
    let fb = predict_targets(model, base, targets, cap)?;
    let n = targets.len();
    let per_row = attributions.len() / n;
    let flat = attributions
        .as_slice_memory_order()
        .expect("standard layout");
    Ok(Array1::from_iter((0..n).map(|i| {
        flat[i * per_row..(i + 1) * per_row].iter().sum::<f64>() - (fx[i] - fb[i])
    })))
}

/// `f(x_i)[t_i]` in chunks of `cap` rows, without recording a graph.
pub(crate) fn predict_targets(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    cap: usize,
) -> Result<Vec<f64>> {
    let n = x.shape()[0];
    let chunk = cap.min(n).max(1);
    let mut out = Vec::with_capacity(n);
    let mut s = 0;
    while s < n {
        let len = chunk.min(n - s);
        let o = model.predict(&rows(x, s, len)?)?;
        out.extend(pick(OP, &o, &targets[s..s + len])?);
        s += len;
    }
    Ok(out)
}
