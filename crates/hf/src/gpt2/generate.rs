//! Text generation with [`Gpt2LmHeadModel`]: greedy or seeded sampling (temperature,
//! top-k, top-p), a token budget, and stops on ids or strings.

use glassbox_autograd::no_grad;
use glassbox_tensor::rng::Rng;

use super::model::{Gpt2Cache, Gpt2LmHeadModel};
use crate::batch::Batch;
use crate::error::{HfError, Result};
use crate::tokenizer::Tokenizer;

/// How the next token is chosen from the logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decoding {
    /// The most likely token (the first one on ties, as `torch.argmax`).
    Greedy,
    /// A draw from the softmax of `logits / temperature`, restricted to the `top_k` most
    /// likely tokens and then to the smallest set whose probability reaches `top_p`
    /// (Hugging Face's order of warpers), from a generator seeded with `seed`.
    Sample {
        /// Divides the logits; must be positive.
        temperature: f32,
        /// Keep only the `k` most likely tokens (ties with the k-th kept).
        top_k: Option<usize>,
        /// Keep the most likely tokens until their probability reaches `p` (in (0, 1]).
        top_p: Option<f32>,
        /// Seed of the draws: the same seed gives the same text.
        seed: u64,
    },
}

/// Options of [`Gpt2LmHeadModel::generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Most tokens to add.
    pub max_new_tokens: usize,
    /// Greedy or sampling.
    pub decoding: Decoding,
    /// Stop after generating one of these ids (it is kept in the output).
    pub stop_ids: Vec<u32>,
    /// Stop once the generated text contains one of these strings (needs a tokenizer);
    /// the returned text ends before it.
    pub stop_strings: Vec<String>,
    /// Decode with the key/value cache (default); `false` reruns the whole sequence at
    /// every step.
    pub use_cache: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_new_tokens: 20,
            decoding: Decoding::Greedy,
            stop_ids: Vec::new(),
            stop_strings: Vec::new(),
            use_cache: true,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// `max_new_tokens` were generated.
    MaxNewTokens,
    /// This stop id was generated.
    StopId(u32),
    /// This stop string appeared in the text.
    StopString(String),
}

/// The result of [`Gpt2LmHeadModel::generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The new token ids (the prompt excluded).
    pub ids: Vec<u32>,
    /// Their text, when a tokenizer was given.
    pub text: Option<String>,
    /// Why generation ended.
    pub stop: StopReason,
}

impl Gpt2LmHeadModel {
    /// Continues `prompt` (token ids). Runs without a graph. The prompt plus
    /// `max_new_tokens` must fit in `n_positions` (else [`HfError::InputTooLong`]).
    pub fn generate(
        &self,
        prompt: &[u32],
        opts: &GenerateOptions,
        tokenizer: Option<&Tokenizer>,
    ) -> Result<Generated> {
        self.generate_with(prompt, opts, tokenizer, &mut |_, _| Ok(()))
    }

    /// [`Gpt2LmHeadModel::generate`], calling `on_token(id, text)` after each new token
    /// that does not end generation on a stop string, as it is generated (for streaming):
    /// `text` is the decoding of every new token so far (empty without a tokenizer). An
    /// error from `on_token` ends generation and is returned as it is.
    pub fn generate_with(
        &self,
        prompt: &[u32],
        opts: &GenerateOptions,
        tokenizer: Option<&Tokenizer>,
        on_token: &mut dyn FnMut(u32, &str) -> Result<()>,
    ) -> Result<Generated> {
        check_options(opts, tokenizer.is_some())?;
        if prompt.is_empty() {
            return Err(invalid("prompt", "must hold at least one token".into()));
        }
        let total = prompt.len() + opts.max_new_tokens;
        if total > self.config.n_positions {
            return Err(HfError::InputTooLong {
                what: "prompt + max_new_tokens (GPT-2 n_positions)".into(),
                length: total,
                limit: self.config.n_positions,
            });
        }
        let mut rng = match opts.decoding {
            Decoding::Sample { seed, .. } => Rng::new(seed),
            Decoding::Greedy => Rng::new(0),
        };
        no_grad(|| {
            let mut cache = Gpt2Cache::default();
            let mut all = prompt.to_vec();
            let mut new = Vec::with_capacity(opts.max_new_tokens);
            let mut logits = self.next_logits(&all, opts.use_cache, &mut cache, prompt)?;
            let mut stop = StopReason::MaxNewTokens;
            let mut text = None;
            while new.len() < opts.max_new_tokens {
                let token = choose(&logits, opts.decoding, &mut rng)?;
                new.push(token);
                all.push(token);
                let mut so_far = String::new();
                if let Some(tok) = tokenizer {
                    let t = tok.decode(&new, false)?;
                    if let Some((s, at)) = opts
                        .stop_strings
                        .iter()
                        .filter_map(|s| t.find(s.as_str()).map(|at| (s, at)))
                        .min_by_key(|(_, at)| *at)
                    {
                        stop = StopReason::StopString(s.clone());
                        text = Some(t[..at].to_string());
                        break;
                    }
                    so_far = t;
                }
                on_token(token, &so_far)?;
                if opts.stop_ids.contains(&token) {
                    stop = StopReason::StopId(token);
                    break;
                }
                if new.len() < opts.max_new_tokens {
                    logits = self.next_logits(&all, opts.use_cache, &mut cache, &[token])?;
                }
            }
            if text.is_none() {
                text = tokenizer.map(|t| t.decode(&new, false)).transpose()?;
            }
            Ok(Generated {
                ids: new,
                text,
                stop,
            })
        })
    }

    /// Logits of the next token: with the cache, feed only `fresh`; without, rerun `all`.
    fn next_logits(
        &self,
        all: &[u32],
        use_cache: bool,
        cache: &mut Gpt2Cache,
        fresh: &[u32],
    ) -> Result<Vec<f32>> {
        let logits = if use_cache {
            self.forward_cached(fresh, 1, cache)?
        } else {
            self.forward(&Batch::from_ids(&[all.to_vec()], 0)?)?
        };
        let v = self.config.vocab_size;
        let values = logits.value().contiguous();
        let values = values.as_slice().expect("contiguous");
        Ok(values[values.len() - v..].to_vec())
    }
}

fn invalid(what: &str, reason: String) -> HfError {
    HfError::InvalidInput {
        what: what.to_string(),
        reason,
    }
}

fn check_options(opts: &GenerateOptions, has_tokenizer: bool) -> Result<()> {
    if !opts.stop_strings.is_empty() && !has_tokenizer {
        return Err(invalid(
            "stop_strings",
            "stopping on strings needs a tokenizer".into(),
        ));
    }
    if opts.stop_strings.iter().any(String::is_empty) {
        return Err(invalid("stop_strings", "a stop string is empty".into()));
    }
    if let Decoding::Sample {
        temperature,
        top_k,
        top_p,
        ..
    } = opts.decoding
    {
        if temperature.is_nan() || temperature <= 0.0 || temperature.is_infinite() {
            return Err(invalid(
                "temperature",
                format!("{temperature} must be positive"),
            ));
        }
        if top_k == Some(0) {
            return Err(invalid("top_k", "must be at least 1".into()));
        }
        if let Some(p) = top_p {
            if p.is_nan() || p <= 0.0 || p > 1.0 {
                return Err(invalid("top_p", format!("{p} must be in (0, 1]")));
            }
        }
    }
    Ok(())
}

/// The next token from `logits` (one row over the vocabulary).
pub(crate) fn choose(logits: &[f32], decoding: Decoding, rng: &mut Rng) -> Result<u32> {
    if logits.iter().any(|v| v.is_nan()) {
        return Err(invalid("logits", "contain NaN".into()));
    }
    match decoding {
        Decoding::Greedy => Ok(glassbox_tensor::ops::reduce::argmax(logits) as u32),
        Decoding::Sample {
            temperature,
            top_k,
            top_p,
            ..
        } => {
            let probs = sampling_distribution(logits, temperature, top_k, top_p);
            let u = rng.uniform();
            let mut acc = 0.0;
            let mut last = 0;
            for (i, &p) in probs.iter().enumerate() {
                if p > 0.0 {
                    acc += p;
                    last = i;
                    if u < acc {
                        return Ok(i as u32);
                    }
                }
            }
            Ok(last as u32)
        }
    }
}

/// The probabilities the sampler draws from (f64, zero outside the kept set).
pub(crate) fn sampling_distribution(
    logits: &[f32],
    temperature: f32,
    top_k: Option<usize>,
    top_p: Option<f32>,
) -> Vec<f64> {
    let mut scores: Vec<f64> = logits.iter().map(|&v| f64::from(v / temperature)).collect();
    if let Some(k) = top_k.filter(|&k| k < scores.len()) {
        let mut sorted = scores.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let kth = sorted[k - 1];
        scores
            .iter_mut()
            .filter(|s| **s < kth)
            .for_each(|s| *s = f64::NEG_INFINITY);
    }
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut probs: Vec<f64> = scores.iter().map(|&s| (s - max).exp()).collect();
    let sum: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= sum);
    if let Some(p) = top_p.filter(|&p| p < 1.0) {
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
        let mut acc = 0.0;
        let mut keep = order.len();
        for (n, &i) in order.iter().enumerate() {
            acc += probs[i];
            if acc >= f64::from(p) {
                keep = n + 1;
                break;
            }
        }
        for &i in &order[keep..] {
            probs[i] = 0.0;
        }
        let sum: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|q| *q /= sum);
    }
    probs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_and_top_p_keep_the_expected_tokens() {
        // softmax([ln 4, ln 3, ln 2, ln 1]) = [0.4, 0.3, 0.2, 0.1]
        let logits: Vec<f32> = [4.0f32, 3.0, 2.0, 1.0].iter().map(|v| v.ln()).collect();
        let p = sampling_distribution(&logits, 1.0, None, None);
        assert!((p[0] - 0.4).abs() < 1e-6 && (p[3] - 0.1).abs() < 1e-6);
        let p = sampling_distribution(&logits, 1.0, Some(2), None);
        assert!((p[0] - 4.0 / 7.0).abs() < 1e-6 && p[2] == 0.0 && p[3] == 0.0);
        // top_p 0.65: 0.4 + 0.3 reaches it, so two tokens stay.
        let p = sampling_distribution(&logits, 1.0, None, Some(0.65));
        assert!((p[1] - 3.0 / 7.0).abs() < 1e-6 && p[2] == 0.0);
        // A low temperature sharpens: ratios become (4/3)^(1/0.5).
        let p = sampling_distribution(&logits, 0.5, None, None);
        assert!((p[0] / p[1] - 16.0 / 9.0).abs() < 1e-5);
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_follows_the_distribution() {
        let logits: Vec<f32> = [4.0f32, 3.0, 2.0, 1.0].iter().map(|v| v.ln()).collect();
        let d = Decoding::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: None,
            seed: 3,
        };
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..4000)
                .map(|_| choose(&logits, d, &mut rng).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        let counts = draw(5).iter().fold([0usize; 4], |mut c, &t| {
            c[t as usize] += 1;
            c
        });
        for (c, p) in counts.iter().zip([0.4, 0.3, 0.2, 0.1]) {
            // 4000 draws: a standard deviation of at most 0.008.
            assert!((*c as f64 / 4000.0 - p).abs() < 0.03, "{counts:?}");
        }
        let mut rng = Rng::new(0);
        assert_eq!(
            choose(&[0.0, 2.0, 2.0], Decoding::Greedy, &mut rng).unwrap(),
            1
        );
        assert!(choose(&[f32::NAN], Decoding::Greedy, &mut rng).is_err());
    }

    #[test]
    fn bad_options_are_named() {
        let mut o = GenerateOptions {
            decoding: Decoding::Sample {
                temperature: 0.0,
                top_k: None,
                top_p: None,
                seed: 0,
            },
            ..GenerateOptions::default()
        };
        assert!(check_options(&o, true)
            .unwrap_err()
            .to_string()
            .starts_with("temperature"));
        o.decoding = Decoding::Greedy;
        o.stop_strings = vec!["x".into()];
        assert!(check_options(&o, false)
            .unwrap_err()
            .to_string()
            .starts_with("stop_strings"));
    }
}
