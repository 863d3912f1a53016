//! A sentence-transformers directory wrapped for inference on raw strings:
//! [`TextEmbedder`] tokenizes, pads per batch (texts of similar length batched together),
//! runs without a graph, and returns rows in input order. An input longer than the model's
//! limit is an error naming the limit unless [`LongInputs::Truncate`] is chosen. (The text
//! classifier is [`crate::text::TextClassifier`].)

use std::path::Path;

use glassbox_hf::{l2_normalize, SentenceEmbedder};
use ndarray::Array2;

use crate::error::Result;
use crate::text::batching::{batched, LongInputs, Tokenizers};

/// A sentence-transformers directory ready to embed raw texts.
#[derive(Debug)]
pub struct TextEmbedder {
    inner: SentenceEmbedder,
    tokenizers: Tokenizers,
}

impl TextEmbedder {
    /// Loads the directory ([`SentenceEmbedder::from_dir`]).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let inner = SentenceEmbedder::from_dir(dir)?;
        let limit = inner.model.config.max_position_embeddings;
        let tokenizers = Tokenizers::new(inner.tokenizer.clone(), limit)?;
        Ok(TextEmbedder { inner, tokenizers })
    }

    /// The model (encoder, tokenizer, pooling, normalisation).
    pub fn sentence_embedder(&self) -> &SentenceEmbedder {
        &self.inner
    }

    /// Width of an embedding.
    pub fn dim(&self) -> usize {
        self.inner.model.config.hidden_size
    }

    /// The longest input in tokens (special tokens included).
    pub fn max_length(&self) -> usize {
        self.inner.model.config.max_position_embeddings
    }

    /// Sentence embeddings `[texts, dim]`: pooled as `1_Pooling/config.json` says, then
    /// L2-normalised when `modules.json` lists `Normalize`.
    pub fn embed(&self, texts: &[&str], long: LongInputs) -> Result<Array2<f32>> {
        let tok = self.tokenizers.pick(long);
        let ids: Vec<Vec<u32>> = tok
            .encode_batch(texts, true)?
            .into_iter()
            .map(|e| e.ids)
            .collect();
        batched(&ids, tok.pad_id(), self.dim(), |b| {
            let hidden = self.inner.last_hidden_state(b)?;
            let pooled = self.inner.pooling.pool(&hidden, b)?;
            Ok(if self.inner.normalize {
                l2_normalize(&pooled)?
            } else {
                pooled
            })
        })
    }
}
