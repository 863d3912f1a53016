//! Adaptive, kink-aware Integrated Gradients: refines the path integral until the
//! completeness error of every piece of the path is within a tolerance, exactly so for
//! piecewise-linear (ReLU) networks. See [`integrated_gradients_adaptive`].
//!
//! - `config`: the settings ([`AdaptiveIgConfig`], the model-independent `RefineRule`)
//!   and their validation;
//! - `driver`: [`integrated_gradients_adaptive`] on a [`super::GradModel`], one path per
//!   input;
//! - `evaluator`: one input's path, `F` and `G` evaluated at its points (`refine_path` for
//!   any `PathEval`);
//! - `path`: the state of one path, its points and pieces, and the tests and estimates of
//!   one piece;
//! - `rounds`: the start rule and the refinement rounds over the open pieces.

mod config;
mod driver;
mod evaluator;
mod path;
mod rounds;

pub use config::AdaptiveIgConfig;
pub(crate) use config::RefineRule;
pub use driver::{integrated_gradients_adaptive, AdaptiveAttributions};
pub(crate) use evaluator::{refine_path, PathEval};

const OP: &str = "integrated_gradients_adaptive";

#[cfg(test)]
mod tests;
