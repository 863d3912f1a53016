//! Layer Integrated Gradients of a text model on its embedding layer (Captum's
//! `LayerIntegratedGradients` on `bert.embeddings` or `transformer.wte`), with the fixed
//! quadrature rules of [`integrated_gradients`](crate::gradient::integrated_gradients) or
//! its adaptive rule, under a row cap.

use glassbox_autograd::{enable_grad, no_grad, Var};
use glassbox_tensor::Tensor;
use ndarray::Array2;

use super::model::EmbeddingModel;
use crate::error::{ExplainError, ModelError, Result};
use crate::gradient::{
    path_integral_chunked, pick, refine_path, target_mask, Approximation, BatchCap, GradientError,
    PathEval, Paths, RefineRule,
};
use crate::stop::StopCheck;

const OP: &str = "text layer_integrated_gradients";

/// How the path integral is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LigRule {
    /// A fixed rule with `steps` points (Captum's default: 50 Gauss–Legendre points).
    Fixed {
        /// Points on the path.
        steps: usize,
        /// Quadrature rule.
        method: Approximation,
    },
    /// The adaptive rule of
    /// [`integrated_gradients_adaptive`](crate::gradient::integrated_gradients_adaptive),
    /// refined until the attributions add up to `f(x) − f(b)` within
    /// `relative_tolerance · |f(x) − f(b)|` (or the budget is spent).
    Adaptive {
        /// Gauss–Legendre nodes of the start rule.
        steps: usize,
        /// Completeness tolerance relative to `|f(x) − f(b)|` (positive).
        relative_tolerance: f64,
        /// Most gradient evaluations (path points), start rule included.
        budget: usize,
        /// Widest piece of the path accepted without a look inside (`(0, 1]`).
        resolution: f64,
    },
}

impl LigRule {
    /// The adaptive rule with 16 Gauss–Legendre start nodes, resolution 1/8 and a budget of
    /// 1024 evaluations, complete within `relative_tolerance · |f(x) − f(b)|`. On the tiny
    /// BERT and GPT-2 of the reference tests, 1e-3 is met by the start rule itself
    /// (18 evaluations).
    pub fn adaptive(relative_tolerance: f64) -> Self {
        LigRule::Adaptive {
            steps: 16,
            relative_tolerance,
            budget: 1024,
            resolution: 0.125,
        }
    }
}

impl Default for LigRule {
    fn default() -> Self {
        LigRule::Fixed {
            steps: 50,
            method: Approximation::GaussLegendre,
        }
    }
}

/// Settings of [`layer_integrated_gradients`].
#[derive(Debug, Clone)]
pub struct TextLigConfig {
    /// The quadrature rule.
    pub rule: LigRule,
    /// Most path points per forward/backward pass (Captum's `internal_batch_size`). Peak
    /// memory is about this many copies of one sequence's activations and gradients
    /// (times the thread count with `parallel`). Default: 10 rows.
    pub cap: BatchCap,
    /// Evaluate up to rayon's thread count of chunks of points at once (the fixed rule;
    /// results are the same bit for bit either way).
    pub parallel: bool,
    /// Asked before every forward pass; once it fires the method returns
    /// [`ExplainError::Stopped`].
    pub stop: StopCheck,
}

impl Default for TextLigConfig {
    fn default() -> Self {
        TextLigConfig {
            rule: LigRule::default(),
            cap: BatchCap::Rows(10),
            parallel: true,
            stop: StopCheck::never(),
        }
    }
}

/// Attributions of one sequence on the perturbed layer.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenAttributions {
    /// The perturbed layer ([`EmbeddingModel::layer_name`]).
    pub layer: String,
    /// The explained output (class, or next token).
    pub target: usize,
    /// `[tokens, hidden]`: `(A(x) − A(b)) ⊙ ∫ ∂f_t/∂A` on the layer output `A`.
    pub attributions: Array2<f64>,
    /// Per token, the sum of its row of `attributions`.
    pub token_scores: Vec<f64>,
    /// `f(x)[target]`.
    pub output: f64,
    /// `f(baseline)[target]`.
    pub baseline_output: f64,
    /// `f(x)[target] − f(baseline)[target]`: what the attributions add up to.
    pub output_difference: f64,
    /// Captum's convergence delta, `Σ attributions − output_difference`.
    pub convergence_delta: f64,
    /// Gradient evaluations (path points) spent.
    pub evaluations: usize,
    /// With the adaptive rule, whether every piece of the path met its share of the
    /// tolerance before the budget ran out; `None` with a fixed rule.
    pub converged: Option<bool>,
}

/// Layer Integrated Gradients of output `target` (default: the largest output at `ids`)
/// for the token sequence `ids`, from the baseline sequence `baseline_ids` (same length,
/// e.g. `[CLS] [PAD]… [SEP]` for BERT or all `<|endoftext|>` for GPT-2), on the layer
/// `model` exposes.
///
/// The path runs from the layer's output on `baseline_ids` to its output on `ids`; its
/// points go through the rest of the model in chunks of at most `config.cap` rows, each
/// one forward and one backward pass, folded into an `f64` accumulator. As in Captum,
/// `f(x)` and `f(b)` of the delta are the model's outputs on `ids` and `baseline_ids`.
///
/// # Errors
///
/// [`ExplainError::Empty`] for no ids; [`ExplainError::ShapeMismatch`] for a baseline of
/// another length or a layer output that is not `[tokens, hidden_size]`;
/// [`ExplainError::TargetOutOfRange`] for a target the model does not have;
/// [`ExplainError::InvalidArgument`] for a bad rule or cap; [`ExplainError::Model`] for the
/// model's errors; [`ExplainError::Stopped`] once `config.stop` fires.
pub fn layer_integrated_gradients<M: EmbeddingModel + ?Sized>(
    model: &M,
    ids: &[u32],
    baseline_ids: &[u32],
    target: Option<usize>,
    config: &TextLigConfig,
) -> Result<TokenAttributions> {
    let setup = Setup::new(model, ids, baseline_ids, target, &config.stop)?;
    let (seq, hidden) = (ids.len(), model.hidden_size());
    let cap = row_cap(config.cap, model.bytes_per_row(seq))?;
    let sample = [seq, hidden];
    let f = Explained {
        model,
        ids,
        target: setup.target,
        stop: &config.stop,
    };
    let (attr, evaluations, converged) = match config.rule {
        LigRule::Fixed { steps, method } => {
            let (alphas, weights) = method.alphas_and_weights(steps)?;
            let paths = Paths {
                h: &setup.ax,
                base: &setup.ab,
                sample: &sample,
                alphas: &alphas,
                weights: &weights,
                cap,
            };
            let integral =
                path_integral_chunked(&paths, 0..1, config.parallel, |p, _| Ok(f.grad(p)?.0))?;
            let attr: Vec<f64> = integral
                .iter()
                .zip(setup.ax.iter().zip(&setup.ab))
                .map(|(g, (&x, &b))| g * (x as f64 - b as f64))
                .collect();
            (attr, steps, None)
        }
        LigRule::Adaptive {
            steps,
            relative_tolerance,
            budget,
            resolution,
        } => {
            if !(relative_tolerance > 0.0 && relative_tolerance.is_finite()) {
                return Err(ExplainError::invalid(
                    OP,
                    "relative_tolerance",
                    format!("must be positive and finite, got {relative_tolerance}"),
                ));
            }
            let scale = (setup.fx - setup.fb).abs().max(1e-12);
            let rule = RefineRule {
                steps,
                tolerance: relative_tolerance * scale,
                budget,
                resolution,
            };
            let r = refine_path(&f, &setup.ax, &setup.ab, &sample, cap, &rule)?;
            (r.attributions, r.evaluations, Some(r.converged))
        }
    };
    let attributions = Array2::from_shape_vec((seq, hidden), attr).expect("seq × hidden");
    let token_scores: Vec<f64> = attributions.rows().into_iter().map(|r| r.sum()).collect();
    let output_difference = setup.fx - setup.fb;
    Ok(TokenAttributions {
        layer: model.layer_name().to_string(),
        target: setup.target,
        convergence_delta: token_scores.iter().sum::<f64>() - output_difference,
        token_scores,
        attributions,
        output: setup.fx,
        baseline_output: setup.fb,
        output_difference,
        evaluations,
        converged,
    })
}

/// The layer outputs of the two ends of the path and the model's outputs there.
struct Setup {
    /// Layer output on the ids, `[seq · hidden]`.
    ax: Vec<f32>,
    /// Layer output on the baseline ids.
    ab: Vec<f32>,
    target: usize,
    fx: f64,
    fb: f64,
}

impl Setup {
    fn new<M: EmbeddingModel + ?Sized>(
        model: &M,
        ids: &[u32],
        baseline_ids: &[u32],
        target: Option<usize>,
        stop: &StopCheck,
    ) -> Result<Self> {
        if ids.is_empty() {
            return Err(ExplainError::Empty {
                op: OP,
                what: "ids",
            });
        }
        if baseline_ids.len() != ids.len() {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what: "baseline_ids (one per input token)",
                expected: vec![ids.len()],
                found: vec![baseline_ids.len()],
            });
        }
        let (ax, ab) = (embed(model, ids)?, embed(model, baseline_ids)?);
        let mut both = ax.clone();
        both.extend_from_slice(&ab);
        let pair = Tensor::from_vec(both, &[2, ids.len(), model.hidden_size()])
            .map_err(GradientError::from)?;
        let out = outputs(model, ids, pair, stop)?;
        let k = out.shape()[1];
        let o = out.contiguous().to_vec();
        let target = match target {
            Some(t) if t >= k => {
                return Err(ExplainError::TargetOutOfRange {
                    op: OP,
                    target: t,
                    outputs: k,
                })
            }
            Some(t) => t,
            None => argmax(&o[..k]),
        };
        Ok(Setup {
            ax,
            ab,
            target,
            fx: o[target] as f64,
            fb: o[k + target] as f64,
        })
    }
}

/// Index of the largest value (the first of equal ones); NaN never wins.
pub(crate) fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] || v[best].is_nan() {
            best = i;
        }
    }
    best
}

/// The layer output on `ids`, flat, checked to be `[ids.len(), hidden_size]`.
fn embed<M: EmbeddingModel + ?Sized>(model: &M, ids: &[u32]) -> Result<Vec<f32>> {
    let e = model.embed(ids).map_err(|e| ExplainError::model(OP, e))?;
    let expected = vec![ids.len(), model.hidden_size()];
    if e.shape() != expected.as_slice() {
        return Err(ExplainError::ShapeMismatch {
            op: OP,
            what: "embedding layer output ([tokens, hidden_size])",
            expected,
            found: e.shape().to_vec(),
        });
    }
    Ok(e.contiguous().to_vec())
}

/// The model's outputs `[rows, outputs]` at layer outputs `points`, without a graph.
fn outputs<M: EmbeddingModel + ?Sized>(
    model: &M,
    ids: &[u32],
    points: Tensor,
    stop: &StopCheck,
) -> std::result::Result<Tensor, GradientError> {
    stop.check().map_err(|_| GradientError::Stopped)?;
    let rows = points.shape()[0];
    let out = no_grad(|| model.forward_from_embeddings(&Var::constant(points), ids))
        .map_err(model_error)?
        .value();
    check_outputs(&out, rows)?;
    Ok(out)
}

fn check_outputs(out: &Tensor, rows: usize) -> std::result::Result<(), GradientError> {
    let s = out.shape();
    if s.len() != 2 || s[0] != rows || s[1] == 0 {
        return Err(GradientError::Shape {
            op: OP,
            what: "model output (forward_from_embeddings)",
            expected: format!("[{rows}, outputs]"),
            found: s.to_vec(),
        });
    }
    Ok(())
}

fn model_error(e: crate::error::PredictError) -> GradientError {
    GradientError::Model {
        op: OP,
        error: ModelError::from(e),
    }
}

/// Cap on path points per pass.
pub(crate) fn row_cap(cap: BatchCap, bytes_per_row: usize) -> Result<usize> {
    match cap {
        BatchCap::Rows(0) | BatchCap::Bytes(0) => {
            Err(ExplainError::invalid(OP, "cap", "must be positive"))
        }
        BatchCap::Rows(r) => Ok(r),
        BatchCap::Unlimited => Ok(usize::MAX),
        BatchCap::Bytes(b) => Ok((b / bytes_per_row.max(1)).max(1)),
    }
}

/// The model's output `target` at the layer outputs of the sequence `ids`.
struct Explained<'m, M: ?Sized> {
    model: &'m M,
    ids: &'m [u32],
    target: usize,
    stop: &'m StopCheck,
}

impl<M: EmbeddingModel + ?Sized> PathEval for Explained<'_, M> {
    fn grad(&self, points: Tensor) -> std::result::Result<(Tensor, Vec<f64>), GradientError> {
        self.stop.check().map_err(|_| GradientError::Stopped)?;
        // A rayon job may run on a thread waiting inside another job's `no_grad`.
        enable_grad(|| self.grad_recorded(points))
    }

    fn value(&self, points: Tensor) -> std::result::Result<Vec<f64>, GradientError> {
        self.value_at(points)
    }
}

impl<M: EmbeddingModel + ?Sized> Explained<'_, M> {
    fn grad_recorded(
        &self,
        points: Tensor,
    ) -> std::result::Result<(Tensor, Vec<f64>), GradientError> {
        let rows = points.shape()[0];
        let v = Var::leaf(points, true);
        let out = self
            .model
            .forward_from_embeddings(&v, self.ids)
            .map_err(model_error)?;
        let ov = out.value();
        check_outputs(&ov, rows)?;
        let targets = vec![self.target; rows];
        let mask = target_mask(OP, &ov, &targets)?;
        let f = pick(OP, &ov, &targets)?;
        out.backward_with(&mask)?;
        let g = v.grad().ok_or(GradientError::NoGradient {
            op: OP,
            what: "the embedding layer output",
        })?;
        Ok((g, f))
    }

    fn value_at(&self, points: Tensor) -> std::result::Result<Vec<f64>, GradientError> {
        let rows = points.shape()[0];
        let out = outputs(self.model, self.ids, points, self.stop)?;
        pick(OP, &out, &vec![self.target; rows])
    }
}
