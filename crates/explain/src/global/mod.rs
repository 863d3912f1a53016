//! Global, model-agnostic views of a model: permutation feature importance, partial
//! dependence and individual conditional expectation (ICE) curves.

mod partial_dependence;
mod permutation_importance;

pub use partial_dependence::{partial_dependence, PartialDependence, PartialDependenceConfig};
pub use permutation_importance::{
    accuracy_scorer, neg_mean_squared_error_scorer, permutation_importance,
    permutation_importance_features, PermutationImportance, PermutationImportanceConfig,
};
