//! LIME: local surrogate explanations (Ribeiro et al., 2016) for tabular rows and images.
//!
//! Samples are drawn around an input in an interpretable binary or scaled space, weighted
//! by an exponential kernel of their distance to the input, and a weighted ridge regression
//! of the model's output is fitted; its coefficients are the explanation and its weighted
//! R² says how well the linear surrogate fits locally.

mod image;
mod segmentation;
mod tabular;

pub use image::{lime_image, HideValue, LimeImageConfig, LimeImageExplanation};
pub use segmentation::{segment, ImageShape, Segmentation};
pub use tabular::{LimeTabular, LimeTabularConfig, LimeTabularExplanation};

/// LIME's kernel: `sqrt(exp(−d² / width²))`.
pub(crate) fn kernel(d: f64, width: f64) -> f64 {
    (-(d * d) / (width * width)).exp().sqrt()
}
