//! [`TextClassifier`]: a Hugging Face `BertForSequenceClassification` with its tokenizer
//! and length limit, created from scratch or from a pretrained encoder, saved and loaded
//! as a Hugging Face model directory, and run on raw texts. The one text classifier type:
//! `glassbox train` writes it, [`AutoModel`](crate::AutoModel) loads it, and the CLI's
//! `predict`/`evaluate` run it.

use std::path::{Path, PathBuf};

use glassbox_autograd::no_grad;
use glassbox_hf::{
    BertConfig, BertForSequenceClassification, ModelDir, Tokenizer, WordPieceOptions,
};
use glassbox_nn::Module;
use glassbox_tensor::ops::reduce::argmax;
use glassbox_tensor::Tensor;
use ndarray::Array2;

use super::batching::{batched, LongInputs, Tokenizers};
use super::data::TextData;
use super::spec::TransformerSpec;
use crate::error::{Error, Result};
use crate::model::Predictions;

/// Token ids of several texts, each cut to the length limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// `[CLS] … [SEP]` ids of each text.
    pub ids: Vec<Vec<u32>>,
    /// How many texts reached the limit (their tail was cut: head truncation).
    pub truncated: usize,
}

/// A BERT text classifier: model, tokenizer, class names and `max_len`.
///
/// Over-long texts are handled explicitly. Training and [`encode`](Self::encode) cut them
/// (head truncation: the first `max_len − 2` word pieces plus `[CLS]` and `[SEP]` are kept,
/// as transformers' `truncation=True`; [`Encoded::truncated`] counts them), and the
/// truncation is written into the saved `tokenizer.json`, so Python's `tokenizers` cuts the
/// same way. Inference on raw texts ([`logits`](Self::logits), [`classify`](Self::classify))
/// takes a [`LongInputs`]: an error naming the text and the limit, or the same truncation.
///
/// ```
/// use glassbox::{LongInputs, Predictions, TextClassifier};
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/transformers/bert_tiny");
/// let clf = TextClassifier::load(dir)?;
/// let p = clf.classify(&["Free money!!!", "Re: the meeting"], LongInputs::Error)?;
/// let Predictions::Classes { labels, probabilities, .. } = p else { unreachable!() };
/// assert_eq!(probabilities.shape(), &[2, 3]);
/// assert!(labels.iter().all(|l| clf.labels().contains(l)));
/// # Ok::<(), glassbox::Error>(())
/// ```
#[derive(Debug)]
pub struct TextClassifier {
    /// The model.
    pub model: BertForSequenceClassification,
    tokenizers: Tokenizers,
    labels: Vec<String>,
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
        Ok(TextClassifier {
            tokenizers: Tokenizers::new(tokenizer, max_len)?,
            labels: model.labels(),
            model,
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
    /// limit is the tokenizer file's truncation, else `max_position_embeddings`. Class
    /// names come from `id2label` (`LABEL_{i}` when absent, as in transformers).
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
        Ok(self.model.save_pretrained(dir, Some(self.tokenizer()))?)
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

    /// The tokenizer (with the length limit and head truncation applied, as saved).
    pub fn tokenizer(&self) -> &Tokenizer {
        self.tokenizers.pick(LongInputs::Truncate)
    }

    /// The length limit in tokens (special tokens included).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Class names in output order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Token ids of `texts`, cut to `max_len` (counted in [`Encoded::truncated`]).
    pub fn encode(&self, texts: &[&str]) -> Result<Encoded> {
        let enc = self.tokenizer().encode_batch(texts, true)?;
        let truncated = enc.iter().filter(|e| e.len() >= self.max_len).count();
        Ok(Encoded {
            ids: enc.into_iter().map(|e| e.ids).collect(),
            truncated,
        })
    }

    /// Logits `[texts, classes]` of encoded texts: batches of similar length, in parallel,
    /// without a graph.
    pub fn logits_of_ids(&self, ids: &[Vec<u32>]) -> Result<Array2<f32>> {
        let pad = self.tokenizer().pad_id();
        batched(ids, pad, self.model.num_labels(), |b| {
            Ok(no_grad(|| self.model.forward(b))?.value())
        })
    }

    /// Logits `[texts, classes]`. Every text is tokenized (and, with
    /// [`LongInputs::Error`], checked against the limit) before the first forward pass.
    pub fn logits(&self, texts: &[&str], long: LongInputs) -> Result<Array2<f32>> {
        let enc = self.tokenizers.pick(long).encode_batch(texts, true)?;
        let ids: Vec<Vec<u32>> = enc.into_iter().map(|e| e.ids).collect();
        self.logits_of_ids(&ids)
    }

    /// Class probabilities (softmax of the logits), predicted class indices (the first
    /// on ties) and names.
    pub fn classify(&self, texts: &[&str], long: LongInputs) -> Result<Predictions> {
        let probabilities = softmax_rows(self.logits(texts, long)?)?;
        let indices: Vec<usize> = probabilities
            .rows()
            .into_iter()
            .map(|r| argmax(r.as_slice().expect("standard layout")))
            .collect();
        let labels = indices.iter().map(|&i| self.labels[i].clone()).collect();
        Ok(Predictions::Classes {
            indices,
            labels,
            probabilities,
        })
    }

    /// Class probabilities of each of `texts`, cut to `max_len` (evaluation mode is the
    /// caller's: call `model.set_training(false)` first when the model was training).
    pub fn predict_proba(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let enc = self.encode(texts)?;
        self.proba_of_ids(&enc.ids)
    }

    /// Class probabilities of encoded texts.
    pub fn proba_of_ids(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let p = softmax_rows(self.logits_of_ids(ids)?)?;
        Ok(p.rows().into_iter().map(|r| r.to_vec()).collect())
    }

    /// The most probable class of each of `texts` (cut to `max_len`).
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<usize>> {
        Ok(self
            .predict_proba(texts)?
            .iter()
            .map(|p| argmax(p))
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

fn softmax_rows(logits: Array2<f32>) -> Result<Array2<f32>> {
    Ok(Tensor::from(logits.into_dyn())
        .try_softmax(1)?
        .into_array()
        .into_dimensionality()
        .expect("rank 2"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_hf::Batch;

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
        let clf = TextClassifier::load(bert_tiny()).unwrap();
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
        } = clf.classify(&texts, LongInputs::Error).unwrap()
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
        let clf = TextClassifier::load(bert_tiny()).unwrap();
        let long = "money ".repeat(200);
        let e = clf
            .classify(&["short", &long], LongInputs::Error)
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
        let want = no_grad(|| clf.model.forward(&b)).unwrap().value().to_vec();
        let want: Vec<f64> = want.into_iter().map(f64::from).collect();
        glassbox_testkit::assert_close("truncated logits", cut.as_slice().unwrap(), &want, 1e-5);
    }
}
