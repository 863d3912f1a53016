//! Perturbation-based generation attribution: token ablation with the key/value cache of
//! the prefix before the ablated token reused.

use rayon::prelude::*;

use super::generation::{
    check_sequences, extend_checked, log_prob, CausalLm, GenerationAttributions, GenerationMethod,
};
use crate::error::Result;
use crate::stop::StopCheck;

/// Token ablation of a generated continuation `generated` of `prompt` (Captum's
/// `LLMAttribution` over `FeatureAblation`, one token per feature): entry `[j, i]` of
/// `token_attr` is `log p(g_j | …) − log p(g_j | … with input i replaced by baseline_id)`,
/// the continuation teacher-forced (see [`generation`](super::generation_lig)'s module
/// docs for the layout).
///
/// # Reuse of the key/value cache
///
/// Replacing input `i` leaves positions `0..i` unchanged, and in a causal model so are
/// their keys and values. The inputs are ablated in order while one running cache holds
/// the unperturbed prefix `0..i` (grown by one incremental step per position); ablation
/// `i` forks it (a clone) and feeds only the `n − i` tokens from `i` on (`n` = prompt +
/// generated − 1 inputs), instead of all `n` from scratch: about `n²/2` token positions
/// for all ablations instead of `n²`, plus `n` single-token steps for the prefix. Up to
/// rayon's thread count of ablations run at once, each on its own fork. The unperturbed
/// log-probabilities come from one pass over the `n` inputs.
///
/// # Errors
///
/// [`ExplainError::Empty`](crate::ExplainError::Empty) for an empty prompt or
/// continuation; [`ExplainError::ShapeMismatch`](crate::ExplainError::ShapeMismatch) for
/// logits of the wrong shape; [`ExplainError::Model`](crate::ExplainError::Model) for the
/// model's errors; [`ExplainError::Stopped`](crate::ExplainError::Stopped) once `stop`
/// fires (asked before every pass).
pub fn generation_ablation<M: CausalLm + ?Sized>(
    model: &M,
    prompt: &[u32],
    generated: &[u32],
    baseline_id: u32,
    stop: &StopCheck,
) -> Result<GenerationAttributions> {
    check_sequences(prompt, generated)?;
    let mut out =
        GenerationAttributions::new(GenerationMethod::Ablation, prompt, generated, baseline_id);
    let (p, m, v) = (prompt.len(), generated.len(), model.vocab_size());
    let n = p + m - 1;
    let inputs = &out.ids[..n];
    // Step j is predicted at position p + j − 1.
    let logits = extend_checked(model, &mut model.new_cache(), inputs, stop)?;
    out.log_probs = (0..m)
        .map(|j| {
            let r = p + j - 1;
            log_prob(&logits[r * v..(r + 1) * v], generated[j])
        })
        .collect();
    drop(logits);
    let ablate = |i: usize, mut prefix: M::Cache| -> Result<Vec<(usize, f64)>> {
        let mut seq = Vec::with_capacity(n - i);
        seq.push(baseline_id);
        seq.extend_from_slice(&inputs[i + 1..]);
        let logits = extend_checked(model, &mut prefix, &seq, stop)?;
        // Steps whose position p + j − 1 is at or after i.
        let first = (i + 1).saturating_sub(p);
        Ok((first..m)
            .map(|j| {
                let r = p + j - 1 - i;
                let lp = log_prob(&logits[r * v..(r + 1) * v], generated[j]);
                (j, out.log_probs[j] - lp)
            })
            .collect())
    };
    let width = glassbox_tensor::parallel::threads().max(1);
    let mut running = model.new_cache();
    let mut rows: Vec<(usize, Vec<(usize, f64)>)> = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let end = (i + width).min(n);
        let mut forks = Vec::with_capacity(end - i);
        for k in i..end {
            forks.push((k, running.clone()));
            if k + 1 < n {
                extend_checked(model, &mut running, &inputs[k..k + 1], stop)?;
            }
        }
        let done: Vec<(usize, Vec<(usize, f64)>)> = forks
            .into_par_iter()
            .map(|(k, fork)| Ok((k, ablate(k, fork)?)))
            .collect::<Result<_>>()?;
        rows.extend(done);
        i = end;
    }
    for (i, entries) in rows {
        for (j, a) in entries {
            out.token_attr[[j, i]] = a;
        }
    }
    Ok(out.finish())
}
