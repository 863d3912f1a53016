//! Explanations of Hugging Face text models: Layer Integrated Gradients of a BERT
//! classifier's class or a GPT-2's next token, attributions of a GPT-2 continuation, and
//! word scores, with tokens and character offsets into the text; the same models as
//! explain's [`TokenPredictor`](glassbox_explain::text::TokenPredictor) for occlusion,
//! Kernel SHAP and LIME over tokens or words, attention maps for rollout and flow, and
//! faithfulness tables (ERASER AOPC, deletion and insertion curves) for any method.
//!
//! [`TextExplainer::explain_method`] runs any [`TextMethod`] (LIG, occlusion, Kernel SHAP,
//! LIME, rollout) in one shape; [`TextExplainer::report_sample`] and
//! [`report_faithfulness`] turn the results into the report's text page, and
//! [`TextExplainer::faithfulness`] measures every method (LIG through
//! [`TextExplainer::lig_scorer`]) next to random rankings. A classifier trained in memory is
//! explained through [`TextExplainer::from_text_classifier`].
//!
//! The algorithms are `glassbox-explain`'s ([`glassbox_explain::text`]); this module
//! implements its traits for `glassbox-hf`'s models ([`BertEmbeddingModel`],
//! [`Gpt2EmbeddingModel`]) and ties them to the tokenizer ([`TextExplainer`]).
//!
//! ```
//! use glassbox::explain_text::{TextExplainer, TextLigOptions};
//! use glassbox::explain::text::WordAggregation;
//!
//! let dir = glassbox_testkit::reference_path("transformers/bert_tiny");
//! let explainer = TextExplainer::from_dir(&dir)?;
//! let options = TextLigOptions { words: Some(WordAggregation::Sum), ..TextLigOptions::default() };
//! let e = explainer.lig("Free money!!! Click here", &options)?;
//! assert_eq!(e.tokens.len(), e.scores.len());
//! assert_eq!(e.attributions().dim(), (e.tokens.len(), 32));
//! // 50 Gauss–Legendre points: the scores add up to f(x) − f(baseline).
//! assert!(e.convergence_delta().abs() < 1e-3 * e.output_difference().abs().max(1e-3));
//! let words = e.words.as_ref().unwrap();
//! assert_eq!(words.words[0].text, "Free");
//! # Ok::<(), glassbox::Error>(())
//! ```

mod faithfulness;
mod generation;
mod lig;
mod methods;
mod models;
mod page;
mod perturb;
mod table;

pub use faithfulness::{
    explain_with, faithfulness_table, FaithfulnessRow, PerturbMethod, ScoreFn, Scorer,
    TextMethodConfig,
};
pub use generation::{GenerationExplanation, GenerationOptions};
pub(crate) use lig::TextNetwork;
pub use lig::{TextExplainer, TextExplanation, TextLigOptions, TextTask};
pub use methods::{MethodDelta, MethodExplanation, MethodOptions, TextMethod};
pub use models::{freeze_parameters, BertEmbeddingModel, BertMeanPooledModel, Gpt2EmbeddingModel};
pub use page::{report_attribution, report_faithfulness};
pub use perturb::{
    attention_maps, rollout_scores, text_features, BertPredictor, Gpt2NextToken, Granularity,
};
