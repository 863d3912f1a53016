//! One input's path: the start rule and the refinement rounds driven over it, with `F` and
//! `G` evaluated at the points the rounds ask for.

use glassbox_tensor::Tensor;

use super::config::{validate, RefineRule};
use super::path::Path;
use super::OP;
use crate::gradient::approx::Approximation;
use crate::gradient::error::{GradientError, Result};

/// The Gauss–Legendre start rule on `(0, 1)`.
pub(super) struct StartRule<'r> {
    pub alphas: &'r [f64],
    pub weights: &'r [f64],
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

/// What the adaptive rule needs of a model along one input's path: the explained output
/// `F` and its gradient at points of the path.
pub(crate) trait PathEval: Sync {
    /// `(G, F)` at `points` (`[len, sample…]`): the gradient, shaped like `points`, and the
    /// explained output of every point.
    fn grad(&self, points: Tensor) -> Result<(Tensor, Vec<f64>)>;
    /// `F` at `points`, without recording a graph.
    fn value(&self, points: Tensor) -> Result<Vec<f64>>;
}

/// Adaptive Integrated Gradients of one path from `base` to `x` (flat, one sample of shape
/// `sample` each) for the model `f`, with at most `cap` points per evaluation: the rule of
/// [`integrated_gradients_adaptive`] for any [`PathEval`].
///
/// [`integrated_gradients_adaptive`]: super::integrated_gradients_adaptive
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

fn dot(a: &[f64], g: &[f32]) -> f64 {
    a.iter().zip(g).map(|(a, &g)| a * g as f64).sum()
}

/// Evaluation of `F` and `G` at the requested points of one input's path. Every
/// forward/backward pass holds points of this path only, in chunks of at most `cap` formed
/// from its own requests, so the result of an input is the same bit for bit whichever
/// other inputs share the call (batched GEMMs round differently for other batch sizes).
pub(super) struct Evaluator<'m> {
    /// The model and its explained output.
    pub f: &'m dyn PathEval,
    /// The input, `[D]`.
    pub x: &'m [f32],
    /// Its baseline, `[D]`.
    pub base: &'m [f32],
    /// Shape of one sample (the input's shape without its batch dimension).
    pub sample: &'m [usize],
    pub cap: usize,
}

impl Evaluator<'_> {
    /// Runs the start rule and the refinement rounds of this input's path.
    pub(super) fn refine(&self, config: &RefineRule, start: &StartRule) -> Result<PathResult> {
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
