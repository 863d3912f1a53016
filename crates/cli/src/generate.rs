//! `glassbox generate`: continue a prompt with a Hugging Face causal language model
//! (`GPT2LMHeadModel`), greedy by default or by seeded sampling.

use std::path::PathBuf;

use clap::Args;
use glassbox::hf::{Decoding, GenerateOptions, StopReason};
use serde_json::json;

use crate::error::{usage, CliResult};
use crate::models::{open_model, wrong_kind};

/// Flags of `glassbox generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A Hugging Face directory holding a GPT2LMHeadModel (config.json, model.safetensors,
    /// tokenizer.json).
    #[arg(long, value_parser = crate::path_arg)]
    pub model: PathBuf,
    /// The text to continue.
    #[arg(long)]
    pub prompt: String,
    /// Most tokens to add (the prompt plus these must fit in the model's context).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_new_tokens: usize,
    /// Sample instead of greedy decoding: divide the logits by T (> 0). Any of
    /// `--temperature`, `--top-k`, `--top-p`, `--seed` switches sampling on.
    #[arg(long, value_name = "T")]
    pub temperature: Option<f32>,
    /// Sample among the K most likely tokens only.
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,
    /// Sample among the most likely tokens whose probability adds up to P (in (0, 1]).
    #[arg(long, value_name = "P")]
    pub top_p: Option<f32>,
    /// Seed of the sampler (default 0): the same seed gives the same text.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Stop when the generated text contains STR (repeatable); the text ends before it.
    #[arg(long, value_name = "STR")]
    pub stop: Vec<String>,
    /// Keep generating after the end-of-text token (config.json's `eos_token_id`), which
    /// otherwise ends generation as in transformers.
    #[arg(long)]
    pub ignore_eos: bool,
    /// Print one JSON object (prompt ids, new ids, text, why it stopped) instead of the
    /// text alone.
    #[arg(long)]
    pub json: bool,
}

impl GenerateArgs {
    fn decoding(&self) -> CliResult<Decoding> {
        let sampling = self.temperature.is_some()
            || self.top_k.is_some()
            || self.top_p.is_some()
            || self.seed.is_some();
        if !sampling {
            return Ok(Decoding::Greedy);
        }
        let temperature = self.temperature.unwrap_or(1.0);
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(usage(format!(
                "invalid value '{temperature}' for '--temperature': must be > 0 (leave out \
                 the sampling flags for greedy decoding)"
            )));
        }
        if self.top_k == Some(0) {
            return Err(usage("invalid value '0' for '--top-k': must be at least 1"));
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                return Err(usage(format!(
                    "invalid value '{p}' for '--top-p': must be in (0, 1]"
                )));
            }
        }
        Ok(Decoding::Sample {
            temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            seed: self.seed.unwrap_or(0),
        })
    }
}

fn stop_name(s: &StopReason) -> serde_json::Value {
    match s {
        StopReason::MaxNewTokens => json!({"reason": "max_new_tokens"}),
        StopReason::StopId(id) => json!({"reason": "eos", "id": id}),
        StopReason::StopString(s) => json!({"reason": "stop_string", "string": s}),
    }
}

/// Runs `glassbox generate`.
pub fn run(a: GenerateArgs) -> CliResult<()> {
    let decoding = a.decoding()?;
    if a.max_new_tokens == 0 {
        return Err(usage(
            "invalid value '0' for '--max-new-tokens': must be at least 1",
        ));
    }
    if a.prompt.is_empty() {
        return Err(usage(
            "invalid value '' for '--prompt': the prompt is empty",
        ));
    }
    if a.stop.iter().any(String::is_empty) {
        return Err(usage(
            "invalid value '' for '--stop': a stop string is empty",
        ));
    }
    let model = open_model(&a.model)?;
    let gpt = model.text_generator().map_err(|e| wrong_kind(&model, e))?;
    // The prompt alone must fit (else the tokenizer's error names the limit); what is
    // left of the context bounds --max-new-tokens.
    let prompt_len = gpt.tokenizer().encode(&a.prompt, true)?.len();
    let room = gpt.max_length().saturating_sub(prompt_len);
    if a.max_new_tokens > room {
        return Err(usage(format!(
            "invalid value '{}' for '--max-new-tokens': the prompt has {prompt_len} tokens \
             and the model's context is {} (n_positions), so at most {room} new tokens fit",
            a.max_new_tokens,
            gpt.max_length()
        )));
    }
    let opts = GenerateOptions {
        max_new_tokens: a.max_new_tokens,
        decoding,
        stop_ids: if a.ignore_eos {
            Vec::new()
        } else {
            gpt.eos_id().into_iter().collect()
        },
        stop_strings: a.stop.clone(),
        use_cache: true,
    };
    let g = gpt.generate(&a.prompt, &opts)?;
    if a.json {
        let v = json!({
            "model": a.model.display().to_string(),
            "prompt": a.prompt,
            "prompt_ids": g.prompt_ids,
            "ids": g.ids,
            "text": g.text,
            "stop": stop_name(&g.stop),
            "decoding": match decoding {
                Decoding::Greedy => json!({"method": "greedy"}),
                Decoding::Sample { temperature, top_k, top_p, seed } => json!({
                    "method": "sample", "temperature": temperature, "top_k": top_k,
                    "top_p": top_p, "seed": seed,
                }),
            },
        });
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        println!("{}", g.text);
    }
    Ok(())
}
