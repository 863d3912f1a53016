//! Perturbation explanations of a BERT classifier and their faithfulness table: each
//! method's ranking of a text's features is scored with ERASER's AOPC comprehensiveness
//! and sufficiency and with deletion and insertion curves, next to random rankings.

use std::time::Instant;

use glassbox_explain::text::{
    faithfulness, random_faithfulness, FaithfulnessConfig, Removal, RolloutConfig, TextBudget,
    TextFeatures, TokenPredictor,
};
use glassbox_hf::{BertForSequenceClassification, Tokenizer};
use rayon::prelude::*;
use serde::Serialize;

use super::methods::perturb_scores;
use super::perturb::{rollout_scores, text_features, BertPredictor, Granularity};
use crate::error::{Error, Result};

/// A built-in explanation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerturbMethod {
    /// Leave-one-out occlusion ([`text_occlusion`], window 1).
    Occlusion,
    /// Kernel SHAP ([`text_kernel_shap`]).
    KernelShap,
    /// LIME for text ([`lime_text`]).
    Lime,
    /// Attention rollout of `[CLS]` (a heuristic; [`rollout_scores`]).
    Rollout,
    /// Seeded random rankings, averaged over `random_draws` (the baseline).
    Random,
}

impl PerturbMethod {
    /// The method's name in tables.
    pub fn name(self) -> &'static str {
        match self {
            PerturbMethod::Occlusion => "occlusion",
            PerturbMethod::KernelShap => "kernel_shap",
            PerturbMethod::Lime => "lime",
            PerturbMethod::Rollout => "rollout",
            PerturbMethod::Random => "random",
        }
    }
}

/// `scores(features, target)` of a custom scorer: one score per feature.
pub type ScoreFn<'a> = Box<dyn Fn(&TextFeatures, usize) -> Result<Vec<f64>> + Sync + 'a>;

/// A method's scores for a table row: built in, or given by the caller (e.g. Layer
/// Integrated Gradients, one score per feature of the text for the target class).
pub enum Scorer<'a> {
    /// A built-in method.
    Method(PerturbMethod),
    /// `scores(features, target)`: one score per feature.
    Custom {
        /// Name in the table.
        name: String,
        /// The scores.
        scores: ScoreFn<'a>,
    },
}

impl std::fmt::Debug for Scorer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scorer::Method(m) => write!(f, "Scorer::Method({m:?})"),
            Scorer::Custom { name, .. } => write!(f, "Scorer::Custom({name})"),
        }
    }
}

/// Settings of [`explain_with`] and [`faithfulness_table`].
#[derive(Debug, Clone)]
pub struct TextMethodConfig {
    /// Tokens or words.
    pub granularity: Granularity,
    /// How the explanation methods remove features (the faithfulness measures use
    /// `faithfulness.removal`).
    pub removal: Removal,
    /// Kernel SHAP coalitions.
    pub shap_samples: usize,
    /// LIME samples.
    pub lime_samples: usize,
    /// Seed of Kernel SHAP, LIME and the random rankings.
    pub seed: u64,
    /// Random rankings averaged per text for [`PerturbMethod::Random`].
    pub random_draws: usize,
    /// Budget and stop check of each explanation.
    pub budget: TextBudget,
    /// Bins, removal, curve points and budget of the measures.
    pub faithfulness: FaithfulnessConfig,
}

impl Default for TextMethodConfig {
    fn default() -> Self {
        TextMethodConfig {
            granularity: Granularity::Tokens,
            removal: Removal::Delete,
            shap_samples: 500,
            lime_samples: 500,
            seed: 0,
            random_draws: 5,
            budget: TextBudget::default(),
            faithfulness: FaithfulnessConfig::default(),
        }
    }
}

/// The scores of one built-in method (not [`PerturbMethod::Random`]) for `features`
/// and class `target`.
pub fn explain_with(
    method: PerturbMethod,
    model: &BertForSequenceClassification,
    pad_id: u32,
    features: &TextFeatures,
    target: usize,
    config: &TextMethodConfig,
) -> Result<Vec<f64>> {
    match method {
        PerturbMethod::Rollout => rollout_scores(model, features, &RolloutConfig::default()),
        m => Ok(perturb_scores(
            &BertPredictor { model, pad_id },
            m,
            features,
            target,
            config,
        )?
        .scores),
    }
}

/// One row of the faithfulness table: means over the texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaithfulnessRow {
    /// Method name.
    pub method: String,
    /// AOPC comprehensiveness (higher is better).
    pub comprehensiveness: f64,
    /// AOPC sufficiency (lower is better).
    pub sufficiency: f64,
    /// Deletion-curve area (lower is better).
    pub deletion_auc: f64,
    /// Insertion-curve area (higher is better).
    pub insertion_auc: f64,
    /// Texts measured.
    pub texts: usize,
    /// Mean wall-clock seconds of one explanation (0 for the random baseline).
    pub seconds_per_text: f64,
}

/// The faithfulness table of `scorers` on `texts`: each text is encoded with `tokenizer`
/// (its truncation applies), explained for the class the model predicts, and the
/// explanation measured with [`faithfulness`] (random rankings with
/// [`random_faithfulness`]). Texts run in parallel; the rows are means over the texts.
pub fn faithfulness_table(
    model: &BertForSequenceClassification,
    tokenizer: &Tokenizer,
    texts: &[&str],
    scorers: &[Scorer<'_>],
    config: &TextMethodConfig,
) -> Result<Vec<FaithfulnessRow>> {
    if texts.is_empty() || scorers.is_empty() {
        return Err(Error::Input(
            "a faithfulness table needs at least one text and one method".into(),
        ));
    }
    let pad_id = tokenizer.pad_id();
    let p = BertPredictor { model, pad_id };
    // Per text: (f, seconds) per scorer.
    let per_text = texts
        .par_iter()
        .enumerate()
        .map(|(i, &text)| -> Result<Vec<(Faithfulness4, f64)>> {
            let enc = tokenizer.encode(text, true)?;
            let features = text_features(text, &enc, config.granularity)?;
            let y = p
                .predict_ids(std::slice::from_ref(&enc.ids))
                .map_err(|e| Error::Input(format!("text {i}: {e}")))?;
            let target = glassbox_tensor::ops::reduce::argmax(
                &y.row(0).iter().map(|&v| v as f32).collect::<Vec<_>>(),
            );
            scorers
                .iter()
                .map(|s| {
                    let start = Instant::now();
                    let f = match s {
                        Scorer::Method(PerturbMethod::Random) => {
                            let f = random_faithfulness(
                                &p,
                                &features,
                                target,
                                &config.faithfulness,
                                config.random_draws,
                                config.seed ^ i as u64,
                            )?;
                            return Ok((Faithfulness4::from(f), 0.0));
                        }
                        Scorer::Method(m) => {
                            explain_with(*m, model, pad_id, &features, target, config)?
                        }
                        Scorer::Custom { scores, .. } => scores(&features, target)?,
                    };
                    let seconds = start.elapsed().as_secs_f64();
                    let m = faithfulness(&p, &features, &f, target, &config.faithfulness)?;
                    Ok((Faithfulness4::from(m), seconds))
                })
                .collect()
        })
        .collect::<Result<Vec<_>>>()?;
    let n = texts.len() as f64;
    Ok(scorers
        .iter()
        .enumerate()
        .map(|(s, scorer)| {
            let mean =
                |g: fn(&Faithfulness4) -> f64| per_text.iter().map(|r| g(&r[s].0)).sum::<f64>() / n;
            FaithfulnessRow {
                method: match scorer {
                    Scorer::Method(m) => m.name().to_string(),
                    Scorer::Custom { name, .. } => name.clone(),
                },
                comprehensiveness: mean(|f| f.0),
                sufficiency: mean(|f| f.1),
                deletion_auc: mean(|f| f.2),
                insertion_auc: mean(|f| f.3),
                texts: texts.len(),
                seconds_per_text: per_text.iter().map(|r| r[s].1).sum::<f64>() / n,
            }
        })
        .collect())
}

/// Comprehensiveness, sufficiency, deletion and insertion areas.
struct Faithfulness4(f64, f64, f64, f64);

impl From<glassbox_explain::text::Faithfulness> for Faithfulness4 {
    fn from(f: glassbox_explain::text::Faithfulness) -> Self {
        Faithfulness4(
            f.comprehensiveness,
            f.sufficiency,
            f.deletion_auc,
            f.insertion_auc,
        )
    }
}
