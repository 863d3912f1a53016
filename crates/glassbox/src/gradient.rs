//! Gradient attributions of a [`Network`] on feature rows: saliency, Integrated Gradients
//! and Grad-CAM, computed by `glassbox-explain`'s implementations.
//!
//! This module only adapts shapes: rows `[N, n_inputs]` (what the explainers and the
//! command line work with) go in, `[N, n_inputs]` attributions come out. The algorithms
//! are [`glassbox_explain::gradient`]'s: Integrated Gradients is its adaptive rule
//! ([`integrated_gradients_adaptive`]), refined until the attributions of every row add
//! up to `f(x) − f(baseline)` within [`IG_RELATIVE_TOLERANCE`] of that difference.

use glassbox_autograd::{no_grad, Var};
use glassbox_explain::gradient::{
    self as eg, integrated_gradients_adaptive, AdaptiveIgConfig, GradModel, Interpolation,
};
use glassbox_explain::StopCheck;
use glassbox_nn::Module;
use glassbox_tensor::Tensor;
use ndarray::{Array2, ArrayD, ArrayView2};

use crate::arch::Network;
use crate::error::{Error, Result};

/// Completeness asked of [`integrated_gradients`], relative to `|f(x) − f(baseline)|` of
/// the row with the smallest such difference.
pub const IG_RELATIVE_TOLERANCE: f64 = 1e-4;
/// Floor of the absolute completeness tolerance: target outputs are `f32`, whose
/// differences are not known much better than this.
const IG_TOLERANCE_FLOOR: f64 = 1e-6;

/// Rows `x` as the `[N, n_inputs]` f32 tensor a [`Network`] takes, after checking the
/// width and that there is one target per row.
fn rows_tensor(net: &Network, x: ArrayView2<f64>, targets: &[usize]) -> Result<Tensor> {
    if x.nrows() != targets.len() {
        return Err(Error::Input(format!(
            "{} rows but {} targets",
            x.nrows(),
            targets.len()
        )));
    }
    let n_in = net.architecture().n_inputs();
    if x.ncols() != n_in {
        return Err(Error::Input(format!(
            "rows have {} features, the network takes {n_in}",
            x.ncols()
        )));
    }
    Ok(Tensor::from_vec(
        x.iter().map(|&v| v as f32).collect(),
        &[x.nrows(), n_in],
    )?)
}

/// An attribution array of any shape `[N, …]` as `[N, features]` rows.
fn as_rows(a: ArrayD<f64>, n: usize) -> Array2<f64> {
    let m = a.len().checked_div(n).unwrap_or(0);
    let flat = if a.is_standard_layout() {
        a.into_raw_vec_and_offset().0
    } else {
        a.iter().copied().collect()
    };
    Array2::from_shape_vec((n, m), flat).expect("n * m values")
}

/// d output[target] / d input for each row (`[rows, features]`).
pub fn input_gradients(
    net: &Network,
    x: ArrayView2<f64>,
    targets: &[usize],
) -> Result<Array2<f64>> {
    let t = rows_tensor(net, x, targets)?;
    let g = eg::input_gradients(&GradModel::new(net), &t, targets)?;
    Ok(as_rows(g, x.nrows()))
}

/// Rows per forward pass of [`saliency_with_stop`] and [`grad_cam_with_stop`]: their stop
/// check is asked before each such chunk.
pub const STOPPABLE_CHUNK_ROWS: usize = 64;

/// Saliency (Simonyan et al., 2014): |∂ output[target] / ∂ input|.
pub fn saliency(net: &Network, x: ArrayView2<f64>, targets: &[usize]) -> Result<Array2<f64>> {
    let t = rows_tensor(net, x, targets)?;
    let s = eg::saliency(&GradModel::new(net), &t, targets, true)?;
    Ok(as_rows(s, x.nrows()))
}

/// [`saliency`] in chunks of [`STOPPABLE_CHUNK_ROWS`] rows, asking `stop` before each:
/// once it fires, the work ends with a "stopped" error instead of running the other
/// chunks (a server's deadline).
pub fn saliency_with_stop(
    net: &Network,
    x: ArrayView2<f64>,
    targets: &[usize],
    stop: &StopCheck,
) -> Result<Array2<f64>> {
    let t = rows_tensor(net, x, targets)?;
    let model = GradModel::new(net)
        .with_stop(stop.clone())
        .with_cap(eg::BatchCap::Rows(STOPPABLE_CHUNK_ROWS));
    let s = eg::saliency(&model, &t, targets, true)?;
    Ok(as_rows(s, x.nrows()))
}

/// SmoothGrad (Smilkov et al., 2017): d output[target] / d input averaged over `samples`
/// copies of each row with Gaussian noise of standard deviation `stdev` added, by
/// `glassbox-explain`'s noise tunnel ([`eg::noise_tunnel`], noise seeded by `seed`).
pub fn smoothgrad(
    net: &Network,
    x: ArrayView2<f64>,
    targets: &[usize],
    samples: usize,
    stdev: f64,
    seed: u64,
) -> Result<Array2<f64>> {
    let t = rows_tensor(net, x, targets)?;
    let model = GradModel::new(net);
    let config = eg::NoiseTunnelConfig {
        samples,
        stdev,
        seed,
        ..eg::NoiseTunnelConfig::default()
    };
    let a = eg::noise_tunnel(&t, targets, &config, |noisy, tg| {
        eg::input_gradients(&model, noisy, tg)
    })?;
    Ok(as_rows(a, x.nrows()))
}

/// Integrated Gradients attributions of rows and, per row, the convergence delta
/// `Σ attributions − (f(x) − f(baseline))`.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegratedGradients {
    /// Attributions `[rows, features]`.
    pub attributions: Array2<f64>,
    /// Completeness error per row.
    pub convergence_delta: Vec<f64>,
    /// `f(x)[target] − f(baseline)[target]` per row (what the attributions add up to).
    pub output_difference: Vec<f64>,
    /// Gradient evaluations spent per row.
    pub evaluations: Vec<usize>,
    /// Per row, whether the tolerance was met within the evaluation budget.
    pub converged: Vec<bool>,
}

/// Integrated Gradients (Sundararajan et al., 2017) of output `targets[i]` for row `i` of
/// `x`, from `baseline` (one row per input row, or a single shared row), with
/// `glassbox-explain`'s adaptive rule ([`integrated_gradients_adaptive`], default
/// settings). The completeness tolerance is [`IG_RELATIVE_TOLERANCE`] times the smallest
/// `|f(x) − f(baseline)|` of the batch (at least `1e-6`), so every row's
/// `|convergence_delta|` stays below `1e-4` of what its attributions explain unless the
/// evaluation budget runs out (then `converged` says so).
pub fn integrated_gradients(
    net: &Network,
    x: ArrayView2<f64>,
    baseline: ArrayView2<f64>,
    targets: &[usize],
) -> Result<IntegratedGradients> {
    integrated_gradients_with(net, x, baseline, targets, None, &IgLimits::default())
}

/// Bounds on one [`integrated_gradients_limited`] run (used by the server).
#[derive(Debug, Clone)]
pub struct IgLimits {
    /// Asked before every forward pass; once it fires the run ends with
    /// [`ExplainError::Stopped`](glassbox_explain::ExplainError::Stopped) (as
    /// [`Error::Explain`] or [`Error::Gradient`]).
    pub stop: StopCheck,
    /// Most gradient evaluations per row, the 64-node start rule and both ends included
    /// (so at least 66); rows still incomplete then have `converged == false`.
    pub max_evaluations: usize,
}

impl Default for IgLimits {
    fn default() -> Self {
        IgLimits {
            stop: StopCheck::never(),
            max_evaluations: AdaptiveIgConfig::default().budget,
        }
    }
}

/// Smallest [`IgLimits::max_evaluations`]: the adaptive rule's start nodes plus both ends.
pub const IG_MIN_EVALUATIONS: usize = 66;

/// [`integrated_gradients`] under [`IgLimits`]: a stop check (deadline, cancellation)
/// and an evaluation budget per row.
pub fn integrated_gradients_limited(
    net: &Network,
    x: ArrayView2<f64>,
    baseline: ArrayView2<f64>,
    targets: &[usize],
    limits: &IgLimits,
) -> Result<IntegratedGradients> {
    if limits.max_evaluations < IG_MIN_EVALUATIONS {
        return Err(Error::Input(format!(
            "IG needs at least {IG_MIN_EVALUATIONS} gradient evaluations per row (64 start \
             nodes and both ends), got a budget of {}",
            limits.max_evaluations
        )));
    }
    integrated_gradients_with(net, x, baseline, targets, None, limits)
}

/// [`integrated_gradients`] with the absolute completeness tolerance given rather than
/// derived from this batch. A row's result then depends on that row alone, so rows split
/// across processes (`glassbox explain --distributed`) equal the single-process result bit
/// for bit when every share gets the tolerance of the whole batch
/// ([`ig_batch_tolerance`]).
pub fn integrated_gradients_with_tolerance(
    net: &Network,
    x: ArrayView2<f64>,
    baseline: ArrayView2<f64>,
    targets: &[usize],
    tolerance: f64,
) -> Result<IntegratedGradients> {
    if !(tolerance.is_finite() && tolerance > 0.0) {
        return Err(Error::Input(format!(
            "IG tolerance must be positive and finite, got {tolerance}"
        )));
    }
    integrated_gradients_with(
        net,
        x,
        baseline,
        targets,
        Some(tolerance),
        &IgLimits::default(),
    )
}

/// The tolerance [`integrated_gradients`] uses for this batch: [`IG_RELATIVE_TOLERANCE`]
/// times its smallest `|f(x) − f(baseline)|`, at least `1e-6` (two forward passes).
pub fn ig_batch_tolerance(
    net: &Network,
    x: ArrayView2<f64>,
    baseline: ArrayView2<f64>,
    targets: &[usize],
) -> Result<f64> {
    let (t, b) = ig_inputs(net, x, baseline, targets)?;
    let fx = target_outputs(net, &t, targets)?;
    let fb = target_outputs(net, &b, targets)?;
    let diff: Vec<f64> = fx.iter().zip(&fb).map(|(a, b)| a - b).collect();
    Ok(tolerance_for(&diff))
}

fn tolerance_for(output_difference: &[f64]) -> f64 {
    let smallest = output_difference
        .iter()
        .map(|d| d.abs())
        .fold(f64::INFINITY, f64::min);
    (IG_RELATIVE_TOLERANCE * smallest)
        .clamp(IG_TOLERANCE_FLOOR, AdaptiveIgConfig::default().tolerance)
}

/// The rows and the baseline as tensors (baseline expanded to one row per input row).
fn ig_inputs(
    net: &Network,
    x: ArrayView2<f64>,
    baseline: ArrayView2<f64>,
    targets: &[usize],
) -> Result<(Tensor, Tensor)> {
    let t = rows_tensor(net, x, targets)?;
    let (n, m) = x.dim();
    if baseline.ncols() != m || (baseline.nrows() != 1 && baseline.nrows() != n) {
        return Err(Error::Input(format!(
            "baseline has shape {:?}; expected [1, {m}] or [{n}, {m}]",
            baseline.dim()
        )));
    }
    let b = Tensor::from_vec(
        baseline.iter().map(|&v| v as f32).collect(),
        &[baseline.nrows(), m],
    )?;
    let b = eg::Baseline::Tensor(b)
        .expand("integrated_gradients", &t)
        .map_err(glassbox_explain::ExplainError::from)?;
    Ok((t, b))
}

fn integrated_gradients_with(
    net: &Network,
    x: ArrayView2<f64>,
    baseline: ArrayView2<f64>,
    targets: &[usize],
    tolerance: Option<f64>,
    limits: &IgLimits,
) -> Result<IntegratedGradients> {
    let n = x.nrows();
    let (t, b) = ig_inputs(net, x, baseline, targets)?;
    let tolerance = match tolerance {
        Some(tol) => tol,
        None => {
            let fx = target_outputs(net, &t, targets)?;
            let fb = target_outputs(net, &b, targets)?;
            let diff: Vec<f64> = fx.iter().zip(&fb).map(|(a, b)| a - b).collect();
            tolerance_for(&diff)
        }
    };
    let config = AdaptiveIgConfig {
        baseline: eg::Baseline::Tensor(b),
        tolerance,
        budget: limits.max_evaluations,
        ..AdaptiveIgConfig::default()
    };
    let model = GradModel::new(net).with_stop(limits.stop.clone());
    let r = integrated_gradients_adaptive(&model, &t, targets, &config)?;
    Ok(IntegratedGradients {
        attributions: as_rows(r.attributions, n),
        convergence_delta: r.convergence_delta.to_vec(),
        // From each row's own forward pass (not the batch's), so it too depends on the
        // row alone.
        output_difference: r.output_difference.to_vec(),
        evaluations: r.evaluations,
        converged: r.converged,
    })
}

/// `f(x_i)[t_i]` for the rows of `x`, without recording a graph.
fn target_outputs(net: &Network, x: &Tensor, targets: &[usize]) -> Result<Vec<f64>> {
    let y = no_grad(|| net.forward(&Var::constant(x.clone())))?.value();
    let k = y.shape().get(1).copied().unwrap_or(0);
    let v = y.contiguous().to_vec();
    targets
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            if t < k {
                Ok(v[i * k + t] as f64)
            } else {
                Err(Error::Input(format!(
                    "target {t} of row {i} is not below {k} outputs"
                )))
            }
        })
        .collect()
}

/// Grad-CAM (Selvaraju et al., 2017) on the layer named `layer` (its output must be
/// `[N, K, h, w]`): `ReLU(Σ_k α_k A_k)` with `α_k` the spatial mean of ∂ output[target] /
/// ∂ A_k, upsampled (nearest) to the input's `height × width`. Returns `[rows, height·width]`.
pub fn grad_cam(
    net: &Network,
    x: ArrayView2<f64>,
    targets: &[usize],
    layer: &str,
) -> Result<Array2<f64>> {
    grad_cam_with_stop(net, x, targets, layer, &StopCheck::never())
}

/// [`grad_cam`] in chunks of [`STOPPABLE_CHUNK_ROWS`] rows, asking `stop` before every
/// forward pass (two per chunk): once it fires, the work ends with a "stopped" error.
pub fn grad_cam_with_stop(
    net: &Network,
    x: ArrayView2<f64>,
    targets: &[usize],
    layer: &str,
    stop: &StopCheck,
) -> Result<Array2<f64>> {
    let t = rows_tensor(net, x, targets)?;
    let shape = net.architecture().input_shape();
    let (height, width) = match shape.as_slice() {
        [_, h, w] => (*h, *w),
        _ => return Err(Error::Input("Grad-CAM needs an image network".into())),
    };
    let seq = net
        .sequential()
        .ok_or_else(|| Error::Input("Grad-CAM needs a convolutional network".into()))?;
    let mut full = vec![x.nrows()];
    full.extend(&shape);
    let t = t.try_reshape(&full)?;
    let model = GradModel::new(seq)
        .with_stop(stop.clone())
        .with_cap(eg::BatchCap::Rows(STOPPABLE_CHUNK_ROWS));
    let cam = eg::grad_cam(&model, &t, targets, layer, true)?;
    let up = eg::interpolate(&cam, height, width, Interpolation::Nearest)?;
    Ok(as_rows(up.into_dyn(), x.nrows()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelSpec;
    use ndarray::Array2;

    fn f(net: &Network, x: &Array2<f64>, t: usize) -> f64 {
        let x = Tensor::from_vec(x.iter().map(|&v| v as f32).collect(), &[1, x.ncols()]).unwrap();
        let o = no_grad(|| net.forward(&Var::constant(x))).unwrap().value();
        o.to_vec()[t] as f64
    }

    #[test]
    fn input_gradients_match_finite_differences() {
        let arch = ModelSpec::Mlp(vec![6]).resolve(&[4], 3).unwrap();
        let net = arch.build(5).unwrap();
        let x = Array2::from_shape_vec((1, 4), vec![0.3, -0.7, 1.1, 0.2]).unwrap();
        let g = input_gradients(&net, x.view(), &[2]).unwrap();
        for j in 0..4 {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[[0, j]] += 1e-2;
            b[[0, j]] -= 1e-2;
            let fd = (f(&net, &a, 2) - f(&net, &b, 2)) / 2e-2;
            assert!(
                (fd - g[[0, j]]).abs() < 1e-2 * (1.0 + fd.abs()),
                "{j}: {fd} vs {}",
                g[[0, j]]
            );
        }
        let s = saliency(&net, x.view(), &[2]).unwrap();
        assert_eq!(s, g.mapv(f64::abs));
        assert!(input_gradients(&net, x.view(), &[0, 1]).is_err());
    }

    #[test]
    fn saliency_with_stop_asks_between_chunks() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let arch = ModelSpec::Mlp(vec![6]).resolve(&[4], 3).unwrap();
        let net = arch.build(5).unwrap();
        let n = 2 * STOPPABLE_CHUNK_ROWS + 1;
        let x = Array2::from_shape_fn((n, 4), |(i, j)| ((i * 3 + j) % 7) as f64 * 0.3 - 1.0);
        let t: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let never = saliency_with_stop(&net, x.view(), &t, &StopCheck::never()).unwrap();
        let whole = saliency(&net, x.view(), &t).unwrap();
        assert!(never
            .iter()
            .zip(&whole)
            .all(|(a, b)| (a - b).abs() <= 1e-6 * (1.0 + b.abs())));
        // Fires at its second ask: the first chunk ran, the other two did not.
        let asked = Arc::new(AtomicUsize::new(0));
        let a = asked.clone();
        let stop = StopCheck::new(move || a.fetch_add(1, Ordering::Relaxed) >= 1);
        let e = saliency_with_stop(&net, x.view(), &t, &stop).unwrap_err();
        assert!(e.to_string().contains("stopped"), "{e}");
        assert_eq!(asked.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn smoothgrad_averages_input_gradients_over_noisy_copies() {
        let arch = ModelSpec::Mlp(vec![6]).resolve(&[4], 3).unwrap();
        let net = arch.build(3).unwrap();
        let x = Array2::from_shape_fn((3, 4), |(i, j)| (i as f64 - 1.0) * 0.4 + j as f64 * 0.3);
        let t = [0, 1, 2];
        // Without noise every copy is the row itself: the plain input gradients.
        let plain = input_gradients(&net, x.view(), &t).unwrap();
        let s0 = smoothgrad(&net, x.view(), &t, 5, 0.0, 1).unwrap();
        for (a, b) in s0.iter().zip(&plain) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
        }
        // With noise: seeded, and not the plain gradients (noise of σ = 0.5 moves the rows
        // across kinks of the ReLU MLP).
        let s1 = smoothgrad(&net, x.view(), &t, 8, 0.5, 1).unwrap();
        assert_eq!(s1, smoothgrad(&net, x.view(), &t, 8, 0.5, 1).unwrap());
        assert!(s1.iter().zip(&plain).any(|(a, b)| (a - b).abs() > 1e-4));
        assert!(smoothgrad(&net, x.view(), &t, 0, 0.5, 1).is_err());
    }

    #[test]
    fn integrated_gradients_are_complete_relative_to_the_output_difference() {
        let arch = ModelSpec::Mlp(vec![8]).resolve(&[5], 2).unwrap();
        let net = arch.build(1).unwrap();
        let x = Array2::from_shape_fn((2, 5), |(i, j)| (i as f64 + 1.0) * (j as f64 - 2.0) / 3.0);
        let base = Array2::zeros((1, 5));
        let ig = integrated_gradients(&net, x.view(), base.view(), &[0, 1]).unwrap();
        for i in 0..2 {
            let row = x.row(i).to_owned().insert_axis(ndarray::Axis(0));
            let diff = f(&net, &row, [0, 1][i]) - f(&net, &base, [0, 1][i]);
            assert!((ig.output_difference[i] - diff).abs() < 1e-6, "row {i}");
            let sum = ig.attributions.row(i).sum();
            assert!(
                (sum - diff).abs() <= 1e-3 * diff.abs(),
                "row {i}: {sum} vs {diff}"
            );
            assert!(ig.convergence_delta[i].abs() <= 1e-3 * diff.abs());
            assert!(ig.converged[i]);
        }
        let wide = Array2::zeros((1, 4));
        assert!(integrated_gradients(&net, x.view(), wide.view(), &[0, 1]).is_err());
    }

    #[test]
    fn grad_cam_is_nonnegative_and_image_sized() {
        let arch = ModelSpec::Cnn(vec![3, 4]).resolve(&[1, 6, 6], 3).unwrap();
        let net = arch.build(2).unwrap();
        let x = Array2::from_shape_fn((2, 36), |(i, j)| ((i * 36 + j) % 7) as f64 / 7.0);
        let cam = grad_cam(&net, x.view(), &[0, 2], &arch.gradcam_layer().unwrap()).unwrap();
        assert_eq!(cam.dim(), (2, 36));
        assert!(cam.iter().all(|&v| v >= 0.0));
        assert!(grad_cam(&net, x.view(), &[0, 2], "99").is_err());
    }
}
