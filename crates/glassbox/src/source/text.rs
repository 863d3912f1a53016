//! Text models of a Hugging Face directory wrapped for inference on raw strings: a
//! [`TextClassifier`] (`BertForSequenceClassification` + its tokenizer + `id2label`) and a
//! [`TextEmbedder`] (a sentence-transformers model). Both tokenize, pad per batch (texts
//! of similar length batched together), run without a graph, and return rows in input
//! order. An input longer than the model's limit is an error naming the limit unless
//! [`LongInputs::Truncate`] is chosen.

use std::path::Path;

use glassbox_autograd::no_grad;
use glassbox_data::convert::argmax_rows;
use glassbox_hf::{
    l2_normalize, Batch, BertForSequenceClassification, Encoding, SentenceEmbedder, Tokenizer,
    Truncation,
};
use glassbox_tensor::Tensor;
use ndarray::Array2;

use crate::error::Result;
use crate::model::Predictions;

/// Texts run through the model per forward pass.
pub const TEXT_BATCH: usize = 32;

/// What to do with a text longer than the model's limit (`max_position_embeddings`
/// tokens, special tokens included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LongInputs {
    /// An [`HfError::InputTooLong`](glassbox_hf::HfError::InputTooLong) naming the text,
    /// its length and the limit (the default: nothing is cut silently).
    #[default]
    Error,
    /// Keep the first tokens up to the limit (the final `[SEP]` is kept).
    Truncate,
}

/// A tokenizer that errors on over-long input and its truncating twin, both at `limit`.
#[derive(Debug)]
struct Tokenizers {
    strict: Tokenizer,
    truncating: Tokenizer,
}

impl Tokenizers {
    fn new(tokenizer: Tokenizer, limit: usize) -> Result<Self> {
        let strict = tokenizer.with_limit(limit);
        let truncating = strict
            .clone()
            .with_truncation(Truncation::LongestFirst { max_length: limit })?;
        Ok(Tokenizers { strict, truncating })
    }

    fn pick(&self, long: LongInputs) -> &Tokenizer {
        match long {
            LongInputs::Error => &self.strict,
            LongInputs::Truncate => &self.truncating,
        }
    }
}

/// Runs `f` on batches of at most [`TEXT_BATCH`] encodings of similar length and puts
/// the `[rows, width]` results back in input order.
fn batched(
    encodings: &[Encoding],
    pad_id: u32,
    width: usize,
    mut f: impl FnMut(&Batch) -> Result<Tensor>,
) -> Result<Array2<f32>> {
    let mut order: Vec<usize> = (0..encodings.len()).collect();
    order.sort_by_key(|&i| encodings[i].len());
    let mut out = Array2::zeros((encodings.len(), width));
    for chunk in order.chunks(TEXT_BATCH) {
        let part: Vec<Encoding> = chunk.iter().map(|&i| encodings[i].clone()).collect();
        let batch = Batch::from_encodings(&part, pad_id)?;
        let rows = f(&batch)?.contiguous();
        let values = rows.as_slice().expect("contiguous");
        for (k, &i) in chunk.iter().enumerate() {
            out.row_mut(i)
                .as_slice_mut()
                .expect("standard layout")
                .copy_from_slice(&values[k * width..(k + 1) * width]);
        }
    }
    Ok(out)
}

/// A `BertForSequenceClassification` directory ready to classify raw texts.
///
/// ```
/// use glassbox::{LongInputs, Predictions, TextClassifier};
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/transformers/bert_tiny");
/// let clf = TextClassifier::from_dir(dir)?;
/// let p = clf.predict(&["Free money!!!", "Re: the meeting"], LongInputs::Error)?;
/// let Predictions::Classes { labels, probabilities, .. } = p else { unreachable!() };
/// assert_eq!(probabilities.shape(), &[2, 3]);
/// assert!(labels.iter().all(|l| clf.labels().contains(l)));
/// # Ok::<(), glassbox::Error>(())
/// ```
#[derive(Debug)]
pub struct TextClassifier {
    model: BertForSequenceClassification,
    tokenizers: Tokenizers,
    labels: Vec<String>,
}

impl TextClassifier {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`. Class
    /// names come from `id2label` (`LABEL_{i}` when absent, as in transformers).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let model = BertForSequenceClassification::from_dir(dir)?;
        let config = &model.bert.config;
        let labels = config.labels.clone().unwrap_or_else(|| {
            (0..model.num_labels())
                .map(|i| format!("LABEL_{i}"))
                .collect()
        });
        let limit = config.max_position_embeddings;
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
        Ok(TextClassifier {
            tokenizers: Tokenizers::new(tokenizer, limit)?,
            model,
            labels,
        })
    }

    /// Class names in output order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The longest input in tokens (special tokens included).
    pub fn max_length(&self) -> usize {
        self.model.bert.config.max_position_embeddings
    }

    /// The network.
    pub fn model(&self) -> &BertForSequenceClassification {
        &self.model
    }

    /// The tokenizer (over-long input is an error).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizers.strict
    }

    /// Logits `[texts, classes]`. Every text is tokenized (and checked against the
    /// limit) before the first forward pass.
    pub fn logits(&self, texts: &[&str], long: LongInputs) -> Result<Array2<f32>> {
        let tok = self.tokenizers.pick(long);
        let encodings = tok.encode_batch(texts, true)?;
        batched(&encodings, tok.pad_id(), self.model.num_labels(), |b| {
            Ok(no_grad(|| self.model.forward(b))?.value())
        })
    }

    /// Class probabilities (softmax of the logits), predicted class indices (the first
    /// on ties) and names.
    pub fn predict(&self, texts: &[&str], long: LongInputs) -> Result<Predictions> {
        let logits = self.logits(texts, long)?;
        let probabilities = Tensor::from(logits.into_dyn())
            .try_softmax(1)?
            .into_array()
            .into_dimensionality()
            .expect("rank 2");
        let indices = argmax_rows(probabilities.view());
        let labels = indices.iter().map(|&i| self.labels[i].clone()).collect();
        Ok(Predictions::Classes {
            indices,
            labels,
            probabilities,
        })
    }
}

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
        let encodings = tok.encode_batch(texts, true)?;
        batched(&encodings, tok.pad_id(), self.dim(), |b| {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bert_tiny() -> std::path::PathBuf {
        glassbox_testkit::reference_path("transformers/bert_tiny")
    }

    #[test]
    fn classifier_logits_match_transformers_in_any_batch_order() {
        let r = glassbox_testkit::reference_json("transformers/bert_tiny/reference.json");
        let texts: Vec<&str> = r["texts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let clf = TextClassifier::from_dir(bert_tiny()).unwrap();
        let want = glassbox_testkit::json_f64(&r["logits"]);
        let got = clf.logits(&texts, LongInputs::Error).unwrap();
        glassbox_testkit::assert_close("logits", got.as_slice().unwrap(), &want, 1e-4);
        // Reversed order: rows follow the input whatever the length-sorted batching does.
        let rev: Vec<&str> = texts.iter().rev().copied().collect();
        let got = clf.logits(&rev, LongInputs::Error).unwrap();
        for (i, row) in got.rows().into_iter().enumerate() {
            let j = texts.len() - 1 - i;
            let w = &want[j * 3..(j + 1) * 3];
            glassbox_testkit::assert_close("reversed logits", row.as_slice().unwrap(), w, 1e-4);
        }
        let Predictions::Classes {
            labels,
            probabilities,
            ..
        } = clf.predict(&texts, LongInputs::Error).unwrap()
        else {
            panic!("classes")
        };
        assert_eq!(labels.len(), 4);
        for row in probabilities.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn long_texts_fail_with_the_limit_unless_truncated() {
        let clf = TextClassifier::from_dir(bert_tiny()).unwrap();
        let long = "money ".repeat(200);
        let e = clf
            .predict(&["short", &long], LongInputs::Error)
            .unwrap_err()
            .to_string();
        assert!(e.contains("text 1") && e.contains("limit of 64"), "{e}");
        let cut = clf.logits(&[&long], LongInputs::Truncate).unwrap();
        // Truncation keeps [CLS], the first 62 tokens of the text and [SEP]: built by
        // hand here from the untruncated tokens.
        let tok = clf.tokenizer();
        let words = tok
            .clone()
            .with_limit(10_000)
            .encode(&long, false)
            .unwrap()
            .ids;
        let cls = tok.token_to_id("[CLS]").unwrap();
        let sep = tok.token_to_id("[SEP]").unwrap();
        let mut ids = vec![cls];
        ids.extend_from_slice(&words[..62]);
        ids.push(sep);
        let b = Batch::from_ids(&[ids], 0).unwrap();
        let want = no_grad(|| clf.model().forward(&b))
            .unwrap()
            .value()
            .to_vec();
        let want: Vec<f64> = want.into_iter().map(f64::from).collect();
        glassbox_testkit::assert_close("truncated logits", cut.as_slice().unwrap(), &want, 1e-5);
    }
}
