//! Every text method in one shape: [`TextExplainer::explain_method`] runs Layer Integrated
//! Gradients, occlusion, Kernel SHAP, LIME or attention rollout on one text and returns
//! tokens, offsets, per-token scores, the scored features and the method's delta (LIG's
//! convergence delta, Kernel SHAP's efficiency gap), ready for the CLI and the report's
//! text page.

use std::time::Instant;

use glassbox_autograd::no_grad;
use glassbox_explain::text::{
    aggregate_words, lime_text, text_kernel_shap, text_occlusion, LimeTextConfig, Removal,
    RolloutConfig, TextFeatures, TextKernelShapConfig, TextOcclusionConfig, TokenPredictor,
    UnalignedToken, WordAggregation, WordScore, WordScores,
};
use glassbox_hf::{Batch, Encoding};

use super::faithfulness::{PerturbMethod, TextMethodConfig};
use super::lig::{TextExplainer, TextLigOptions, TextNetwork, TextTask};
use super::perturb::{rollout_scores, text_features, BertPredictor, Gpt2NextToken, Granularity};
use crate::error::{Error, Result};

/// A method of [`TextExplainer::explain_method`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMethod {
    /// Layer Integrated Gradients on the embeddings (both tasks).
    Lig,
    /// Leave-one-out occlusion (both tasks).
    Occlusion,
    /// Kernel SHAP (both tasks).
    KernelShap,
    /// LIME for text (both tasks).
    Lime,
    /// Attention rollout of `[CLS]` (BERT classifiers only; a heuristic).
    Rollout,
}

impl TextMethod {
    /// Every method, in the report's order: gradient, perturbation, attention.
    pub const ALL: [TextMethod; 5] = [
        TextMethod::Lig,
        TextMethod::Occlusion,
        TextMethod::KernelShap,
        TextMethod::Lime,
        TextMethod::Rollout,
    ];

    /// Short name (`lig`, `occlusion`, `kernel_shap`, `lime`, `rollout`).
    pub fn name(self) -> &'static str {
        match self {
            TextMethod::Lig => "lig",
            TextMethod::Occlusion => PerturbMethod::Occlusion.name(),
            TextMethod::KernelShap => PerturbMethod::KernelShap.name(),
            TextMethod::Lime => PerturbMethod::Lime.name(),
            TextMethod::Rollout => PerturbMethod::Rollout.name(),
        }
    }

    /// What kind of method it is: `gradient`, `perturbation` or `attention`.
    pub fn family(self) -> &'static str {
        match self {
            TextMethod::Lig => "gradient",
            TextMethod::Occlusion | TextMethod::KernelShap | TextMethod::Lime => "perturbation",
            TextMethod::Rollout => "attention",
        }
    }

    /// Whether the method explains models of `task` (rollout reads BERT's bidirectional
    /// attention of `[CLS]`; GPT-2 has neither).
    pub fn applies_to(self, task: TextTask) -> bool {
        !(self == TextMethod::Rollout && task == TextTask::NextToken)
    }

    fn perturb(self) -> Option<PerturbMethod> {
        match self {
            TextMethod::Lig => None,
            TextMethod::Occlusion => Some(PerturbMethod::Occlusion),
            TextMethod::KernelShap => Some(PerturbMethod::KernelShap),
            TextMethod::Lime => Some(PerturbMethod::Lime),
            TextMethod::Rollout => Some(PerturbMethod::Rollout),
        }
    }
}

/// Settings of [`TextExplainer::explain_method`].
#[derive(Debug, Clone, Default)]
pub struct MethodOptions {
    /// LIG's rule and row cap (its `target` and `words` are ignored: see below).
    pub lig: TextLigOptions,
    /// Granularity, removal, samples and seed of the perturbation methods.
    pub perturb: TextMethodConfig,
    /// Output to explain (class index or token id); default: the largest.
    pub target: Option<usize>,
    /// Also aggregate the token scores to words this way.
    pub words: Option<WordAggregation>,
}

/// A method's own check of its result.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodDelta {
    /// `convergence_delta` (LIG: Σ scores − (f(x) − f(baseline))) or `efficiency_gap`
    /// (Kernel SHAP: Σ scores − (f(x) − f(all removed))).
    pub name: &'static str,
    /// Its value.
    pub value: f64,
}

/// One method's attribution of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodExplanation {
    /// The method.
    pub method: TextMethod,
    /// The explained text.
    pub text: String,
    /// What was explained.
    pub task: TextTask,
    /// The tokens as strings.
    pub tokens: Vec<String>,
    /// Token ids.
    pub ids: Vec<u32>,
    /// Character offsets of every token in `text` (`(0, 0)` for special tokens).
    pub offsets: Vec<(usize, usize)>,
    /// Whether each token is a special token.
    pub special: Vec<bool>,
    /// The explained output: class index or next-token id.
    pub target: usize,
    /// Its name.
    pub target_label: String,
    /// The scored features as token positions (LIG: every token alone; perturbation
    /// methods: the non-special tokens or the words).
    pub features: Vec<Vec<usize>>,
    /// One score per feature.
    pub feature_scores: Vec<f64>,
    /// One score per token (a feature's score on each of its tokens; 0 for tokens in no
    /// feature).
    pub scores: Vec<f64>,
    /// The explained output on the whole text (LIG: the logit or log-probability;
    /// perturbation methods: the probability).
    pub output: f64,
    /// The method's delta, where it has one.
    pub delta: Option<MethodDelta>,
    /// Model rows evaluated.
    pub evaluations: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Word scores of the token scores, when asked for.
    pub words: Option<WordScores>,
}

impl TextExplainer {
    /// Explains `text` with `method` (see [`TextMethod`] for what applies to which model;
    /// rollout of a GPT-2 is an [`Error::Capability`]). The perturbation methods remove
    /// features as `options.perturb.removal` says for a BERT classifier; a GPT-2's removed
    /// tokens become `<|endoftext|>` (its text has no special tokens, so deleting them all
    /// would leave nothing to predict from).
    pub fn explain_method(
        &self,
        text: &str,
        method: TextMethod,
        options: &MethodOptions,
    ) -> Result<MethodExplanation> {
        if !method.applies_to(self.task()) {
            return Err(Error::Capability {
                path: self.path.display().to_string(),
                action: "be explained by attention rollout (a BertForSequenceClassification \
                         can; GPT-2 takes lig, occlusion, kernel_shap or lime)",
                kind: "GPT2LMHeadModel".into(),
            });
        }
        let start = Instant::now();
        let mut e = match method.perturb() {
            None => self.lig_method(text, options)?,
            Some(m) => self.perturb_method(text, method, m, options)?,
        };
        e.seconds = start.elapsed().as_secs_f64();
        e.words = match options.words {
            None => None,
            // Whole words were removed: the features are the words.
            Some(how)
                if method != TextMethod::Lig
                    && options.perturb.granularity == Granularity::Words =>
            {
                Some(feature_words(&e, how))
            }
            Some(how) => Some(aggregate_words(
                text, &e.offsets, &e.special, &e.scores, how,
            )?),
        };
        Ok(e)
    }

    fn lig_method(&self, text: &str, options: &MethodOptions) -> Result<MethodExplanation> {
        let lig_options = TextLigOptions {
            target: options.target,
            words: None,
            ..options.lig.clone()
        };
        let e = self.lig(text, &lig_options)?;
        Ok(MethodExplanation {
            method: TextMethod::Lig,
            features: (0..e.tokens.len()).map(|t| vec![t]).collect(),
            feature_scores: e.scores.clone(),
            output: e.lig.output,
            delta: Some(MethodDelta {
                name: "convergence_delta",
                value: e.lig.convergence_delta,
            }),
            evaluations: e.lig.evaluations,
            text: e.text,
            task: e.task,
            tokens: e.tokens,
            ids: e.ids,
            offsets: e.offsets,
            special: e.special,
            target: e.target,
            target_label: e.target_label,
            scores: e.scores,
            seconds: 0.0,
            words: None,
        })
    }

    fn perturb_method(
        &self,
        text: &str,
        method: TextMethod,
        m: PerturbMethod,
        options: &MethodOptions,
    ) -> Result<MethodExplanation> {
        let enc = self.encode(text)?;
        let features = text_features(text, &enc, options.perturb.granularity)?;
        let pad_id = self.tokenizer.pad_id();
        let (target, scores) = match &self.network {
            TextNetwork::Classifier { model, .. } => {
                let p = BertPredictor { model, pad_id };
                let target = match options.target {
                    Some(t) => t,
                    None => argmax(p.predict_ids(std::slice::from_ref(&enc.ids)))?,
                };
                let s = if m == PerturbMethod::Rollout {
                    MethodScores::plain(rollout_scores(
                        model,
                        &features,
                        &RolloutConfig::default(),
                    )?)
                } else {
                    perturb_scores(&p, m, &features, target, &options.perturb)?
                };
                (target, s)
            }
            TextNetwork::NextToken { model, baseline_id } => {
                let target = match options.target {
                    Some(t) => t,
                    None => {
                        let b = Batch::from_ids(std::slice::from_ref(&enc.ids), pad_id)?;
                        let logits = no_grad(|| model.forward(&b))?.value().to_vec();
                        let v = model.config.vocab_size;
                        let last = &logits[(enc.len() - 1) * v..enc.len() * v];
                        glassbox_tensor::ops::reduce::argmax(last)
                    }
                };
                let id = u32::try_from(target).map_err(|_| {
                    Error::Input(format!("next-token target {target} is not a token id"))
                })?;
                let p = Gpt2NextToken {
                    model,
                    pad_id,
                    targets: vec![id],
                };
                // A GPT-2 text has no special tokens: deleting every token would leave
                // nothing to predict from, so removed tokens become the LIG baseline's
                // `<|endoftext|>`.
                let config = TextMethodConfig {
                    removal: Removal::Replace(*baseline_id),
                    ..options.perturb.clone()
                };
                (target, perturb_scores(&p, m, &features, 0, &config)?)
            }
        };
        self.assemble(text, enc, method, target, &features, scores)
    }

    fn assemble(
        &self,
        text: &str,
        enc: Encoding,
        method: TextMethod,
        target: usize,
        features: &TextFeatures,
        s: MethodScores,
    ) -> Result<MethodExplanation> {
        Ok(MethodExplanation {
            method,
            text: text.to_string(),
            task: self.task(),
            scores: features.token_scores(&s.scores)?,
            features: features.groups().to_vec(),
            feature_scores: s.scores,
            output: s.output,
            delta: s.delta,
            evaluations: s.evaluations,
            target_label: self.target_label(target)?,
            target,
            special: enc.special_tokens_mask.iter().map(|&v| v == 1).collect(),
            tokens: enc.tokens,
            ids: enc.ids,
            offsets: enc.offsets,
            seconds: 0.0,
            words: None,
        })
    }
}

/// The features of a word-granularity explanation as words (each scored as a whole).
fn feature_words(e: &MethodExplanation, how: WordAggregation) -> WordScores {
    let chars: Vec<char> = e.text.chars().collect();
    let mut in_word = vec![false; e.tokens.len()];
    let words = e
        .features
        .iter()
        .zip(&e.feature_scores)
        .map(|(g, &score)| {
            g.iter().for_each(|&t| in_word[t] = true);
            let start = g.iter().map(|&t| e.offsets[t].0).min().unwrap_or(0);
            let end = g.iter().map(|&t| e.offsets[t].1).max().unwrap_or(start);
            WordScore {
                text: chars[start.min(chars.len())..end.min(chars.len())]
                    .iter()
                    .collect(),
                start,
                end,
                tokens: g.clone(),
                score,
            }
        })
        .collect();
    let unaligned = (0..e.tokens.len())
        .filter(|&t| !in_word[t])
        .map(|t| UnalignedToken {
            token: t,
            special: e.special[t],
            offsets: e.offsets[t],
            score: e.scores[t],
        })
        .collect();
    WordScores {
        aggregation: how,
        words,
        unaligned,
    }
}

fn argmax(y: glassbox_explain::predictor::PredictResult) -> Result<usize> {
    let y = y.map_err(|e| Error::Input(format!("classifying the text: {e}")))?;
    let row: Vec<f32> = y.row(0).iter().map(|&v| v as f32).collect();
    Ok(glassbox_tensor::ops::reduce::argmax(&row))
}

/// A perturbation method's scores with what it reports beside them.
pub(crate) struct MethodScores {
    pub scores: Vec<f64>,
    pub output: f64,
    pub delta: Option<MethodDelta>,
    pub evaluations: usize,
}

impl MethodScores {
    fn plain(scores: Vec<f64>) -> Self {
        MethodScores {
            scores,
            output: f64::NAN,
            delta: None,
            evaluations: 1,
        }
    }
}

/// Occlusion, Kernel SHAP or LIME of output column `target` of `p` (not rollout, not
/// random).
pub(crate) fn perturb_scores<P: TokenPredictor + ?Sized>(
    p: &P,
    method: PerturbMethod,
    features: &TextFeatures,
    target: usize,
    config: &TextMethodConfig,
) -> Result<MethodScores> {
    let budget = config.budget.clone();
    Ok(match method {
        PerturbMethod::Occlusion => {
            let cfg = TextOcclusionConfig {
                budget,
                ..TextOcclusionConfig::new(config.removal)
            };
            let a = text_occlusion(p, features, target, &cfg)?;
            MethodScores {
                scores: a.scores,
                output: a.output,
                delta: None,
                evaluations: a.evaluations,
            }
        }
        PerturbMethod::KernelShap => {
            let cfg = TextKernelShapConfig {
                seed: config.seed,
                budget,
                ..TextKernelShapConfig::new(config.removal, config.shap_samples)
            };
            let a = text_kernel_shap(p, features, target, &cfg)?;
            let gap = a.scores.iter().sum::<f64>() - (a.output - a.removed_output);
            MethodScores {
                scores: a.scores,
                output: a.output,
                delta: Some(MethodDelta {
                    name: "efficiency_gap",
                    value: gap,
                }),
                evaluations: a.evaluations,
            }
        }
        PerturbMethod::Lime => {
            let cfg = LimeTextConfig {
                seed: config.seed,
                budget,
                ..LimeTextConfig::new(config.removal, config.lime_samples)
            };
            let a = lime_text(p, features, target, &cfg)?;
            MethodScores {
                scores: a.weights,
                output: a.model_prediction,
                delta: None,
                evaluations: a.evaluations,
            }
        }
        PerturbMethod::Rollout | PerturbMethod::Random => {
            return Err(Error::Input(format!(
                "{} is not a perturbation method of a token predictor",
                method.name()
            )))
        }
    })
}
