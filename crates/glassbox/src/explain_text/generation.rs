//! Attributions of a GPT-2 continuation: [`TextExplainer::explain_generation`].

use glassbox_explain::text::{
    generation_ablation, generation_lig, greedy_continuation, GenerationAttributions,
    GenerationMethod, TextLigConfig,
};
use glassbox_hf::HfError;

use super::lig::{TextExplainer, TextNetwork};
use super::models::Gpt2EmbeddingModel;
use crate::error::{Error, Result};

/// Options of [`TextExplainer::explain_generation`].
#[derive(Debug, Clone)]
pub struct GenerationOptions {
    /// Tokens to generate (greedy); at least 1.
    pub max_new_tokens: usize,
    /// Stop after `<|endoftext|>` (`eos_token_id`).
    pub stop_at_eos: bool,
    /// Gradient-based (LIG per step) or perturbation-based (token ablation).
    pub method: GenerationMethod,
    /// LIG's settings (rule, row cap, parallelism); its stop check also stops the greedy
    /// decode and the ablation passes.
    pub lig: TextLigConfig,
}

impl Default for GenerationOptions {
    fn default() -> Self {
        GenerationOptions {
            max_new_tokens: 8,
            stop_at_eos: true,
            method: GenerationMethod::LayerIntegratedGradients,
            lig: TextLigConfig::default(),
        }
    }
}

/// A continuation and its attributions, with tokens and offsets.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationExplanation {
    /// The prompt.
    pub prompt: String,
    /// The prompt's tokens.
    pub prompt_tokens: Vec<String>,
    /// Character offsets of the prompt's tokens in `prompt`.
    pub prompt_offsets: Vec<(usize, usize)>,
    /// The generated tokens as strings.
    pub generated_tokens: Vec<String>,
    /// The generated text (decoded).
    pub generated_text: String,
    /// `token_attr [out, in]`, `seq_attr`, log-probabilities (see
    /// [`GenerationAttributions`]).
    pub attributions: GenerationAttributions,
}

impl TextExplainer {
    /// Continues `prompt` greedily with the cached decode, then attributes every generated
    /// token to the prompt and the earlier generated tokens (see
    /// `glassbox_explain::text`'s generation functions). Needs a GPT-2 directory; the
    /// prompt plus `max_new_tokens` must fit in the context.
    pub fn explain_generation(
        &self,
        prompt: &str,
        options: &GenerationOptions,
    ) -> Result<GenerationExplanation> {
        let TextNetwork::NextToken { model, baseline_id } = &self.network else {
            return Err(Error::Capability {
                path: self.path.display().to_string(),
                action: "generate text (a GPT2LMHeadModel directory can)",
                kind: "BertForSequenceClassification".into(),
            });
        };
        if options.max_new_tokens == 0 {
            return Err(Error::Input(
                "max_new_tokens: at least one token must be generated to be explained".into(),
            ));
        }
        let enc = self.encode(prompt)?;
        let limit = model.config.n_positions;
        if enc.len() + options.max_new_tokens > limit {
            return Err(HfError::InputTooLong {
                what: format!(
                    "GPT-2 context (prompt of {} tokens + max_new_tokens {})",
                    enc.len(),
                    options.max_new_tokens
                ),
                length: enc.len() + options.max_new_tokens,
                limit,
            }
            .into());
        }
        let lm = Gpt2EmbeddingModel::new(model);
        let eos = options
            .stop_at_eos
            .then_some(*baseline_id)
            .filter(|_| model.config.eos_token_id.is_some());
        let stop = &options.lig.stop;
        let generated = greedy_continuation(&lm, &enc.ids, options.max_new_tokens, eos, stop)?;
        let attributions = match options.method {
            GenerationMethod::LayerIntegratedGradients => {
                generation_lig(&lm, &enc.ids, &generated, *baseline_id, &options.lig)?
            }
            GenerationMethod::Ablation => {
                generation_ablation(&lm, &enc.ids, &generated, *baseline_id, stop)?
            }
        };
        let generated_tokens = generated
            .iter()
            .map(|&id| self.tokenizer.id_to_token(id).unwrap_or_default())
            .collect();
        Ok(GenerationExplanation {
            prompt: prompt.to_string(),
            prompt_tokens: enc.tokens,
            prompt_offsets: enc.offsets,
            generated_tokens,
            generated_text: self.tokenizer.decode(&generated, false)?,
            attributions,
        })
    }
}
