//! Integrated Gradients (Sundararajan et al., 2017), computed as few large batched
//! forward/backward passes under a row cap.

use glassbox_tensor::Tensor;
use std::ops::Range;

use ndarray::{Array1, ArrayD, IxDyn};

use super::approx::Approximation;
use super::core::{batch_size, expand_targets, grad_from, pick, rows, Baseline, BatchCap};
use super::error::{GradientError, Result};
use super::model::{GradModel, Rule};
use super::path::{path_integral_chunked, Paths};

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
    let n = batch_size(OP, x)?;
    integrated_gradients_rows(model, x, targets, config, 0..n)
}

/// The rows `rows` of [`integrated_gradients`]`(model, x, targets, config)`, bit for bit:
/// the chunks of interpolation points (and of the completeness check's forward passes)
/// that hold points of these rows are formed exactly as for the whole batch, whole, so
/// every gradient comes out of the same batched pass; points of other rows in those chunks
/// are computed and discarded (at most one chunk at each end). Processes of a distributed
/// job each explain their share of the rows this way.
pub fn integrated_gradients_rows(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    config: &IgConfig,
    rows: Range<usize>,
) -> Result<AttributionsWithDelta> {
    let targets = expand_targets(OP, x, targets)?;
    let base = config.baseline.expand(OP, x)?;
    let (alphas, weights) = config.method.alphas_and_weights(config.steps)?;
    let cap = config.cap.rows(OP, model, x)?;
    let (n, d) = (batch_size(OP, x)?, x.len() / x.shape()[0]);
    if rows.start > rows.end || rows.end > n {
        return Err(GradientError::InvalidArgument {
            op: OP,
            field: "rows",
            reason: format!("{rows:?} is not a range of rows of a batch of {n}"),
        });
    }
    let integrated = path_integral_rows(
        model,
        x,
        &base,
        0,
        &targets,
        &alphas,
        &weights,
        cap,
        Rule::Plain,
        rows.clone(),
    )?;
    let xs = x.contiguous().to_vec();
    let bs = base.contiguous().to_vec();
    let off = rows.start * d;
    let attr: Vec<f64> = (0..rows.len() * d)
        .map(|k| integrated[k] * (xs[off + k] as f64 - bs[off + k] as f64))
        .collect();
    let mut shape = x.shape().to_vec();
    shape[0] = rows.len();
    let attributions = ArrayD::from_shape_vec(IxDyn(&shape), attr).expect("shape");
    let convergence_delta =
        completeness_delta_rows(model, x, &base, &targets, &attributions, cap, rows)?;
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
    path_integral_rows(
        model,
        h,
        base,
        from,
        targets,
        alphas,
        weights,
        cap,
        rule,
        0..n,
    )
}

/// [`path_integral`] for the rows `rows` only (`[rows.len() · D]`): the chunks of points are
/// those of the whole batch (see `path_integrals_chunked`), computed whole.
#[allow(clippy::too_many_arguments)]
pub(crate) fn path_integral_rows(
    model: &GradModel,
    h: &Tensor,
    base: &Tensor,
    from: usize,
    targets: &[usize],
    alphas: &[f64],
    weights: &[f64],
    cap: usize,
    rule: Rule,
    rows: Range<usize>,
) -> Result<Vec<f64>> {
    let hs = h.contiguous().to_vec();
    let bs = base.contiguous().to_vec();
    let paths = Paths {
        h: &hs,
        base: &bs,
        sample: &h.shape()[1..],
        alphas,
        weights,
        cap,
    };
    path_integral_chunked(&paths, rows, false, |points, of_row| {
        let tg: Vec<usize> = of_row.iter().map(|&i| targets[i]).collect();
        Ok(grad_from(OP, model, &points, from, &tg, rule)?.0)
    })
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
    let n = x.shape()[0];
    completeness_delta_rows(model, x, base, targets, attributions, cap, 0..n)
}

/// [`completeness_delta`] of the rows `rows` (`attributions` holds those rows only).
fn completeness_delta_rows(
    model: &GradModel,
    x: &Tensor,
    base: &Tensor,
    targets: &[usize],
    attributions: &ArrayD<f64>,
    cap: usize,
    rows: Range<usize>,
) -> Result<Array1<f64>> {
    let fx = predict_targets_rows(model, x, targets, cap, rows.clone())?;
    let fb = predict_targets_rows(model, base, targets, cap, rows.clone())?;
    let n = rows.len();
    if n == 0 {
        return Ok(Array1::zeros(0));
    }
    let per_row = attributions.len() / n;
    let flat = attributions
        .as_slice_memory_order()
        .expect("standard layout");
    Ok(Array1::from_iter((0..n).map(|i| {
        flat[i * per_row..(i + 1) * per_row].iter().sum::<f64>() - (fx[i] - fb[i])
    })))
}

/// `f(x_i)[t_i]` of the rows `rows`, without recording a graph, in the chunks of `cap` rows
/// of the whole batch.
fn predict_targets_rows(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    cap: usize,
    rows: Range<usize>,
) -> Result<Vec<f64>> {
    let n = x.shape()[0];
    let chunk = cap.min(n).max(1);
    let mut out = Vec::with_capacity(rows.len());
    let mut s = rows.start / chunk * chunk;
    while s < rows.end {
        let len = chunk.min(n - s);
        let o = model.predict(&self::rows(x, s, len)?)?;
        let picked = pick(OP, &o, &targets[s..s + len])?;
        let (lo, hi) = (rows.start.max(s), rows.end.min(s + len));
        out.extend_from_slice(&picked[lo - s..hi - s]);
        s += len;
    }
    Ok(out)
}
