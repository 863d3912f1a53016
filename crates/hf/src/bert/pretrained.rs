//! A `BertForSequenceClassification` to train: from scratch (transformers' random
//! initialisation), or a pretrained encoder with a fresh head; and `save_pretrained`,
//! which writes the Hugging Face directory this crate (and transformers) loads back.

use std::path::Path;

use glassbox_nn::io::envelope::write_atomic;
use glassbox_tensor::rng::Rng;

use super::state::{init_classifier, init_head};
use super::BertForSequenceClassification;
use crate::config::BertConfig;
use crate::dir::ModelDir;
use crate::error::{HfError, Result};
use crate::safetensors_file::{write_safetensors, SafetensorsFile, TensorToWrite};
use crate::tokenizer::Tokenizer;
use crate::weights::Checkpoint;

/// The file names of a Hugging Face model directory.
const CONFIG: &str = "config.json";
const WEIGHTS: &str = "model.safetensors";
const TOKENIZER: &str = "tokenizer.json";

fn check_labels(labels: &[String]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    if labels.len() < 2 {
        return Err(HfError::InvalidInput {
            what: "classifier labels".into(),
            reason: format!("at least 2 classes are needed, got {}", labels.len()),
        });
    }
    if let Some(dup) = labels.iter().find(|l| !seen.insert(l.as_str())) {
        return Err(HfError::InvalidInput {
            what: "classifier labels".into(),
            reason: format!("class `{dup}` appears twice"),
        });
    }
    Ok(())
}

impl BertForSequenceClassification {
    /// A new model for `config` (its `labels` give the classes), initialised as
    /// transformers' `_init_weights`: Linear and Embedding weights `normal(0,
    /// initializer_range)` (the `pad_token_id` row of the word embeddings zero), biases
    /// zero, LayerNorm weights one. Returned in training mode: dropout
    /// (`hidden_dropout_prob`, `attention_probs_dropout_prob`) acts until
    /// `set_training(false)`.
    ///
    /// ```
    /// use glassbox_hf::{Batch, BertConfig, BertForSequenceClassification};
    /// use glassbox_nn::Module;
    ///
    /// let config = BertConfig::new(100, 32, 1, 4, 16, vec!["no".into(), "yes".into()])?;
    /// let mut model = BertForSequenceClassification::new(config, 0)?;
    /// model.set_training(false);
    /// let batch = Batch::from_ids(&[vec![2, 7, 9, 3], vec![2, 5, 3]], 0)?;
    /// assert_eq!(model.forward(&batch)?.shape(), vec![2, 2]);
    /// # Ok::<(), glassbox_hf::HfError>(())
    /// ```
    pub fn new(config: BertConfig, seed: u64) -> Result<Self> {
        if let Some(labels) = &config.labels {
            check_labels(labels)?;
        }
        let mut rng = Rng::new(seed);
        let mut ck = Checkpoint::from_tensors("<random init>", init_classifier(&config, &mut rng));
        let mut model = Self::from_checkpoint(&mut ck, config)?;
        ck.finish("BertForSequenceClassification")?;
        glassbox_nn::Module::set_training(&mut model, true);
        Ok(model)
    }

    /// The encoder of the Hugging Face directory `dir` (`config.json` +
    /// `model.safetensors`; a `BertModel` or any BERT head model, whose head is dropped)
    /// with a fresh classification head for `labels`, initialised as transformers does (a
    /// pooler too if the checkpoint has none). Returned in training mode, for fine-tuning.
    pub fn from_pretrained_encoder(
        dir: impl AsRef<Path>,
        labels: Vec<String>,
        seed: u64,
    ) -> Result<Self> {
        check_labels(&labels)?;
        let dir = ModelDir::open(dir)?;
        let mut config = BertConfig::from_file(dir.config_path())?;
        config.labels = Some(labels);
        config.architectures = vec!["BertForSequenceClassification".into()];
        let file = SafetensorsFile::open(dir.path().join(WEIGHTS))?;
        let mut tensors: Vec<_> = file
            .float_tensors()?
            .into_iter()
            .filter(|(k, _)| !k.starts_with("classifier."))
            .collect();
        let prefix = if tensors.iter().any(|(k, _)| k.starts_with("bert.")) {
            "bert."
        } else {
            ""
        };
        let pooler = format!("{prefix}pooler.");
        let has_pooler = tensors.iter().any(|(k, _)| k.starts_with(&pooler));
        let mut rng = Rng::new(seed);
        tensors.extend(init_head(
            &config,
            (!has_pooler).then_some(prefix),
            &mut rng,
        ));
        let mut ck = Checkpoint::from_tensors(file.origin(), tensors);
        let mut model = Self::from_checkpoint(&mut ck, config)?;
        ck.ignore_prefix("cls.");
        ck.finish("BertForSequenceClassification")?;
        glassbox_nn::Module::set_training(&mut model, true);
        Ok(model)
    }

    /// Class names (`id2label`), or `LABEL_i` as transformers names them when the
    /// configuration has none.
    pub fn labels(&self) -> Vec<String> {
        match &self.bert.config.labels {
            Some(l) if l.len() == self.num_labels() => l.clone(),
            _ => (0..self.num_labels())
                .map(|i| format!("LABEL_{i}"))
                .collect(),
        }
    }

    /// Writes the model as a Hugging Face directory `dir` (created if needed):
    /// `config.json` (transformers' field names, `architectures`, `id2label`/`label2id`),
    /// `model.safetensors` (F32, transformers' key names) and, when given, the
    /// tokenizer's `tokenizer.json`. Each file is written atomically; the directory loads
    /// back with [`from_dir`](Self::from_dir) and with transformers'
    /// `AutoModelForSequenceClassification.from_pretrained`.
    pub fn save_pretrained(
        &self,
        dir: impl AsRef<Path>,
        tokenizer: Option<&Tokenizer>,
    ) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| HfError::io(dir, e))?;
        let mut config = self.bert.config.clone();
        config.labels = Some(self.labels());
        config.architectures = vec!["BertForSequenceClassification".into()];
        let tensors = self
            .hf_tensors()?
            .iter()
            .map(|(k, t)| TensorToWrite::f32(k, t))
            .collect::<Result<Vec<_>>>()?;
        let metadata = [("format".to_string(), "pt".to_string())]
            .into_iter()
            .collect();
        write_safetensors(dir.join(WEIGHTS), &tensors, Some(metadata))?;
        let json =
            serde_json::to_string_pretty(&config.to_json()).map_err(|e| HfError::InvalidInput {
                what: CONFIG.into(),
                reason: e.to_string(),
            })?;
        write_atomic(&dir.join(CONFIG), format!("{json}\n").as_bytes())?;
        if let Some(tok) = tokenizer {
            tok.save(dir.join(TOKENIZER))?;
        }
        Ok(())
    }
}
