//! [`TextGenerator`]: a `GPT2LMHeadModel` directory with its tokenizer, continuing a text
//! prompt (greedy or seeded sampling, stop strings, the end-of-text id) with the
//! key/value cache of `glassbox-hf`.

use std::path::Path;

use glassbox_hf::{GenerateOptions, Gpt2LmHeadModel, StopReason, Tokenizer};

use crate::error::{Error, Result};

/// The continuation of a prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The prompt's token ids.
    pub prompt_ids: Vec<u32>,
    /// The new token ids (the prompt excluded; a stop id is included).
    pub ids: Vec<u32>,
    /// The new text (ending before a stop string).
    pub text: String,
    /// Why generation ended.
    pub stop: StopReason,
}

/// A causal language model (`GPT2LMHeadModel`) ready to continue raw text.
///
/// ```
/// use glassbox::TextGenerator;
/// use glassbox::hf::GenerateOptions;
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/transformers/gpt2_tiny");
/// let gpt = TextGenerator::from_dir(dir)?;
/// let opts = GenerateOptions { max_new_tokens: 5, ..GenerateOptions::default() };
/// let g = gpt.generate("The meeting is moved to", &opts)?;
/// assert_eq!(g.ids.len(), 5); // greedy, no stop
/// # Ok::<(), glassbox::Error>(())
/// ```
#[derive(Debug)]
pub struct TextGenerator {
    model: Gpt2LmHeadModel,
    tokenizer: Tokenizer,
}

impl TextGenerator {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let model = Gpt2LmHeadModel::from_dir(dir)?;
        let tokenizer =
            Tokenizer::from_file(dir.join("tokenizer.json"))?.with_limit(model.config.n_positions);
        Ok(TextGenerator { model, tokenizer })
    }

    /// The network.
    pub fn model(&self) -> &Gpt2LmHeadModel {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The end-of-text id of `config.json` (`eos_token_id`), when it names one.
    pub fn eos_id(&self) -> Option<u32> {
        self.model
            .config
            .eos_token_id
            .and_then(|id| u32::try_from(id).ok())
    }

    /// The context length: prompt plus new tokens must fit in it.
    pub fn max_length(&self) -> usize {
        self.model.config.n_positions
    }

    /// Continues `prompt`. The prompt plus `opts.max_new_tokens` must fit in the
    /// context (else an `InputTooLong` error naming both); an empty prompt is an error.
    pub fn generate(&self, prompt: &str, opts: &GenerateOptions) -> Result<Generation> {
        let prompt_ids = self.tokenizer.encode(prompt, true)?.ids;
        if prompt_ids.is_empty() {
            return Err(Error::Hf(glassbox_hf::HfError::InvalidInput {
                what: "prompt".into(),
                reason: "is empty (no tokens to continue)".into(),
            }));
        }
        let g = self
            .model
            .generate(&prompt_ids, opts, Some(&self.tokenizer))?;
        Ok(Generation {
            prompt_ids,
            ids: g.ids,
            text: g.text.unwrap_or_default(),
            stop: g.stop,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_hf::Decoding;

    #[test]
    fn greedy_generation_reproduces_transformers() {
        let dir = glassbox_testkit::reference_path("transformers/gpt2_tiny");
        let r = glassbox_testkit::reference_json("transformers/gpt2_tiny/reference.json");
        let gpt = TextGenerator::from_dir(&dir).unwrap();
        let opts = GenerateOptions {
            max_new_tokens: 20,
            ..GenerateOptions::default()
        };
        for case in r["cases"].as_array().unwrap() {
            let g = gpt
                .generate(case["prompt"].as_str().unwrap(), &opts)
                .unwrap();
            let ids = |v: &serde_json::Value| -> Vec<u32> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as u32)
                    .collect()
            };
            assert_eq!(g.prompt_ids, ids(&case["input_ids"]));
            assert_eq!(g.ids, ids(&case["greedy_ids"]));
            assert_eq!(g.text, case["greedy_text"].as_str().unwrap());
        }
    }

    #[test]
    fn errors_name_the_limit_and_the_option() {
        let dir = glassbox_testkit::reference_path("transformers/gpt2_tiny");
        let gpt = TextGenerator::from_dir(&dir).unwrap();
        let opts = GenerateOptions {
            max_new_tokens: 60,
            ..GenerateOptions::default()
        };
        let e = gpt.generate("Click here to claim", &opts).unwrap_err();
        assert!(e.to_string().contains("limit of 64"), "{e}");
        let e = gpt.generate("", &GenerateOptions::default()).unwrap_err();
        assert!(e.to_string().contains("prompt"), "{e}");
        let bad = GenerateOptions {
            decoding: Decoding::Sample {
                temperature: 0.0,
                top_k: None,
                top_p: None,
                seed: 1,
            },
            ..GenerateOptions::default()
        };
        let e = gpt.generate("Hi", &bad).unwrap_err();
        assert!(e.to_string().contains("temperature"), "{e}");
    }
}
