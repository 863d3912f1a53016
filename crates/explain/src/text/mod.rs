//! Token and word attributions of text models.
//!
//! | item | what |
//! | --- | --- |
//! | [`EmbeddingModel`] | a text model split at its embedding layer (implemented in `glassbox` for Hugging Face BERT and GPT-2) |
//! | [`layer_integrated_gradients`] | Layer Integrated Gradients on that layer: `[tokens, hidden]` attributions, per-token scores, convergence delta; fixed rule, or adaptive (Gauss–Legendre doubling for smooth models, kink refinement for piecewise-linear ones), row cap |
//! | [`CausalLm`], [`generation_lig`], [`generation_ablation`] | attributions of a generated continuation: each generated token over the prompt and the earlier generated tokens (Captum's `LLMGradientAttribution` / `LLMAttribution`) |
//! | [`aggregate_words`] | subword scores to words through character offsets (sum, mean, max-abs) |
//! | [`attention_rollout`], [`attention_flow`] | attention as data (Abnar & Zuidema 2020): heuristics over the attention graph, not explanations |
//! | [`text_occlusion`], [`text_kernel_shap`], [`lime_text`] | perturbation methods over tokens or words ([`word_groups`]: the words of [`aggregate_words`]) through a [`TokenPredictor`] |
//! | [`aopc`], [`faithfulness`], [`text_curves`] | faithfulness measured: ERASER comprehensiveness and sufficiency, deletion and insertion curves, against [`random_faithfulness`] |
//!
//! Perturbation methods see a model only through [`TokenPredictor`] (rows of token ids in,
//! one output column per class out); [`MaskedText`] turns one input text into a
//! [`Predictor`](crate::Predictor) over presence masks, so the crate's Kernel SHAP, feature
//! occlusion, LIME's weighted ridge and the deletion/insertion curves run on it unchanged.
//!
//! The model is seen only through these traits, so this crate never depends on a
//! tokenizer or a model format: `glassbox` (the umbrella crate) implements them for
//! `glassbox-hf`'s models and adds tokens and offsets.
//!
//! ```
//! use glassbox_autograd::Var;
//! use glassbox_explain::text::{layer_integrated_gradients, EmbeddingModel, TextLigConfig};
//! use glassbox_explain::PredictError;
//! use glassbox_tensor::Tensor;
//!
//! /// Embeddings `table[id]` (hidden 2); outputs `[Σ tanh(e), Σ e²]` over the sequence.
//! struct Toy {
//!     table: Vec<[f32; 2]>,
//! }
//!
//! impl EmbeddingModel for Toy {
//!     fn layer_name(&self) -> &str {
//!         "embeddings"
//!     }
//!     fn hidden_size(&self) -> usize {
//!         2
//!     }
//!     fn embed(&self, ids: &[u32]) -> Result<Tensor, PredictError> {
//!         let v = ids.iter().flat_map(|&i| self.table[i as usize]).collect();
//!         Ok(Tensor::from_vec(v, &[ids.len(), 2])?)
//!     }
//!     fn forward_from_embeddings(&self, e: &Var, _ids: &[u32]) -> Result<Var, PredictError> {
//!         let a = e.tanh().sum_axes(&[1, 2], false)?;
//!         let b = e.mul(e)?.sum_axes(&[1, 2], false)?;
//!         Ok(Var::stack(&[a, b], 1)?)
//!     }
//! }
//!
//! let toy = Toy { table: vec![[0.0, 0.0], [1.0, -0.5], [0.25, 2.0]] };
//! // Explain output 0 of the sequence [1, 2, 1] against the baseline [0, 0, 0].
//! let r = layer_integrated_gradients(&toy, &[1, 2, 1], &[0, 0, 0], Some(0), &TextLigConfig::default())?;
//! assert_eq!(r.attributions.dim(), (3, 2));
//! // Completeness: the token scores add up to f(x) − f(baseline).
//! assert!(r.convergence_delta.abs() < 1e-5);
//! // Tokens 0 and 2 are the same token with the same embedding: the same score.
//! assert!((r.token_scores[0] - r.token_scores[2]).abs() < 1e-6);
//! # Ok::<(), glassbox_explain::ExplainError>(())
//! ```

mod faithfulness;
mod generation;
mod generation_ablation;
mod lig;
mod lig_doubling;
mod lime_text;
mod model;
mod perturb;
mod perturb_methods;
mod rollout;
mod words;

pub use faithfulness::{
    aopc, faithfulness, random_faithfulness, random_scores, text_curves, AopcScores, Faithfulness,
    FaithfulnessConfig, TextCurves, ERASER_BINS,
};
pub use generation::{
    generation_lig, greedy_continuation, CausalLm, GenerationAttributions, GenerationMethod,
};
pub use generation_ablation::generation_ablation;
pub use lig::{layer_integrated_gradients, LigRule, TextLigConfig, TokenAttributions};
pub use lime_text::{lime_text, LimeTextConfig, LimeTextExplanation};
pub use model::EmbeddingModel;
pub use perturb::{BudgetSpent, MaskedText, Removal, TextBudget, TextFeatures, TokenPredictor};
pub use perturb_methods::{
    text_kernel_shap, text_occlusion, TextAttribution, TextKernelShapConfig, TextOcclusionConfig,
};
pub use rollout::{
    attention_flow, attention_rollout, augmented_attention, max_flow_value, HeadFusion,
    RolloutConfig,
};
pub use words::{
    aggregate_words, word_groups, word_spans, UnalignedToken, WordAggregation, WordScore,
    WordScores,
};
