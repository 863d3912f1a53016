//! [`integrated_gradients_adaptive`]: the adaptive rule on a [`GradModel`]'s output, one
//! path per input, in parallel.

use glassbox_tensor::Tensor;
use ndarray::{Array1, ArrayD, IxDyn};
use rayon::prelude::*;

use super::config::{validate, AdaptiveIgConfig};
use super::evaluator::{Evaluator, PathEval, PathResult, StartRule};
use super::OP;
use crate::gradient::approx::Approximation;
use crate::gradient::core::{batch_size, expand_targets, grad_from, pick};
use crate::gradient::error::Result;
use crate::gradient::model::{GradModel, Rule};

/// What [`integrated_gradients_adaptive`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveAttributions {
    /// Attributions, shaped like the input.
    pub attributions: ArrayD<f64>,
    /// Captum's convergence delta per input, `Σ attributions − (f(x)[t] − f(baseline)[t])`,
    /// recomputed from a forward pass of the input and its baseline.
    pub convergence_delta: Array1<f64>,
    /// `f(x)[t] − f(baseline)[t]` per input, from that same forward pass: what the
    /// attributions add up to.
    pub output_difference: Array1<f64>,
    /// Gradient evaluations spent per input (start rule included).
    pub evaluations: Vec<usize>,
    /// Per input, whether every piece of the path met its share of the tolerance (false
    /// when the budget ran out first).
    pub converged: Vec<bool>,
}

/// Adaptive Integrated Gradients of output `targets` (one per row or one for all) for the
/// batch `x` (`[N, …]`).
///
/// # Why
///
/// Along the straight path `b + α (x − b)` the gradient of a ReLU network is piecewise
/// constant, with a jump ("kink") wherever a unit changes sign, often a hundred of them.
/// No fixed rule integrates that well: 64 Gauss–Legendre nodes leave a completeness delta
/// around `1e-2` on a 64-128-64-10 MLP. This rule uses only what [`GradModel`] gives (the
/// target output `F(α)` and the input gradient `G(α)` at points of the path), so it works
/// for any model, and it uses the fundamental theorem of calculus along the path:
/// on a piece `[a, b]`, `∫_a^b G(α)·d dα = F(b) − F(a)` with `d = x − baseline`, so the
/// residual `r = F(b) − F(a) − d·I` of an estimate `I ≈ ∫_a^b G` is a computable, exact
/// error of that piece's completeness.
///
/// # Algorithm
///
/// 1. Start rule: `steps` Gauss–Legendre nodes plus the two ends `α = 0, 1`
///    (`steps + 2` gradient evaluations). If the Gauss–Legendre estimate already meets the
///    tolerance and the nodes are no further apart than `resolution`, it is returned, and
///    it equals plain [`integrated_gradients`] with the same nodes (up to the float
///    rounding of differently sized batches).
/// 2. Otherwise the evaluated points cut `[0, 1]` into `steps + 1` pieces, each with `F`
///    and `G` known at both ends, and every round treats each open piece `[a, b]`
///    (`h = b − a`, share of the tolerance `τ_h = tolerance · h / 2`):
///    No piece wider than `resolution` is accepted without a look inside.
///    * **flat**: equal end gradients (to `1e-5` of their largest entry) and a trapezoid
///      residual within `τ_h` (plus an f32 rounding floor): accepted with the trapezoid
///      `h (G(a) + G(b)) / 2`, exact on a linear region.
///    * **one kink**: otherwise, if the single-kink hypothesis (`G = G(a)` on `[a, c)`,
///      `G = G(b)` on `(c, b]`) puts the kink `c = a + (F(b) − F(a) − h φ(b)) / (φ(a) −
///      φ(b))` (`φ = G·d`) inside the piece, two probes at `c ∓ min(h/64, …)` are
///      evaluated. If both outer pieces are flat, they are accepted, and the window
///      `[p₁, p₂]` between the probes gets the integral `G(p₁)(c − p₁) + G(p₂)(p₂ − c)`,
///      exact for one kink, once `(p₂ − p₁) Σ_j |d_j| |G_j(p₂) − G_j(p₁)| ≤ tolerance / 2`
///      (the most two kinks closer together than the window, which the probes cannot
///      tell apart from one, could change the attributions) or once narrower probes would
///      be below the f32 resolution; until then the window is probed again the same way.
///      If an outer piece is not flat, the three sub-pieces are bisected next.
///    * **bisection** (smooth models, several kinks): the midpoint `m` is evaluated; the
///      piece is accepted with Simpson's rule when both its residual and the Richardson
///      estimate `Σ_j |d_j| |T₂ − T₁|_j / 3` (two half trapezoids against one) are within
///      `τ_h`, otherwise its halves become open pieces.
/// 3. An input stops when every piece is accepted (its `converged` flag is then set) or
///    when its budget of gradient evaluations is spent; pieces still open, and pieces
///    narrower than `1e-6` (the resolution of an f32 path), are then closed with their best
///    estimate (the kink integral when it applies, else the trapezoid). The returned
///    convergence delta is recomputed from `f(x)` and `f(baseline)` like Captum's, so it
///    tells the user what was reached, independently of these internal estimates.
///
/// # One input at a time
///
/// Each input's path is refined on its own (inputs run in parallel on rayon's pool): every
/// forward/backward pass holds points of one path only, at most [`BatchCap`] of them, and
/// the convergence delta comes from a forward pass of that input and its baseline alone.
/// So an input's result depends on that input alone, bit for bit: explaining it alone, in
/// a larger batch, or on another process of a distributed job gives the same numbers (a
/// batched matrix product rounds differently for other batch sizes, and a refinement
/// decision taken on rounded values would otherwise depend on the company an input keeps).
/// Products large enough to be split across threads (`glassbox-tensor`'s
/// `MATMUL_PARALLEL_FLOPS`) are also split by rayon's thread count.
///
/// # Errors
///
/// [`GradientError::InvalidArgument`] naming `steps` (0), `tolerance` (not positive and
/// finite), `budget` (below `steps + 2`), `targets` or `batch cap`;
/// [`GradientError::Shape`] for an empty input or a baseline of the wrong shape;
/// [`GradientError::Target`] for a target the model does not have; errors of the model.
///
/// [`integrated_gradients`]: crate::gradient::integrated_gradients
/// [`BatchCap`]: crate::gradient::BatchCap
/// [`GradientError::InvalidArgument`]: crate::gradient::GradientError::InvalidArgument
/// [`GradientError::Shape`]: crate::gradient::GradientError::Shape
/// [`GradientError::Target`]: crate::gradient::GradientError::Target
pub fn integrated_gradients_adaptive(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    config: &AdaptiveIgConfig,
) -> Result<AdaptiveAttributions> {
    validate(&config.rule())?;
    let targets = expand_targets(OP, x, targets)?;
    let base = config.baseline.expand(OP, x)?;
    let cap = config.cap.rows(OP, model, x)?;
    let n = batch_size(OP, x)?;
    let dim = x.len() / n;
    let xs = x.contiguous().to_vec();
    let bs = base.contiguous().to_vec();
    let rule = config.rule();
    let (alphas, weights) = Approximation::GaussLegendre.alphas_and_weights(config.steps)?;
    let start = StartRule {
        alphas: &alphas,
        weights: &weights,
    };
    let rows: Vec<PathResult> = (0..n)
        .into_par_iter()
        .map(|i| {
            let f = ModelTarget {
                model,
                target: targets[i],
            };
            let ev = Evaluator {
                f: &f,
                x: &xs[i * dim..(i + 1) * dim],
                base: &bs[i * dim..(i + 1) * dim],
                sample: &x.shape()[1..],
                cap,
            };
            ev.refine(&rule, &start)
        })
        .collect::<Result<_>>()?;
    let attr: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.attributions.iter().copied())
        .collect();
    let attributions = ArrayD::from_shape_vec(IxDyn(x.shape()), attr).expect("shape");
    Ok(AdaptiveAttributions {
        attributions,
        convergence_delta: rows.iter().map(|r| r.delta).collect(),
        output_difference: rows.iter().map(|r| r.output_difference).collect(),
        evaluations: rows.iter().map(|r| r.evaluations).collect(),
        converged: rows.iter().map(|r| r.converged).collect(),
    })
}

/// A [`GradModel`]'s output `target` with respect to its input.
struct ModelTarget<'m, 'a> {
    model: &'m GradModel<'a>,
    target: usize,
}

impl PathEval for ModelTarget<'_, '_> {
    fn grad(&self, points: Tensor) -> Result<(Tensor, Vec<f64>)> {
        let tg = vec![self.target; points.shape()[0]];
        grad_from(OP, self.model, &points, 0, &tg, Rule::Plain)
    }

    fn value(&self, points: Tensor) -> Result<Vec<f64>> {
        let out = self.model.predict(&points)?;
        pick(OP, &out, &vec![self.target; points.shape()[0]])
    }
}
