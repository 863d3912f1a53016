//! Gradient attributions of a differentiable `glassbox-nn` model, as Captum defines them.
//!
//! | function | method |
//! | --- | --- |
//! | [`saliency`], [`input_gradients`] | Saliency (abs or signed) |
//! | [`input_x_gradient`] | Input × Gradient |
//! | [`integrated_gradients`] | Integrated Gradients: per-input or shared baselines, Riemann left/right/middle/trapezoid and Gauss–Legendre ([`Approximation`]), batched under a row/byte cap ([`BatchCap`]), with the convergence delta |
//! | [`integrated_gradients_adaptive`] | Integrated Gradients refined until complete within a tolerance: kink-aware (exact on piecewise-linear models), bisection with Simpson elsewhere, under an evaluation budget |
//! | [`noise_tunnel`] | SmoothGrad, SmoothGrad², VarGrad around any method, seeded |
//! | [`deeplift`] | DeepLIFT, rescale rule |
//! | [`guided_backprop`], [`deconvolution`] | modified ReLU backward rules |
//! | [`grad_cam`], [`interpolate`] | Grad-CAM on any named layer, nearest/bilinear upsampling |
//! | [`layer_integrated_gradients`], [`layer_conductance`] | layer methods on any named layer |
//! | [`GradientAttribution`] | any of them behind the crate's [`Attribution`](crate::Attribution) trait |
//!
//! Inputs are f32 [`Tensor`](glassbox_tensor::Tensor) batches `[N, …]` (what the model
//! consumes); attributions are `f64` arrays shaped like the input (or the layer output).
//! `targets` is one output index per row, or a single index for all rows. Models are
//! wrapped in a [`GradModel`], which walks nested `Sequential`s to name layers and swap
//! activation backward rules (see [`model`] for what is supported).
//!
//! ```
//! use glassbox_explain::gradient::{integrated_gradients, saliency, GradModel, IgConfig};
//! use glassbox_nn::{Activation, Linear, Sequential};
//! use glassbox_tensor::{rng::Rng, Tensor};
//!
//! let mut rng = Rng::new(0);
//! let net = Sequential::new()
//!     .add(Linear::new(3, 8, true, &mut rng)?)
//!     .add(Activation::tanh())
//!     .add(Linear::new(8, 2, true, &mut rng)?);
//! let model = GradModel::new(&net);
//! let x = Tensor::from_vec(vec![0.5, -1.0, 2.0, 1.0, 0.0, -0.5], &[2, 3])?;
//! let s = saliency(&model, &x, &[1], true)?;
//! assert_eq!(s.shape(), &[2, 3]);
//! let ig = integrated_gradients(&model, &x, &[1, 0], &IgConfig::default())?;
//! // Completeness: attributions sum to f(x) − f(0) up to the quadrature error.
//! assert!(ig.convergence_delta.iter().all(|d| d.abs() < 1e-3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adaptive;
mod approx;
mod core;
mod deeplift;
mod error;
mod gradcam;
mod integrated;
mod kronrod;
mod layer;
pub mod model;
mod noise_tunnel;
mod path;
mod rows;
mod rules;
mod simple;

pub use self::core::{from_array, to_array, Baseline, BatchCap};
pub(crate) use self::core::{pick, target_mask};
pub use adaptive::{integrated_gradients_adaptive, AdaptiveAttributions, AdaptiveIgConfig};
pub(crate) use adaptive::{refine_path, PathEval, RefineRule};
pub use approx::{gauss_legendre, Approximation};
pub use deeplift::deeplift;
pub use error::{GradientError, Result};
pub use gradcam::{grad_cam, interpolate, Interpolation};
pub use integrated::{
    integrated_gradients, integrated_gradients_rows, AttributionsWithDelta, IgConfig,
};
pub use kronrod::{gauss_kronrod, GaussKronrod};
pub use layer::{layer_conductance, layer_integrated_gradients};
pub use model::{GradModel, Layer};
pub use noise_tunnel::{noise_tunnel, NoiseTunnelConfig, NoiseTunnelKind};
pub(crate) use path::{path_integrals_chunked, Paths};
pub use rows::{GradientAttribution, GradientMethod};
pub use rules::{deconv_relu, guided_relu, rescale, DEEPLIFT_EPS};
pub use simple::{deconvolution, guided_backprop, input_gradients, input_x_gradient, saliency};
