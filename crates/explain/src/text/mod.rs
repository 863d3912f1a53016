//! Explanations of text models over token ids: attention as data (rollout and flow),
//! perturbation methods over tokens or words (occlusion, Kernel SHAP, LIME), and
//! faithfulness measures (ERASER's AOPC comprehensiveness and sufficiency, deletion and
//! insertion curves) for any ranking of the tokens.
//!
//! Perturbation methods see a model only through [`TokenPredictor`] (rows of token ids in,
//! one output column per class out); [`MaskedText`] turns one input text into a
//! [`Predictor`](crate::Predictor) over presence masks, so the crate's Kernel SHAP, feature
//! occlusion, LIME's weighted ridge and the deletion/insertion curves run on it unchanged.

mod faithfulness;
mod lime_text;
mod perturb;
mod perturb_methods;
mod perturb_words;
mod rollout;

pub use faithfulness::{
    aopc, faithfulness, random_faithfulness, random_scores, text_curves, AopcScores, Faithfulness,
    FaithfulnessConfig, TextCurves, ERASER_BINS,
};
pub use lime_text::{lime_text, LimeTextConfig, LimeTextExplanation};
pub use perturb::{BudgetSpent, MaskedText, Removal, TextBudget, TextFeatures, TokenPredictor};
pub use perturb_methods::{
    text_kernel_shap, text_occlusion, TextAttribution, TextKernelShapConfig, TextOcclusionConfig,
};
pub use perturb_words::word_groups;
pub use rollout::{
    attention_flow, attention_rollout, augmented_attention, max_flow_value, HeadFusion,
    RolloutConfig,
};
