//! [`TextClassifier`]: a Hugging Face `BertForSequenceClassification` with its tokenizer
//! and length limit, created from scratch or from a pretrained encoder, saved and loaded
//! as a Hugging Face model directory.

use std::path::{Path, PathBuf};

use glassbox_autograd::no_grad;
use glassbox_hf::{
    Batch, BertConfig, BertForSequenceClassification, ModelDir, Tokenizer, Truncation,
    WordPieceOptions,
};
use glassbox_nn::Module;
use rayon::prelude::*;

use super::data::TextData;
use super::spec::TransformerSpec;
use crate::error::{Error, Result};

/// Texts per forward pass when predicting.
const PREDICT_BATCH: usize = 64;

/// Token ids of several texts, each cut to the length limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// `[CLS] … [SEP]` ids of each text.
    pub ids: Vec<Vec<u32>>,
    /// How many texts reached the limit (their tail was cut: head truncation).
    pub truncated: usize,
}

/// A BERT text classifier: model, tokenizer and `max_len`.
///
/// Texts longer than `max_len` tokens are cut explicitly (head truncation: the first
/// `max_len − 2` word pieces plus `[CLS]` and `[SEP]` are kept, as transformers'
/// `truncation=True`); [`Encoded::truncated`] counts them. The truncation is written into
/// the saved `tokenizer.json`, so Python's `tokenizers` cuts the same way.
#[derive(Debug)]
pub struct TextClassifier {
    /// The model.
    pub model: BertForSequenceClassification,
    tokenizer: Tokenizer,
    max_len: usize,
}

impl TextClassifier {
    /// Ties `model` to `tokenizer`, cutting texts to `max_len` tokens. The tokenizer's
    /// vocabulary must fit the model's and `max_len` its position embeddings.
    pub fn new(
        model: BertForSequenceClassification,
        tokenizer: Tokenizer,
        max_len: usize,
    ) -> Result<Self> {
        let c = &model.bert.config;
        if tokenizer.vocab_size() > c.vocab_size {
            return Err(Error::Input(format!(
                "tokenizer {} has {} tokens, the model's vocab_size is {}",
                tokenizer.origin(),
                tokenizer.vocab_size(),
                c.vocab_size
            )));
        }
        if max_len < 3 || max_len > c.max_position_embeddings {
            return Err(Error::Config {
                option: "max_len",
                reason: format!(
                    "{max_len} must be in 3..={} (the model's max_position_embeddings)",
                    c.max_position_embeddings
                ),
            });
        }
        let tokenizer = tokenizer
            .with_limit(max_len)
            .with_truncation(Truncation::OnlyFirst {
                max_length: max_len,
            })?;
        Ok(TextClassifier {
            model,
            tokenizer,
            max_len,
        })
    }

    /// A new classifier for the classes of `train`: a WordPiece tokenizer of
    /// `spec.vocab` tokens trained on `train`'s texts, and a randomly initialised BERT of
    /// `spec`'s sizes (transformers' initialisation; `seed` fixes it).
    pub fn from_scratch(train: &TextData, spec: &TransformerSpec, seed: u64) -> Result<Self> {
        let opts = WordPieceOptions {
            vocab_size: spec.vocab,
            ..WordPieceOptions::default()
        };
        let tokenizer = Tokenizer::train_wordpiece(&train.texts, &opts)?;
        let config = BertConfig::new(
            tokenizer.vocab_size(),
            spec.hidden,
            spec.layers,
            spec.heads,
            spec.max_len,
            train.classes.clone(),
        )?;
        let model = BertForSequenceClassification::new(config, seed)?;
        Self::new(model, tokenizer, spec.max_len)
    }

    /// The pretrained encoder of the Hugging Face directory `dir` (with its
    /// `tokenizer.json`) and a fresh classification head for `classes`, for fine-tuning.
    pub fn from_pretrained_encoder(
        dir: impl AsRef<Path>,
        classes: Vec<String>,
        max_len: usize,
        seed: u64,
    ) -> Result<Self> {
        let dir = dir.as_ref();
        let model = BertForSequenceClassification::from_pretrained_encoder(dir, classes, seed)?;
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
        Self::new(model, tokenizer, max_len)
    }

    /// Loads a directory written by [`save`](Self::save) (or any Hugging Face
    /// `BertForSequenceClassification` directory with a `tokenizer.json`); the length
    /// limit is the tokenizer file's truncation, else `max_position_embeddings`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = ModelDir::open(dir)?;
        let model = BertForSequenceClassification::from_dir(dir.path())?;
        let tokenizer = Tokenizer::from_file(dir.path().join("tokenizer.json"))?;
        let max_len = tokenizer
            .file_truncation()
            .unwrap_or(model.bert.config.max_position_embeddings)
            .min(model.bert.config.max_position_embeddings);
        Self::new(model, tokenizer, max_len)
    }

    /// Writes the Hugging Face directory `dir` (`config.json`, `model.safetensors`,
    /// `tokenizer.json`), each file atomically.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        Ok(self.model.save_pretrained(dir, Some(&self.tokenizer))?)
    }

    /// Writes the directory `dir` as a whole: it is built in a temporary directory next to
    /// `dir`, loaded back and checked to give the same probabilities on `check_texts`, and
    /// only then renamed to `dir` (replacing an earlier one). On any failure `dir` is left
    /// as it was.
    pub fn save_verified(&self, dir: impl AsRef<Path>, check_texts: &[&str]) -> Result<()> {
        let dir = dir.as_ref();
        let name = dir
            .file_name()
            .ok_or_else(|| Error::Input(format!("{}: not a directory name", dir.display())))?
            .to_string_lossy()
            .into_owned();
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let result = self.save(&tmp).and_then(|()| {
            let back = TextClassifier::load(&tmp)?;
            let (a, b) = (
                self.predict_proba(check_texts)?,
                back.predict_proba(check_texts)?,
            );
            if a != b {
                return Err(Error::Input(format!(
                    "{}: the saved model does not reproduce the trained model's predictions",
                    tmp.display()
                )));
            }
            Ok(())
        });
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        if dir.exists() {
            std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
        }
        if let Err(e) = std::fs::rename(&tmp, dir) {
            let _ = std::fs::rename(&old, dir);
            return Err(Error::io(dir, e));
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// The tokenizer (with the length limit and truncation applied).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The length limit in tokens.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Class names.
    pub fn classes(&self) -> Vec<String> {
        self.model.labels()
    }

    /// Token ids of `texts`, cut to `max_len` (counted in [`Encoded::truncated`]).
    pub fn encode(&self, texts: &[&str]) -> Result<Encoded> {
        let enc = self.tokenizer.encode_batch(texts, true)?;
        let truncated = enc.iter().filter(|e| e.len() >= self.max_len).count();
        Ok(Encoded {
            ids: enc.into_iter().map(|e| e.ids).collect(),
            truncated,
        })
    }

    /// Class probabilities of each of `texts` (evaluation mode is the caller's: call
    /// `model.set_training(false)` first when the model was training).
    pub fn predict_proba(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let enc = self.encode(texts)?;
        self.proba_of_ids(&enc.ids)
    }

    /// Class probabilities of encoded texts: batches of similar length, in parallel.
    pub fn proba_of_ids(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let pad = self.tokenizer.pad_id();
        let chunks: Vec<&[usize]> = order.chunks(PREDICT_BATCH).collect();
        let parts = chunks
            .par_iter()
            .map(|chunk| -> Result<Vec<(usize, Vec<f32>)>> {
                let rows: Vec<Vec<u32>> = chunk.iter().map(|&i| ids[i].clone()).collect();
                let batch = Batch::from_ids(&rows, pad)?;
                let logits = no_grad(|| self.model.forward(&batch))?.value();
                let p = logits.try_softmax(1)?.to_vec();
                let c = p.len() / chunk.len();
                Ok(chunk
                    .iter()
                    .zip(p.chunks(c))
                    .map(|(&i, r)| (i, r.to_vec()))
                    .collect())
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out = vec![Vec::new(); ids.len()];
        for (i, p) in parts.into_iter().flatten() {
            out[i] = p;
        }
        Ok(out)
    }

    /// The most probable class of each of `texts`.
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<usize>> {
        Ok(self
            .predict_proba(texts)?
            .iter()
            .map(|p| glassbox_tensor::ops::reduce::argmax(p))
            .collect())
    }

    /// Accuracy on `data` (model in evaluation mode for the duration).
    pub fn accuracy(&mut self, data: &TextData) -> Result<f64> {
        let was = self.model.is_training();
        self.model.set_training(false);
        let pred = self.predict(&data.text_refs());
        self.model.set_training(was);
        Ok(glassbox_metrics::accuracy(&data.labels, &pred?)?)
    }
}
