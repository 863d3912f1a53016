//! [`TextExplainer`]: a Hugging Face text model (BERT classifier or GPT-2) with its
//! tokenizer, explained with Layer Integrated Gradients; results carry tokens and
//! character offsets into the text.

use std::path::{Path, PathBuf};

use glassbox_explain::text::{
    aggregate_words, layer_integrated_gradients, EmbeddingModel, TextLigConfig, TokenAttributions,
    WordAggregation, WordScores,
};
use glassbox_hf::{BertForSequenceClassification, Encoding, Gpt2LmHeadModel, Tokenizer};
use ndarray::Array2;

use super::models::{freeze_parameters, BertEmbeddingModel, Gpt2EmbeddingModel};
use crate::error::{Error, Result};
use crate::source::{HfArchitecture, ModelSource};

/// The loaded network.
#[derive(Debug)]
pub(crate) enum TextNetwork {
    /// A classifier and its class names.
    Classifier {
        model: Box<BertForSequenceClassification>,
        labels: Vec<String>,
    },
    /// A causal language model and the id its baselines are made of.
    NextToken {
        model: Box<Gpt2LmHeadModel>,
        baseline_id: u32,
    },
}

/// What a [`TextExplainer`] explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTask {
    /// A class of a `BertForSequenceClassification` (outputs: logits).
    Classification,
    /// The next token of a `GPT2LMHeadModel` (outputs: log-probabilities).
    NextToken,
}

/// A Hugging Face text model opened for explanation: a `BertForSequenceClassification`
/// (explained class by class, on `bert.embeddings`' output, baseline `[CLS] [PAD]… [SEP]`:
/// special tokens kept, every other token `[PAD]`) or a `GPT2LMHeadModel` (explained on
/// the next token's log-probability, on `transformer.wte`'s output, baseline all
/// `<|endoftext|>`), with its tokenizer limited to the model's context (longer input is an
/// error naming the limit, never cut silently). Parameters are taken out of the graph
/// ([`freeze_parameters`]): only the embeddings' gradients are computed.
#[derive(Debug)]
pub struct TextExplainer {
    pub(crate) path: PathBuf,
    pub(crate) network: TextNetwork,
    pub(crate) tokenizer: Tokenizer,
}

/// Options of [`TextExplainer::lig`].
#[derive(Debug, Clone, Default)]
pub struct TextLigOptions {
    /// Rule, row cap, parallelism, stop check.
    pub config: TextLigConfig,
    /// Output to explain (class index or token id); default: the largest output.
    pub target: Option<usize>,
    /// Also aggregate the token scores to words this way.
    pub words: Option<WordAggregation>,
}

/// Layer Integrated Gradients of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextExplanation {
    /// The explained text.
    pub text: String,
    /// What was explained.
    pub task: TextTask,
    /// The perturbed layer.
    pub layer: String,
    /// The tokens as strings (`[CLS]`, `##ing`, `Ġmeeting`, …).
    pub tokens: Vec<String>,
    /// Token ids.
    pub ids: Vec<u32>,
    /// Baseline ids (one per token).
    pub baseline_ids: Vec<u32>,
    /// Character offsets `(start, end)` of every token in `text` (`(0, 0)` for special
    /// tokens).
    pub offsets: Vec<(usize, usize)>,
    /// Whether each token is a special token.
    pub special: Vec<bool>,
    /// The explained output: class index or next-token id.
    pub target: usize,
    /// Its name: the class name, or the decoded token.
    pub target_label: String,
    /// Per-token scores (sum of each token's attributions over the hidden size).
    pub scores: Vec<f64>,
    /// The rest of the attribution: `[tokens, hidden]` attributions, outputs, delta,
    /// evaluations.
    pub lig: TokenAttributions,
    /// Word scores, when asked for.
    pub words: Option<WordScores>,
}

impl TextExplanation {
    /// `f(x)[target] − f(baseline)[target]`.
    pub fn output_difference(&self) -> f64 {
        self.lig.output_difference
    }

    /// Captum's convergence delta.
    pub fn convergence_delta(&self) -> f64 {
        self.lig.convergence_delta
    }

    /// `[tokens, hidden]` attributions.
    pub fn attributions(&self) -> &Array2<f64> {
        &self.lig.attributions
    }
}

impl TextExplainer {
    /// Opens the Hugging Face directory `dir` (`config.json`, `model.safetensors`,
    /// `tokenizer.json`) holding a `BertForSequenceClassification` or a
    /// `GPT2LMHeadModel`; any other model is an [`Error::Capability`].
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let source = ModelSource::detect(dir)?;
        let architecture = match &source {
            ModelSource::HuggingFace { architecture, .. } => *architecture,
            ModelSource::Bundle(_) => {
                return Err(capability(dir, source.kind().to_string()));
            }
        };
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
        let (network, tokenizer) = match architecture {
            HfArchitecture::BertForSequenceClassification => {
                let model = BertForSequenceClassification::from_dir(dir)?;
                freeze_parameters(&model);
                let c = &model.bert.config;
                let labels = c.labels.clone().unwrap_or_else(|| {
                    (0..model.num_labels())
                        .map(|i| format!("LABEL_{i}"))
                        .collect()
                });
                let tokenizer = tokenizer.with_limit(c.max_position_embeddings);
                let network = TextNetwork::Classifier {
                    model: Box::new(model),
                    labels,
                };
                (network, tokenizer)
            }
            HfArchitecture::Gpt2LmHeadModel => {
                let model = Gpt2LmHeadModel::from_dir(dir)?;
                freeze_parameters(&model);
                let baseline_id = model
                    .config
                    .eos_token_id
                    .and_then(|i| u32::try_from(i).ok())
                    .or_else(|| tokenizer.token_to_id("<|endoftext|>"))
                    .unwrap_or(0);
                let tokenizer = tokenizer.with_limit(model.config.n_positions);
                let network = TextNetwork::NextToken {
                    model: Box::new(model),
                    baseline_id,
                };
                (network, tokenizer)
            }
            other => return Err(capability(dir, other.name().to_string())),
        };
        Ok(TextExplainer {
            path: dir.to_path_buf(),
            network,
            tokenizer,
        })
    }

    /// What is explained.
    pub fn task(&self) -> TextTask {
        match self.network {
            TextNetwork::Classifier { .. } => TextTask::Classification,
            TextNetwork::NextToken { .. } => TextTask::NextToken,
        }
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The model seen through `glassbox-explain`'s [`EmbeddingModel`].
    pub fn embedding_model(&self) -> Box<dyn EmbeddingModel + '_> {
        match &self.network {
            TextNetwork::Classifier { model, .. } => Box::new(BertEmbeddingModel::new(model)),
            TextNetwork::NextToken { model, .. } => Box::new(Gpt2EmbeddingModel::new(model)),
        }
    }

    /// The baseline of `encoding`: special tokens kept and every other token `[PAD]`
    /// (BERT), or every token `<|endoftext|>` (GPT-2).
    pub fn baseline_ids(&self, encoding: &Encoding) -> Vec<u32> {
        match &self.network {
            TextNetwork::Classifier { model, .. } => {
                let pad = model.bert.config.pad_token_id as u32;
                encoding
                    .ids
                    .iter()
                    .zip(&encoding.special_tokens_mask)
                    .map(|(&id, &s)| if s == 1 { id } else { pad })
                    .collect()
            }
            TextNetwork::NextToken { baseline_id, .. } => vec![*baseline_id; encoding.len()],
        }
    }

    /// The name of output `target`: its class name, or the decoded token.
    pub fn target_label(&self, target: usize) -> Result<String> {
        Ok(match &self.network {
            TextNetwork::Classifier { labels, .. } => labels
                .get(target)
                .cloned()
                .unwrap_or_else(|| format!("LABEL_{target}")),
            TextNetwork::NextToken { .. } => self.tokenizer.decode(&[target as u32], false)?,
        })
    }

    /// Tokenizes `text` (special tokens added as the tokenizer defines them); an empty
    /// encoding is an error.
    pub fn encode(&self, text: &str) -> Result<Encoding> {
        let enc = self.tokenizer.encode(text, true)?;
        if enc.is_empty() {
            return Err(Error::Input(format!(
                "{}: the text has no tokens to explain",
                self.path.display()
            )));
        }
        Ok(enc)
    }

    /// Layer Integrated Gradients of `text` (see [`TextExplainer`] for the layer and the
    /// baseline, [`layer_integrated_gradients`] for the method).
    pub fn lig(&self, text: &str, options: &TextLigOptions) -> Result<TextExplanation> {
        let enc = self.encode(text)?;
        let baseline_ids = self.baseline_ids(&enc);
        let model = self.embedding_model();
        let lig = layer_integrated_gradients(
            model.as_ref(),
            &enc.ids,
            &baseline_ids,
            options.target,
            &options.config,
        )?;
        let special: Vec<bool> = enc.special_tokens_mask.iter().map(|&s| s == 1).collect();
        let words = options
            .words
            .map(|how| aggregate_words(text, &enc.offsets, &special, &lig.token_scores, how))
            .transpose()?;
        Ok(TextExplanation {
            text: text.to_string(),
            task: self.task(),
            layer: lig.layer.clone(),
            target_label: self.target_label(lig.target)?,
            target: lig.target,
            scores: lig.token_scores.clone(),
            tokens: enc.tokens,
            ids: enc.ids,
            baseline_ids,
            offsets: enc.offsets,
            special,
            lig,
            words,
        })
    }
}

fn capability(dir: &Path, kind: String) -> Error {
    Error::Capability {
        path: dir.display().to_string(),
        action: "be explained token by token (a BertForSequenceClassification or a \
                 GPT2LMHeadModel directory can)",
        kind,
    }
}
