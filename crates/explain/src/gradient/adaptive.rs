//! Adaptive, kink-aware Integrated Gradients: refines the path integral until the
//! completeness error of every piece of the path is within a tolerance, exactly so for
//! piecewise-linear (ReLU) networks. See [`integrated_gradients_adaptive`].

use glassbox_tensor::Tensor;
use ndarray::{Array1, ArrayD, IxDyn};
use rayon::prelude::*;

use super::approx::Approximation;
use super::core::{batch_size, expand_targets, grad_from, pick, Baseline, BatchCap};
use super::error::{GradientError, Result};
use super::model::{GradModel, Rule};

const OP: &str = "integrated_gradients_adaptive";
/// Pieces narrower than this (in `α`) are not split further: f32 path points cannot
/// resolve them.
const MIN_WIDTH: f64 = 1e-6;
/// Relative tolerance under which two gradients count as equal.
const GRAD_EQ: f64 = 1e-5;
/// Kink probes sit at most this fraction of the piece away from the fitted kink.
const PROBE: f64 = 1.0 / 64.0;
/// Size of the f32 rounding floor of the residual tests, relative to the largest `|F|`
/// of the start rule (differences of f32 outputs are only known to a few ulps of it).
const NOISE: f64 = 1e-6;

/// Settings of [`integrated_gradients_adaptive`].
#[derive(Debug, Clone)]
pub struct AdaptiveIgConfig {
    /// Reference input.
    pub baseline: Baseline,
    /// Gauss–Legendre nodes of the start rule (at least 1).
    pub steps: usize,
    /// Absolute completeness tolerance per input: refinement stops once the residuals of
    /// all pieces of the path add up to at most half of it (must be positive and finite).
    pub tolerance: f64,
    /// Most gradient evaluations per input, start rule included (at least `steps + 2`).
    pub budget: usize,
    /// Widest piece of the path (in `α`, within `(0, 1]`) that may be accepted without
    /// looking inside. Two points with equal gradients and consistent outputs can still
    /// enclose structure, e.g. a unit of a ReLU network that switches on and off again
    /// between them (both ends in a region where the target output is dead); no rule that
    /// samples the path sees structure narrower than its sampling, so this sets the
    /// resolution. The default, `1/32`, accepts the gaps of the 64-node start rule.
    pub resolution: f64,
    /// Cap on the rows of one forward/backward pass.
    pub cap: BatchCap,
}

impl Default for AdaptiveIgConfig {
    fn default() -> Self {
        AdaptiveIgConfig {
            baseline: Baseline::Zeros,
            steps: 64,
            tolerance: 1e-4,
            budget: 4096,
            resolution: 1.0 / 32.0,
            cap: BatchCap::default(),
        }
    }
}

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

/// A point of one input's path: `α`, the target output and the input gradient there.
struct Point {
    alpha: f64,
    f: f64,
    /// `φ = G·d`, the derivative of `F` along the path.
    phi: f64,
    /// Emptied once no open piece needs it.
    g: Vec<f32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Try the flat and single-kink tests first.
    Kink,
    /// Evaluate the midpoint.
    Bisect,
}

/// An open piece of the path between two evaluated points.
#[derive(Clone, Copy)]
struct Piece {
    a: usize,
    b: usize,
    mode: Mode,
}

/// A piece waiting for new evaluations.
enum Pending {
    Kink { piece: Piece, p1: usize, p2: usize },
    Mid { piece: Piece, m: usize },
}

/// One input's refinement state.
struct Path {
    /// `x − baseline`, f64.
    d: Vec<f64>,
    points: Vec<Point>,
    open: Vec<Piece>,
    pending: Vec<Pending>,
    /// `∫ G` over the accepted pieces.
    acc: Vec<f64>,
    evals: usize,
    /// Largest `|F|` of the start rule.
    fscale: f64,
    /// [`AdaptiveIgConfig::resolution`].
    max_width: f64,
    /// Set when a piece was closed before meeting its share of the tolerance.
    cut: bool,
    tol: f64,
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
/// [`integrated_gradients`]: super::integrated_gradients
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

/// The Gauss–Legendre start rule on `(0, 1)`.
struct StartRule<'r> {
    alphas: &'r [f64],
    weights: &'r [f64],
}

/// What the refinement of one input's path returns.
#[derive(Debug, Clone)]
pub(crate) struct PathResult {
    /// `(x − baseline) ⊙ ∫ G`, flat.
    pub attributions: Vec<f64>,
    /// `Σ attributions − output_difference`.
    pub delta: f64,
    /// `F(x) − F(baseline)`, from a forward pass of the two.
    pub output_difference: f64,
    /// Gradient evaluations spent (start rule included).
    pub evaluations: usize,
    /// Whether every piece met its share of the tolerance.
    pub converged: bool,
}

/// The refinement settings of [`AdaptiveIgConfig`] (everything but the baseline and the
/// batch cap), shared by every model the adaptive rule runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefineRule {
    /// Gauss–Legendre nodes of the start rule.
    pub steps: usize,
    /// Absolute completeness tolerance.
    pub tolerance: f64,
    /// Most gradient evaluations, start rule included.
    pub budget: usize,
    /// Widest piece accepted without a look inside.
    pub resolution: f64,
}

impl AdaptiveIgConfig {
    fn rule(&self) -> RefineRule {
        RefineRule {
            steps: self.steps,
            tolerance: self.tolerance,
            budget: self.budget,
            resolution: self.resolution,
        }
    }
}

/// What the adaptive rule needs of a model along one input's path: the explained output
/// `F` and its gradient at points of the path.
pub(crate) trait PathEval: Sync {
    /// `(G, F)` at `points` (`[len, sample…]`): the gradient, shaped like `points`, and the
    /// explained output of every point.
    fn grad(&self, points: Tensor) -> Result<(Tensor, Vec<f64>)>;
    /// `F` at `points`, without recording a graph.
    fn value(&self, points: Tensor) -> Result<Vec<f64>>;
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

/// Adaptive Integrated Gradients of one path from `base` to `x` (flat, one sample of shape
/// `sample` each) for the model `f`, with at most `cap` points per evaluation: the rule of
/// [`integrated_gradients_adaptive`] for any [`PathEval`].
pub(crate) fn refine_path(
    f: &dyn PathEval,
    x: &[f32],
    base: &[f32],
    sample: &[usize],
    cap: usize,
    rule: &RefineRule,
) -> Result<PathResult> {
    validate(rule)?;
    let (alphas, weights) = Approximation::GaussLegendre.alphas_and_weights(rule.steps)?;
    let start = StartRule {
        alphas: &alphas,
        weights: &weights,
    };
    Evaluator {
        f,
        x,
        base,
        sample,
        cap,
    }
    .refine(rule, &start)
}

fn validate(config: &RefineRule) -> Result<()> {
    let bad = |field, reason: String| {
        Err(GradientError::InvalidArgument {
            op: OP,
            field,
            reason,
        })
    };
    if config.steps == 0 {
        return bad("steps", "the start rule needs at least 1 node".into());
    }
    if !(config.tolerance > 0.0 && config.tolerance.is_finite()) {
        return bad(
            "tolerance",
            format!("must be positive and finite, got {}", config.tolerance),
        );
    }
    if !(config.resolution > 0.0 && config.resolution <= 1.0) {
        return bad(
            "resolution",
            format!("must be within (0, 1], got {}", config.resolution),
        );
    }
    if config.budget < config.steps + 2 {
        return bad(
            "budget",
            format!(
                "{} gradient evaluations cannot cover the start rule ({} nodes + 2 ends)",
                config.budget, config.steps
            ),
        );
    }
    Ok(())
}

fn dot(a: &[f64], g: &[f32]) -> f64 {
    a.iter().zip(g).map(|(a, &g)| a * g as f64).sum()
}

/// Whether two gradients are equal up to f32 rounding.
fn grad_eq(u: &[f32], v: &[f32]) -> bool {
    let mut scale = 0f32;
    let mut diff = 0f32;
    for (&a, &b) in u.iter().zip(v) {
        scale = scale.max(a.abs()).max(b.abs());
        diff = diff.max((a - b).abs());
    }
    (diff as f64) <= GRAD_EQ * scale as f64
}

/// Evaluation of `F` and `G` at the requested points of one input's path. Every
/// forward/backward pass holds points of this path only, in chunks of at most `cap` formed
/// from its own requests, so the result of an input is the same bit for bit whichever
/// other inputs share the call (batched GEMMs round differently for other batch sizes).
struct Evaluator<'m> {
    /// The model and its explained output.
    f: &'m dyn PathEval,
    /// The input, `[D]`.
    x: &'m [f32],
    /// Its baseline, `[D]`.
    base: &'m [f32],
    /// Shape of one sample (the input's shape without its batch dimension).
    sample: &'m [usize],
    cap: usize,
}

impl Evaluator<'_> {
    /// Runs the start rule and the refinement rounds of this input's path.
    fn refine(&self, config: &RefineRule, start: &StartRule) -> Result<PathResult> {
        let dim = self.x.len();
        let mut p = Path {
            d: self
                .x
                .iter()
                .zip(self.base)
                .map(|(&x, &b)| x as f64 - b as f64)
                .collect(),
            points: Vec::new(),
            open: Vec::new(),
            pending: Vec::new(),
            acc: vec![0.0; dim],
            evals: 0,
            fscale: 0.0,
            max_width: config.resolution,
            cut: false,
            tol: config.tolerance,
        };
        // Start rule: the Gauss–Legendre nodes and the two ends.
        let mut requests = Vec::new();
        for &alpha in std::iter::once(&0.0)
            .chain(start.alphas)
            .chain(std::iter::once(&1.0))
        {
            p.new_point(alpha, &mut requests);
        }
        self.run(&mut p, &requests)?;
        p.start(start.weights);
        // Refinement rounds.
        loop {
            requests.clear();
            p.plan(config.budget, &mut requests);
            if requests.is_empty() {
                break;
            }
            self.run(&mut p, &requests)?;
            p.settle();
        }
        let attributions: Vec<f64> = p.acc.iter().zip(&p.d).map(|(a, d)| a * d).collect();
        // Captum's delta, from a forward pass of the input and the baseline of its own.
        let mut pair = Vec::with_capacity(2 * dim);
        pair.extend_from_slice(self.x);
        pair.extend_from_slice(self.base);
        let f = self.f.value(Tensor::from_vec(pair, &self.shape(2))?)?;
        let output_difference = f[0] - f[1];
        Ok(PathResult {
            delta: attributions.iter().sum::<f64>() - output_difference,
            attributions,
            output_difference,
            evaluations: p.evals,
            converged: !p.cut,
        })
    }

    /// `[rows, sample…]`.
    fn shape(&self, rows: usize) -> Vec<usize> {
        std::iter::once(rows)
            .chain(self.sample.iter().copied())
            .collect()
    }

    /// Fills `path.points[k]` for every `k` in `requests`, in batches of at most `cap`
    /// rows. `α = 0` and `α = 1` use the baseline and the input themselves.
    fn run(&self, path: &mut Path, requests: &[usize]) -> Result<()> {
        let dim = self.x.len();
        for chunk in requests.chunks(self.cap.max(1)) {
            let mut buf = Vec::with_capacity(chunk.len() * dim);
            for &k in chunk {
                let alpha = path.points[k].alpha;
                if alpha == 0.0 {
                    buf.extend_from_slice(self.base);
                } else if alpha == 1.0 {
                    buf.extend_from_slice(self.x);
                } else {
                    let a = alpha as f32;
                    buf.extend(
                        self.x
                            .iter()
                            .zip(self.base)
                            .map(|(&xv, &bv)| bv + a * (xv - bv)),
                    );
                }
            }
            let pts = Tensor::from_vec(buf, &self.shape(chunk.len()))?;
            let (g, f) = self.f.grad(pts)?;
            if g.len() != chunk.len() * dim || f.len() != chunk.len() {
                return Err(GradientError::Shape {
                    op: OP,
                    what: "gradient at the path points",
                    expected: format!("{} points of shape {:?}", chunk.len(), self.sample),
                    found: g.shape().to_vec(),
                });
            }
            let gs = g.contiguous();
            let gv = gs.as_slice().expect("contiguous");
            for (r, &k) in chunk.iter().enumerate() {
                path.evals += 1;
                let g = &gv[r * dim..(r + 1) * dim];
                let phi = dot(&path.d, g);
                let pt = &mut path.points[k];
                pt.f = f[r];
                pt.phi = phi;
                pt.g = g.to_vec();
            }
        }
        Ok(())
    }
}

/// What the tests of one piece found.
struct Ends<'p> {
    a: &'p Point,
    b: &'p Point,
    h: f64,
    /// `F(b) − F(a)`.
    df: f64,
    phi_a: f64,
    phi_b: f64,
    /// Share of the tolerance plus the f32 rounding floor.
    allowed: f64,
}

impl Path {
    fn ends(&self, piece: Piece) -> Ends<'_> {
        let (a, b) = (&self.points[piece.a], &self.points[piece.b]);
        let h = b.alpha - a.alpha;
        let (phi_a, phi_b) = (a.phi, b.phi);
        let noise = NOISE * (self.fscale + h * (phi_a.abs() + phi_b.abs()));
        Ends {
            a,
            b,
            h,
            df: b.f - a.f,
            phi_a,
            phi_b,
            allowed: 0.5 * self.tol * h + noise,
        }
    }

    /// Adds `scale · g` to the accumulator.
    fn add(&mut self, scale: f64, point: usize) {
        let g = &self.points[point].g;
        for (a, &v) in self.acc.iter_mut().zip(g) {
            *a += scale * v as f64;
        }
    }

    /// Whether the piece is one linear region (equal end gradients, consistent values).
    fn is_flat(&self, piece: Piece) -> bool {
        let e = self.ends(piece);
        e.h <= self.max_width
            && grad_eq(&e.a.g, &e.b.g)
            && (e.df - 0.5 * e.h * (e.phi_a + e.phi_b)).abs() <= e.allowed
    }

    /// The single-kink position inside the piece, if the hypothesis places one there.
    fn kink(&self, piece: Piece) -> Option<f64> {
        let e = self.ends(piece);
        let jump = e.phi_a - e.phi_b;
        if !(jump.abs() > 1e-9 * (e.phi_a.abs() + e.phi_b.abs()) && jump.is_finite()) {
            return None;
        }
        let c = e.a.alpha + (e.df - e.h * e.phi_b) / jump;
        (c > e.a.alpha && c < e.b.alpha).then_some(c)
    }

    /// `Σ_j |d_j| |G_j(b) − G_j(a)|`: how much the attribution rate changes across a piece.
    fn spread(&self, piece: Piece) -> f64 {
        let (a, b) = (&self.points[piece.a].g, &self.points[piece.b].g);
        a.iter()
            .zip(b)
            .zip(&self.d)
            .map(|((&u, &v), d)| (d * (u as f64 - v as f64)).abs())
            .sum()
    }

    /// Accepts a piece with the trapezoid rule.
    fn accept_trapezoid(&mut self, piece: Piece) {
        let h = self.points[piece.b].alpha - self.points[piece.a].alpha;
        self.add(0.5 * h, piece.a);
        self.add(0.5 * h, piece.b);
    }

    /// Closes a piece with its best estimate: the kink integral if the hypothesis applies,
    /// else the trapezoid.
    fn close(&mut self, piece: Piece) {
        match self.kink(piece) {
            Some(c) => {
                let (a, b) = (self.points[piece.a].alpha, self.points[piece.b].alpha);
                self.add(c - a, piece.a);
                self.add(b - c, piece.b);
            }
            None => self.accept_trapezoid(piece),
        }
    }

    fn new_point(&mut self, alpha: f64, requests: &mut Vec<usize>) -> usize {
        let k = self.points.len();
        self.points.push(Point {
            alpha,
            f: 0.0,
            phi: 0.0,
            g: Vec::new(),
        });
        requests.push(k);
        k
    }

    /// After the start rule's points (`α = 0`, the nodes, `α = 1`) are evaluated: accepts
    /// the Gauss–Legendre estimate if it meets the tolerance and the nodes are no further
    /// apart than the resolution, else opens every gap between the points.
    fn start(&mut self, weights: &[f64]) {
        let last = self.points.len() - 1;
        self.fscale = self.points.iter().fold(0.0, |m, q| m.max(q.f.abs()));
        let mut gl = vec![0.0; self.d.len()];
        for (pt, w) in self.points[1..last].iter().zip(weights) {
            for (a, &g) in gl.iter_mut().zip(&pt.g) {
                *a += w * g as f64;
            }
        }
        let r = self.points[last].f
            - self.points[0].f
            - self.d.iter().zip(&gl).map(|(d, g)| d * g).sum::<f64>();
        let gap = self
            .points
            .windows(2)
            .fold(0f64, |m, w| m.max(w[1].alpha - w[0].alpha));
        if r.abs() <= self.tol && gap <= self.max_width {
            self.acc = gl;
        } else {
            self.open = (0..last)
                .map(|a| Piece {
                    a,
                    b: a + 1,
                    mode: Mode::Kink,
                })
                .collect();
        }
        self.free();
    }

    /// Accepts what can be accepted without new evaluations and requests the points the
    /// other open pieces need, within the budget.
    fn plan(&mut self, budget: usize, requests: &mut Vec<usize>) {
        if self.open.is_empty() {
            return;
        }
        let open = std::mem::take(&mut self.open);
        let mut wanted: Vec<(Piece, Option<f64>)> = Vec::new();
        for piece in open {
            let (a, b) = (self.points[piece.a].alpha, self.points[piece.b].alpha);
            if self.is_flat(piece) {
                self.accept_trapezoid(piece);
                continue;
            }
            if b - a < 2.0 * MIN_WIDTH {
                // Too narrow to split (f32 outputs no longer locate a kink here): cut
                // short unless even a jump inside would be within half the tolerance,
                // the bound kink windows are accepted with.
                self.cut |= (b - a) * self.spread(piece) > 0.5 * self.tol;
                self.close(piece);
                continue;
            }
            let kink = if piece.mode == Mode::Kink {
                self.kink(piece)
                    .filter(|&c| c - a >= MIN_WIDTH && b - c >= MIN_WIDTH)
            } else {
                None
            };
            wanted.push((piece, kink));
        }
        let mut left = budget.saturating_sub(self.evals);
        if wanted
            .iter()
            .map(|w| 1 + w.1.is_some() as usize)
            .sum::<usize>()
            > left
        {
            // Not all fit: first the pieces across which the attribution rate changes most.
            let mut keyed: Vec<(f64, Piece, Option<f64>)> = wanted
                .into_iter()
                .map(|(p, k)| {
                    let h = self.points[p.b].alpha - self.points[p.a].alpha;
                    (h * self.spread(p), p, k)
                })
                .collect();
            keyed.sort_by(|u, v| v.0.total_cmp(&u.0));
            wanted = keyed.into_iter().map(|(_, p, k)| (p, k)).collect();
        }
        for (piece, kink) in wanted {
            let need = if kink.is_some() { 2 } else { 1 };
            if need > left {
                self.cut = true;
                self.close(piece);
                continue;
            }
            left -= need;
            let (a, b) = (self.points[piece.a].alpha, self.points[piece.b].alpha);
            match kink {
                Some(c) => {
                    let h = b - a;
                    let p1 = c - (PROBE * h).min(0.5 * (c - a));
                    let p2 = c + (PROBE * h).min(0.5 * (b - c));
                    let p1 = self.new_point(p1, requests);
                    let p2 = self.new_point(p2, requests);
                    self.pending.push(Pending::Kink { piece, p1, p2 });
                }
                None => {
                    let m = self.new_point(0.5 * (a + b), requests);
                    self.pending.push(Pending::Mid { piece, m });
                }
            }
        }
        if self.pending.is_empty() {
            self.free();
        }
    }

    /// Processes the pieces whose requested points were just evaluated.
    fn settle(&mut self) {
        for pending in std::mem::take(&mut self.pending) {
            match pending {
                Pending::Kink { piece, p1, p2 } => {
                    let left = Piece {
                        a: piece.a,
                        b: p1,
                        mode: Mode::Bisect,
                    };
                    let window = Piece {
                        a: p1,
                        b: p2,
                        mode: Mode::Bisect,
                    };
                    let right = Piece {
                        a: p2,
                        b: piece.b,
                        mode: Mode::Bisect,
                    };
                    let verified = self.is_flat(left) && self.is_flat(right);
                    match (verified, self.kink(window)) {
                        (true, Some(_)) => {
                            self.accept_trapezoid(left);
                            self.accept_trapezoid(right);
                            // Two kinks closer than the window would go unseen: narrow
                            // it until even then the error would be within half the
                            // tolerance, or until the next probes would be closer to
                            // the kink than f32 outputs locate it (or an f32 path
                            // resolves).
                            let w = self.points[p2].alpha - self.points[p1].alpha;
                            let e = self.ends(window);
                            let blur = 4.0 * NOISE * self.fscale / (e.phi_a - e.phi_b).abs();
                            if w * self.spread(window) <= 0.5 * self.tol
                                || w * PROBE < MIN_WIDTH.max(blur)
                            {
                                self.close(window);
                            } else {
                                self.open.push(Piece {
                                    mode: Mode::Kink,
                                    ..window
                                });
                            }
                        }
                        _ => self.open.extend([left, window, right]),
                    }
                }
                Pending::Mid { piece, m } => {
                    if self.simpson_ok(piece, m) {
                        let h = self.points[piece.b].alpha - self.points[piece.a].alpha;
                        self.add(h / 6.0, piece.a);
                        self.add(4.0 * h / 6.0, m);
                        self.add(h / 6.0, piece.b);
                    } else {
                        self.open.push(Piece {
                            a: piece.a,
                            b: m,
                            mode: Mode::Kink,
                        });
                        self.open.push(Piece {
                            a: m,
                            b: piece.b,
                            mode: Mode::Kink,
                        });
                    }
                }
            }
        }
        self.free();
    }

    /// Simpson's rule on `[a, b]` with midpoint `m` is accepted when its residual and the
    /// Richardson estimate of the half-trapezoids' error are within the piece's share.
    fn simpson_ok(&self, piece: Piece, m: usize) -> bool {
        let e = self.ends(piece);
        let gm = &self.points[m].g;
        let (mut richardson, mut simpson) = (0.0, 0.0);
        for (((&ga, &gb), &g), &d) in e.a.g.iter().zip(&e.b.g).zip(gm).zip(&self.d) {
            let (ga, gb, g) = (ga as f64, gb as f64, g as f64);
            // T₂ − T₁ = h/4 (2 G(m) − G(a) − G(b)).
            richardson += (d * e.h * 0.25 * (2.0 * g - ga - gb)).abs() / 3.0;
            simpson += d * e.h * (ga + 4.0 * g + gb) / 6.0;
        }
        e.h <= self.max_width && richardson <= e.allowed && (e.df - simpson).abs() <= e.allowed
    }

    /// Drops the gradients no open or pending piece refers to.
    fn free(&mut self) {
        let mut used = vec![false; self.points.len()];
        for p in &self.open {
            used[p.a] = true;
            used[p.b] = true;
        }
        for p in &self.pending {
            let (piece, extra) = match p {
                Pending::Kink { piece, p1, p2 } => (piece, [*p1, *p2]),
                Pending::Mid { piece, m } => (piece, [*m, *m]),
            };
            for k in [piece.a, piece.b, extra[0], extra[1]] {
                used[k] = true;
            }
        }
        for (pt, u) in self.points.iter_mut().zip(used) {
            if !u && !pt.g.is_empty() {
                pt.g = Vec::new();
            }
        }
    }
}

#[cfg(test)]
#[path = "adaptive_tests.rs"]
mod tests;
