//! Sentence embeddings as sentence-transformers computes them: a BERT encoder, the pooling
//! named in `1_Pooling/config.json`, then L2 normalisation when the model lists a
//! `Normalize` module (all-MiniLM-L6-v2 does).

use std::path::Path;

use glassbox_autograd::no_grad;
use glassbox_tensor::Tensor;

use crate::batch::Batch;
use crate::bert::{BertModel, BertOutputs};
use crate::config::Fields;
use crate::error::{HfError, Result};
use crate::tokenizer::Tokenizer;

/// How token vectors become one sentence vector (padding always excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The `[CLS]` token's vector.
    Cls,
    /// The mean over tokens (special tokens included, as sentence-transformers).
    Mean,
    /// The elementwise maximum over tokens.
    Max,
    /// The sum over tokens divided by √(number of tokens).
    MeanSqrtLen,
}

impl Pooling {
    /// Reads `1_Pooling/config.json`: exactly one `pooling_mode_*` flag must be true.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let f = Fields::read(path.as_ref())?;
        let modes = [
            ("pooling_mode_cls_token", Pooling::Cls),
            ("pooling_mode_mean_tokens", Pooling::Mean),
            ("pooling_mode_max_tokens", Pooling::Max),
            ("pooling_mode_mean_sqrt_len_tokens", Pooling::MeanSqrtLen),
        ];
        let mut chosen = Vec::new();
        for (field, mode) in modes {
            if f.or(field, false)? {
                chosen.push((field, mode));
            }
        }
        for other in ["pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"] {
            if f.or(other, false)? {
                return Err(f.error(other, "this pooling mode is not supported"));
            }
        }
        match chosen.as_slice() {
            [(_, mode)] => Ok(*mode),
            [] => Err(f.error("pooling_mode_*", "no pooling mode is set")),
            many => Err(f.error(
                many[1].0,
                "several pooling modes are set; only one is supported",
            )),
        }
    }

    /// Pools `hidden` (`[batch, seq_len, width]`, contiguous values) over the real tokens
    /// of `batch`: `[batch, width]`.
    pub fn pool(self, hidden: &Tensor, batch: &Batch) -> Result<Tensor> {
        let (b, l) = (batch.batch, batch.seq_len);
        let w = hidden.shape().last().copied().unwrap_or(0);
        if hidden.shape() != [b, l, w] {
            return Err(HfError::InvalidInput {
                what: "hidden states".into(),
                reason: format!(
                    "shape {:?} does not match the batch {b} x {l}",
                    hidden.shape()
                ),
            });
        }
        let h = hidden.contiguous();
        let h = h.as_slice().expect("contiguous");
        let mut out = vec![0.0f32; b * w];
        for (r, row_out) in out.chunks_mut(w).enumerate() {
            let mask = &batch.attention_mask[r * l..(r + 1) * l];
            let real: Vec<usize> = (0..l).filter(|&i| mask[i] == 1).collect();
            let token = |i: usize| &h[(r * l + i) * w..(r * l + i + 1) * w];
            match self {
                Pooling::Cls => row_out.copy_from_slice(token(0)),
                Pooling::Max => {
                    row_out.fill(f32::NEG_INFINITY);
                    for &i in &real {
                        row_out
                            .iter_mut()
                            .zip(token(i))
                            .for_each(|(o, v)| *o = o.max(*v));
                    }
                }
                Pooling::Mean | Pooling::MeanSqrtLen => {
                    let mut acc = vec![0.0f64; w];
                    for &i in &real {
                        acc.iter_mut()
                            .zip(token(i))
                            .for_each(|(a, v)| *a += f64::from(*v));
                    }
                    let n = real.len().max(1) as f64;
                    let d = if self == Pooling::Mean { n } else { n.sqrt() };
                    row_out
                        .iter_mut()
                        .zip(&acc)
                        .for_each(|(o, a)| *o = (a / d) as f32);
                }
            }
        }
        Ok(Tensor::from_vec(out, &[b, w])?)
    }
}

/// Rows scaled to unit L2 norm (sentence-transformers' `Normalize`, eps 1e-12).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let w = x.shape().last().copied().unwrap_or(1).max(1);
    let mut v = x.contiguous().to_vec();
    for row in v.chunks_mut(w) {
        let norm = row
            .iter()
            .map(|a| f64::from(*a).powi(2))
            .sum::<f64>()
            .sqrt();
        let d = norm.max(1e-12);
        row.iter_mut().for_each(|a| *a = (f64::from(*a) / d) as f32);
    }
    Ok(Tensor::from_vec(v, x.shape())?)
}

/// A sentence-transformers model directory (all-MiniLM-L6-v2 and its kind): tokenizer,
/// BERT encoder, pooling and optional normalisation.
///
/// ```no_run
/// let st = glassbox_hf::SentenceEmbedder::from_dir("../shared/models/all-MiniLM-L6-v2")?;
/// let e = st.embed(&["A man is eating food.", "A man is riding a horse."])?;
/// assert_eq!(e.shape(), &[2, 384]);
/// # Ok::<(), glassbox_hf::HfError>(())
/// ```
#[derive(Debug)]
pub struct SentenceEmbedder {
    /// The encoder.
    pub model: BertModel,
    /// Its tokenizer (limit: the model's `max_position_embeddings`).
    pub tokenizer: Tokenizer,
    /// The pooling of `1_Pooling/config.json`.
    pub pooling: Pooling,
    /// Whether embeddings are L2-normalised (a `Normalize` module in `modules.json`).
    pub normalize: bool,
}

impl SentenceEmbedder {
    /// Loads the model from `dir` (`config.json`, `model.safetensors`, `tokenizer.json`,
    /// `1_Pooling/config.json`, `modules.json`).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let model = BertModel::from_dir(dir)?;
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?
            .with_limit(model.config.max_position_embeddings);
        let pooling = Pooling::from_file(dir.join("1_Pooling").join("config.json"))?;
        let modules_path = dir.join("modules.json");
        let normalize = if modules_path.is_file() {
            let text = std::fs::read_to_string(&modules_path)
                .map_err(|e| HfError::io(&modules_path, e))?;
            let modules: Vec<serde_json::Value> =
                serde_json::from_str(&text).map_err(|e| HfError::Config {
                    file: modules_path.display().to_string(),
                    field: "<root>".into(),
                    reason: format!("expected a JSON array of modules: {e}"),
                })?;
            modules.iter().any(|m| {
                m.get("type")
                    .and_then(|t| t.as_str())
                    .is_some_and(|t| t.ends_with(".Normalize"))
            })
        } else {
            false
        };
        Ok(SentenceEmbedder {
            model,
            tokenizer,
            pooling,
            normalize,
        })
    }

    /// The tokenized, padded batch of `texts`.
    pub fn batch(&self, texts: &[&str]) -> Result<Batch> {
        let enc = self.tokenizer.encode_batch(texts, true)?;
        Batch::from_encodings(&enc, self.tokenizer.pad_id())
    }

    /// The last hidden states `[batch, seq_len, hidden]` of `batch` (no graph).
    pub fn last_hidden_state(&self, batch: &Batch) -> Result<Tensor> {
        no_grad(|| {
            Ok(self
                .model
                .forward(batch, BertOutputs::default())?
                .last_hidden_state
                .value())
        })
    }

    /// Sentence embeddings `[texts, hidden]` (pooled, then normalised when the model
    /// says so).
    pub fn embed(&self, texts: &[&str]) -> Result<Tensor> {
        let batch = self.batch(texts)?;
        let hidden = self.last_hidden_state(&batch)?;
        let pooled = self.pooling.pool(&hidden, &batch)?;
        if self.normalize {
            l2_normalize(&pooled)
        } else {
            Ok(pooled)
        }
    }
}

/// Cosine similarities `[n, n]` of the rows of `x` (`[n, width]`).
pub fn cosine_matrix(x: &Tensor) -> Result<Tensor> {
    let u = l2_normalize(x)?;
    Ok(u.try_matmul(&u.try_t()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_excludes_padding() {
        // Two rows of three tokens, width 2; row 1 has one padding token.
        let h = Tensor::from_vec(
            vec![
                1.0, 2.0, 3.0, 4.0, 5.0, -6.0, 7.0, 8.0, 9.0, 10.0, 100.0, 100.0,
            ],
            &[2, 3, 2],
        )
        .unwrap();
        let b = Batch::from_ids(&[vec![1, 1, 1], vec![1, 1]], 0).unwrap();
        let mean = Pooling::Mean.pool(&h, &b).unwrap().to_vec();
        assert_eq!(mean, vec![3.0, 0.0, 8.0, 9.0]);
        let max = Pooling::Max.pool(&h, &b).unwrap().to_vec();
        assert_eq!(max, vec![5.0, 4.0, 9.0, 10.0]);
        let cls = Pooling::Cls.pool(&h, &b).unwrap().to_vec();
        assert_eq!(cls, vec![1.0, 2.0, 7.0, 8.0]);
        let sq = Pooling::MeanSqrtLen.pool(&h, &b).unwrap().to_vec();
        assert!((sq[2] - 16.0 / 2f32.sqrt()).abs() < 1e-5);
        let n = l2_normalize(&Tensor::from_vec(vec![3.0, 4.0], &[1, 2]).unwrap()).unwrap();
        assert_eq!(n.to_vec(), vec![0.6, 0.8]);
    }
}
