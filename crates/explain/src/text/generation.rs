//! Attributions of a generated continuation (Captum's `LLMGradientAttribution` and
//! `LLMAttribution`): for every generated token, its attribution over the prompt and the
//! tokens generated before it, as a matrix `token_attr [out, in]`, plus the sequence total.
//!
//! The continuation is teacher-forced: step `j` explains `log p(g_j | x, g_<j)`, the
//! log-probability the model gives the generated token `g_j` after the prompt `x` and the
//! earlier generated tokens, whatever an attribution method changes in the input.
//! - gradient-based ([`generation_lig`]): Layer Integrated Gradients of that log-probability
//!   on the token embeddings of `x, g_<j`, baseline all `baseline_id` (as Captum's
//!   next-token LIG), one path per step;
//! - perturbation-based ([`generation_ablation`](super::generation_ablation)): replace one
//!   input token by `baseline_id` and measure the drop of each later step's log-probability,
//!   `log p(g_j | …) − log p(g_j | …, token i ablated, …)`, reusing the key/value cache of
//!   the prefix before the ablated token.
//!
//! Column `i` of `token_attr` is input position `i` of `x ++ g` (`in = prompt + out − 1`:
//! the last generated token is never an input); entries of positions at or after step
//! `j`'s own position (`i ≥ prompt + j`) are zero, since the model is causal. The sequence
//! total `seq_attr` is the column sum: the attribution of `Σ_j log p(g_j | …)`, the
//! log-probability of the whole continuation (both methods are additive over the steps).

use glassbox_tensor::Tensor;
use ndarray::Array2;

use super::lig::{argmax, layer_integrated_gradients, TextLigConfig};
use super::model::EmbeddingModel;
use crate::error::{ExplainError, PredictError, Result};
use crate::stop::StopCheck;

pub(crate) const OP: &str = "generation attribution";

/// A causal language model run incrementally with a key/value cache.
pub trait CausalLm: Sync {
    /// The key/value cache of the positions fed so far; cloning it forks the decode.
    type Cache: Clone + Send;

    /// Size of the vocabulary (columns of the logits).
    fn vocab_size(&self) -> usize;

    /// An empty cache.
    fn new_cache(&self) -> Self::Cache;

    /// Feeds `ids` after the positions `cache` holds, extends it, and returns the
    /// next-token logits at every new position, `[ids.len(), vocab_size]` (no graph).
    fn extend(
        &self,
        cache: &mut Self::Cache,
        ids: &[u32],
    ) -> std::result::Result<Tensor, PredictError>;
}

/// Which attribution a [`GenerationAttributions`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerationMethod {
    /// Layer Integrated Gradients per step ([`generation_lig`]).
    LayerIntegratedGradients,
    /// Token ablation ([`generation_ablation`](super::generation_ablation)).
    Ablation,
}

/// Attributions of a generated continuation (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationAttributions {
    /// The method.
    pub method: GenerationMethod,
    /// Number of prompt tokens.
    pub prompt_len: usize,
    /// The prompt then the generated tokens.
    pub ids: Vec<u32>,
    /// The generated tokens (`ids[prompt_len..]`).
    pub generated: Vec<u32>,
    /// `log p(g_j | x, g_<j)` per step, from the unperturbed input.
    pub log_probs: Vec<f64>,
    /// `[generated, prompt_len + generated − 1]`: row `j`, column `i` is input position
    /// `i`'s attribution to step `j` (zero for `i ≥ prompt_len + j`).
    pub token_attr: Array2<f64>,
    /// Column sums of `token_attr`: each input position's attribution to the
    /// log-probability of the whole continuation.
    pub seq_attr: Vec<f64>,
    /// The token that replaces inputs (ablation) or forms the baseline (LIG).
    pub baseline_id: u32,
    /// Per step, LIG's convergence delta (empty for ablation).
    pub convergence_deltas: Vec<f64>,
}

impl GenerationAttributions {
    pub(crate) fn new(
        method: GenerationMethod,
        prompt: &[u32],
        generated: &[u32],
        baseline_id: u32,
    ) -> Self {
        let ids: Vec<u32> = prompt.iter().chain(generated).copied().collect();
        let inputs = prompt.len() + generated.len() - 1;
        GenerationAttributions {
            method,
            prompt_len: prompt.len(),
            ids,
            generated: generated.to_vec(),
            log_probs: Vec::with_capacity(generated.len()),
            token_attr: Array2::zeros((generated.len(), inputs)),
            seq_attr: Vec::new(),
            baseline_id,
            convergence_deltas: Vec::new(),
        }
    }

    pub(crate) fn finish(mut self) -> Self {
        self.seq_attr = self.token_attr.sum_axis(ndarray::Axis(0)).to_vec();
        self
    }
}

/// Checks a prompt and a continuation: both non-empty.
pub(crate) fn check_sequences(prompt: &[u32], generated: &[u32]) -> Result<()> {
    if prompt.is_empty() {
        return Err(ExplainError::Empty {
            op: OP,
            what: "prompt ids",
        });
    }
    if generated.is_empty() {
        return Err(ExplainError::Empty {
            op: OP,
            what: "generated ids",
        });
    }
    Ok(())
}

/// `log softmax(row)[token]` in `f64`.
pub(crate) fn log_prob(row: &[f32], token: u32) -> f64 {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    let lse = max
        + row
            .iter()
            .map(|&v| (v as f64 - max).exp())
            .sum::<f64>()
            .ln();
    row[token as usize] as f64 - lse
}

/// Logits of `model.extend`, checked to be `[rows, vocab]`, as a flat vector.
pub(crate) fn extend_checked<M: CausalLm + ?Sized>(
    model: &M,
    cache: &mut M::Cache,
    ids: &[u32],
    stop: &StopCheck,
) -> Result<Vec<f32>> {
    stop.check().map_err(|_| ExplainError::Stopped { op: OP })?;
    let logits = model
        .extend(cache, ids)
        .map_err(|e| ExplainError::model(OP, e))?;
    let expected = vec![ids.len(), model.vocab_size()];
    if logits.shape() != expected.as_slice() {
        return Err(ExplainError::ShapeMismatch {
            op: OP,
            what: "logits of CausalLm::extend ([new tokens, vocab_size])",
            expected,
            found: logits.shape().to_vec(),
        });
    }
    Ok(logits.contiguous().to_vec())
}

/// Greedy continuation of `prompt`: up to `max_new_tokens` tokens, each the argmax of the
/// next-token logits, fed back through the cache; stops after `stop_id` (included) when
/// given.
pub fn greedy_continuation<M: CausalLm + ?Sized>(
    model: &M,
    prompt: &[u32],
    max_new_tokens: usize,
    stop_id: Option<u32>,
    stop: &StopCheck,
) -> Result<Vec<u32>> {
    if prompt.is_empty() {
        return Err(ExplainError::Empty {
            op: OP,
            what: "prompt ids",
        });
    }
    let v = model.vocab_size();
    let mut cache = model.new_cache();
    let mut out = Vec::with_capacity(max_new_tokens);
    let mut logits = extend_checked(model, &mut cache, prompt, stop)?;
    let mut last = prompt.len() - 1;
    while out.len() < max_new_tokens {
        let tok = argmax(&logits[last * v..(last + 1) * v]) as u32;
        out.push(tok);
        if Some(tok) == stop_id || out.len() == max_new_tokens {
            break;
        }
        logits = extend_checked(model, &mut cache, &[tok], stop)?;
        last = 0;
    }
    Ok(out)
}

/// Gradient-based generation attribution: for each step `j`, Layer Integrated Gradients of
/// `log p(g_j | x, g_<j)` on the embedding layer of `model`, over the sequence
/// `x ++ g_<j` from the baseline of all `baseline_id` (see the module docs).
///
/// `model` must give next-token log-probabilities as its outputs (what `glassbox`'s GPT-2
/// adapter does): step 0 is then exactly the next-token LIG of the prompt. Each step is one
/// [`layer_integrated_gradients`] call with `config` (its row cap, rule and stop check).
pub fn generation_lig<M: EmbeddingModel + ?Sized>(
    model: &M,
    prompt: &[u32],
    generated: &[u32],
    baseline_id: u32,
    config: &TextLigConfig,
) -> Result<GenerationAttributions> {
    check_sequences(prompt, generated)?;
    let mut out = GenerationAttributions::new(
        GenerationMethod::LayerIntegratedGradients,
        prompt,
        generated,
        baseline_id,
    );
    let p = prompt.len();
    for (j, &g) in generated.iter().enumerate() {
        let ids = &out.ids[..p + j];
        let base = vec![baseline_id; ids.len()];
        let r = layer_integrated_gradients(model, ids, &base, Some(g as usize), config)?;
        for (i, s) in r.token_scores.iter().enumerate() {
            out.token_attr[[j, i]] = *s;
        }
        out.log_probs.push(r.output);
        out.convergence_deltas.push(r.convergence_delta);
    }
    Ok(out.finish())
}
