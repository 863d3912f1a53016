//! BERT from a Hugging Face directory: [`BertModel`] and
//! [`BertForSequenceClassification`].
//!
//! Keys load with or without the `bert.` prefix. Integer buffers (`position_ids`) are
//! skipped. Any other key the model does not use, and every key it needs that the file
//! lacks, are listed together in one [`HfError::Keys`](crate::HfError::Keys); keys of
//! other BERT heads (`cls.`, and `classifier.` when loading the bare `BertModel`) are
//! tolerated, as Hugging Face does.

mod embeddings;
mod model;
mod pretrained;
mod state;

use std::path::Path;

use glassbox_autograd::Var;
use glassbox_nn::{Dropout, Linear, Module};
use glassbox_tensor::rng::Rng;

pub use embeddings::BertEmbeddings;
pub use model::{BertModel, BertOutput, BertOutputs};

use crate::batch::Batch;
use crate::config::BertConfig;
use crate::dir::ModelDir;
use crate::error::{HfError, Result};
use crate::load::linear;
use crate::weights::Checkpoint;

impl BertModel {
    /// Loads `config.json` and `model.safetensors` from `dir`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = ModelDir::open(dir)?;
        let config = BertConfig::from_file(dir.config_path())?;
        let mut ck = dir.checkpoint()?;
        let model = Self::from_checkpoint(&mut ck, config)?;
        ck.ignore_prefix("cls.");
        ck.ignore_prefix("classifier.");
        ck.finish("BertModel")?;
        Ok(model)
    }

    /// Builds the model from `ck` (keys with or without `bert.`); the caller ends loading
    /// with [`Checkpoint::finish`].
    pub fn from_checkpoint(ck: &mut Checkpoint, config: BertConfig) -> Result<Self> {
        let prefix = ck.detect_prefix(&["bert."]);
        BertModel::load(ck, &prefix, config)
    }
}

/// Hugging Face's `BertForSequenceClassification`: `classifier(dropout(pooler_output))`.
#[derive(Debug)]
pub struct BertForSequenceClassification {
    /// The encoder (with its pooler).
    pub bert: BertModel,
    /// `classifier` `[num_labels, hidden]`.
    pub classifier: Linear,
    dropout: Dropout,
}

impl BertForSequenceClassification {
    /// Loads `config.json` and `model.safetensors` from `dir`; the checkpoint must have a
    /// pooler and a `classifier` with `id2label`'s number of classes.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = ModelDir::open(dir)?;
        let config = BertConfig::from_file(dir.config_path())?;
        let mut ck = dir.checkpoint()?;
        let model = Self::from_checkpoint(&mut ck, config)?;
        ck.ignore_prefix("cls.");
        ck.finish("BertForSequenceClassification")?;
        Ok(model)
    }

    /// Builds the model from `ck`; the caller ends loading with [`Checkpoint::finish`].
    pub fn from_checkpoint(ck: &mut Checkpoint, config: BertConfig) -> Result<Self> {
        let (h, n) = (config.hidden_size, config.num_labels());
        let p = config
            .classifier_dropout
            .unwrap_or(config.hidden_dropout_prob) as f32;
        let mut bert = BertModel::from_checkpoint(ck, config)?;
        if bert.pooler.is_none() {
            // Records the pooler's keys as missing (reported by `finish`).
            let prefix = ck.detect_prefix(&["bert."]);
            bert.pooler = Some(linear(ck, &format!("{prefix}pooler.dense"), h, h)?);
        }
        let classifier = linear(ck, "classifier", h, n)?;
        let mut model = BertForSequenceClassification {
            bert,
            classifier,
            dropout: Dropout::new(p, 0)?,
        };
        model.set_training(false);
        Ok(model)
    }

    /// A new classification head with `num_labels` classes (PyTorch's Linear
    /// initialisation) on a loaded encoder, for fine-tuning (returned in evaluation mode:
    /// `set_training(true)` switches dropout on).
    pub fn from_base(bert: BertModel, num_labels: usize, rng: &mut Rng) -> Result<Self> {
        if bert.pooler.is_none() {
            return Err(HfError::InvalidInput {
                what: "BertForSequenceClassification".into(),
                reason: "the encoder has no pooler".into(),
            });
        }
        let p = bert.config.hidden_dropout_prob as f32;
        let classifier = Linear::new(bert.config.hidden_size, num_labels, true, rng)?;
        let mut model = BertForSequenceClassification {
            bert,
            classifier,
            dropout: Dropout::new(p, rng.next_u64())?,
        };
        model.set_training(false);
        Ok(model)
    }

    /// Logits `[batch, num_labels]`.
    pub fn forward(&self, batch: &Batch) -> Result<Var> {
        Ok(self.forward_with(batch, BertOutputs::default())?.0)
    }

    /// Logits and the encoder's outputs.
    pub fn forward_with(&self, batch: &Batch, outputs: BertOutputs) -> Result<(Var, BertOutput)> {
        let out = self.bert.forward(batch, outputs)?;
        let logits = self.head(&out)?;
        Ok((logits, out))
    }

    /// Logits from given embeddings (see [`BertModel::forward_embeddings`]).
    pub fn forward_embeddings(&self, x: Var, batch: &Batch) -> Result<Var> {
        let out = self
            .bert
            .forward_embeddings(x, batch, BertOutputs::default())?;
        self.head(&out)
    }

    fn head(&self, out: &BertOutput) -> Result<Var> {
        let pooled = out.pooler_output.clone().expect("loaded with a pooler");
        let x = self.dropout.forward_owned(pooled)?;
        Ok(self.classifier.forward_owned(x)?)
    }

    /// Number of classes.
    pub fn num_labels(&self) -> usize {
        self.classifier.out_features()
    }
}

impl Module for BertForSequenceClassification {
    /// `x`: token ids `[batch, seq_len]` as f32 (no padding); returns the logits.
    fn forward(&self, x: &Var) -> glassbox_nn::Result<Var> {
        let batch = crate::load::batch_from_ids(x)?;
        BertForSequenceClassification::forward(self, &batch).map_err(crate::load::to_nn)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p: Vec<(String, Var)> = self
            .bert
            .named_parameters()
            .into_iter()
            .map(|(n, v)| (format!("bert.{n}"), v))
            .collect();
        p.extend(
            self.classifier
                .named_parameters()
                .into_iter()
                .map(|(n, v)| (format!("classifier.{n}"), v)),
        );
        p
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("bert".into(), &self.bert as &dyn Module),
            ("dropout".into(), &self.dropout),
            ("classifier".into(), &self.classifier),
        ]
    }

    fn set_training(&mut self, training: bool) {
        self.bert.set_training(training);
        self.dropout.set_training(training);
        self.classifier.set_training(training);
    }

    fn is_training(&self) -> bool {
        self.bert.is_training()
    }

    fn type_name(&self) -> &'static str {
        "BertForSequenceClassification"
    }
}
