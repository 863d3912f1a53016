//! A [`TextExplainer`] of a classifier in memory, LIG as a faithfulness-table scorer, and
//! the faithfulness table of every [`TextMethod`] next to random rankings.

use glassbox_explain::text::{layer_integrated_gradients, TextFeatures, TextLigConfig};
use glassbox_hf::{BertForSequenceClassification, Tokenizer, Truncation};

use super::faithfulness::TextMethodConfig;
use super::faithfulness::{faithfulness_table, FaithfulnessRow, PerturbMethod, Scorer};
use super::lig::{TextExplainer, TextNetwork};
use super::methods::TextMethod;
use super::models::freeze_parameters;
use crate::error::{Error, Result};
use crate::text::{LongInputs, TextClassifier};

impl TextExplainer {
    /// A BERT classifier in memory with its tokenizer (used as it is: its limit and
    /// truncation apply). The parameters are taken out of the graph
    /// ([`freeze_parameters`]).
    pub fn from_classifier(model: BertForSequenceClassification, tokenizer: Tokenizer) -> Self {
        freeze_parameters(&model);
        let labels = model.labels();
        TextExplainer {
            path: std::path::PathBuf::from("<in memory>"),
            network: TextNetwork::Classifier {
                model: Box::new(model),
                labels,
            },
            tokenizer,
        }
    }

    /// A [`TextClassifier`] (e.g. just trained) to explain: texts longer than its
    /// `max_len` are an error naming the limit ([`LongInputs::Error`]) or keep their first
    /// `max_len` tokens, `[SEP]` included ([`LongInputs::Truncate`]).
    pub fn from_text_classifier(clf: TextClassifier, long: LongInputs) -> Result<Self> {
        let max_len = clf.max_len();
        let tokenizer = clf.tokenizer().clone().with_limit(max_len);
        let tokenizer = match long {
            LongInputs::Error => tokenizer.with_truncation(Truncation::Error)?,
            LongInputs::Truncate => tokenizer.with_truncation(Truncation::OnlyFirst {
                max_length: max_len,
            })?,
        };
        Ok(Self::from_classifier(clf.model, tokenizer))
    }

    /// Layer Integrated Gradients as a faithfulness-table [`Scorer`] (BERT classifiers):
    /// for a text's features and target class, each feature's score is the sum of its
    /// tokens' LIG scores of the target's logit against the baseline with every feature
    /// token `[PAD]` (other tokens, the special ones, kept).
    pub fn lig_scorer(&self, config: TextLigConfig) -> Result<Scorer<'_>> {
        let pad = match &self.network {
            TextNetwork::Classifier { model, .. } => model.bert.config.pad_token_id as u32,
            TextNetwork::NextToken { .. } => return Err(self.not_a_classifier()),
        };
        Ok(Scorer::Custom {
            name: TextMethod::Lig.name().to_string(),
            scores: Box::new(move |features: &TextFeatures, target: usize| {
                let ids = features.ids();
                let mut baseline = ids.to_vec();
                for &p in features.groups().iter().flatten() {
                    baseline[p] = pad;
                }
                let model = self.embedding_model();
                let r = layer_integrated_gradients(
                    model.as_ref(),
                    ids,
                    &baseline,
                    Some(target),
                    &config,
                )?;
                Ok(features
                    .groups()
                    .iter()
                    .map(|g| g.iter().map(|&p| r.token_scores[p]).sum())
                    .collect())
            }),
        })
    }

    /// The faithfulness table (see [`faithfulness_table`]) of `methods` on `texts`, LIG
    /// with `lig`, and a `random` row last when `random` is set (BERT classifiers only).
    pub fn faithfulness(
        &self,
        texts: &[&str],
        methods: &[TextMethod],
        random: bool,
        lig: &TextLigConfig,
        config: &TextMethodConfig,
    ) -> Result<Vec<FaithfulnessRow>> {
        let TextNetwork::Classifier { model, .. } = &self.network else {
            return Err(self.not_a_classifier());
        };
        let mut scorers = Vec::new();
        for &m in methods {
            scorers.push(match m {
                TextMethod::Lig => self.lig_scorer(lig.clone())?,
                TextMethod::Occlusion => Scorer::Method(PerturbMethod::Occlusion),
                TextMethod::KernelShap => Scorer::Method(PerturbMethod::KernelShap),
                TextMethod::Lime => Scorer::Method(PerturbMethod::Lime),
                TextMethod::Rollout => Scorer::Method(PerturbMethod::Rollout),
            });
        }
        if random {
            scorers.push(Scorer::Method(PerturbMethod::Random));
        }
        faithfulness_table(model, &self.tokenizer, texts, &scorers, config)
    }

    fn not_a_classifier(&self) -> Error {
        Error::Capability {
            path: self.path.display().to_string(),
            action: "be measured by ERASER faithfulness (a BertForSequenceClassification can)",
            kind: "GPT2LMHeadModel".into(),
        }
    }
}
