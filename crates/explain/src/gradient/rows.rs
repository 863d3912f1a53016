//! Gradient methods behind the crate's [`Attribution`] trait, over `f64` rows: each row is
//! reshaped to the model's sample shape (e.g. `[1, 28, 28]`), so the checks and pictures of
//! this crate apply unchanged.

use ndarray::{Array2, ArrayView2};

use super::core::{from_array, Baseline};
use super::deeplift::deeplift;
use super::error::GradientError;
use super::integrated::{integrated_gradients, IgConfig};
use super::model::GradModel;
use super::simple::{guided_backprop, input_x_gradient, saliency};
use crate::attribution::Attribution;

/// Which gradient method a [`GradientAttribution`] runs.
#[derive(Debug, Clone)]
pub enum GradientMethod {
    /// Saliency (`abs` = absolute value).
    Saliency {
        /// Absolute gradients (Captum's default).
        abs: bool,
    },
    /// Input × Gradient.
    InputXGradient,
    /// Integrated Gradients.
    IntegratedGradients(IgConfig),
    /// DeepLIFT (rescale) from a baseline.
    DeepLift(Baseline),
    /// Guided backprop.
    GuidedBackprop,
}

/// A gradient method bound to a model and its sample shape.
#[derive(Debug, Clone)]
pub struct GradientAttribution<'a> {
    /// The walked model.
    pub model: GradModel<'a>,
    /// Shape of one sample (rows of `x` are reshaped to `[N, sample_shape…]`).
    pub sample_shape: Vec<usize>,
    /// The method.
    pub method: GradientMethod,
}

impl GradientAttribution<'_> {
    fn run(&self, x: ArrayView2<f64>, target: usize) -> Result<Array2<f64>, GradientError> {
        let mut shape = vec![x.nrows()];
        shape.extend_from_slice(&self.sample_shape);
        let per: usize = self.sample_shape.iter().product();
        if per != x.ncols() {
            return Err(GradientError::Shape {
                op: "GradientAttribution",
                what: "rows",
                expected: format!("{per} columns (sample shape {:?})", self.sample_shape),
                found: vec![x.nrows(), x.ncols()],
            });
        }
        let xt = from_array(
            &x.to_owned()
                .into_shape_with_order(shape)
                .expect("sizes checked"),
        );
        let m = &self.model;
        let t = [target];
        let a = match &self.method {
            GradientMethod::Saliency { abs } => saliency(m, &xt, &t, *abs)?,
            GradientMethod::InputXGradient => input_x_gradient(m, &xt, &t)?,
            GradientMethod::IntegratedGradients(c) => {
                integrated_gradients(m, &xt, &t, c)?.attributions
            }
            GradientMethod::DeepLift(b) => deeplift(m, &xt, &t, b)?.attributions,
            GradientMethod::GuidedBackprop => guided_backprop(m, &xt, &t)?,
        };
        Ok(a.into_shape_with_order(x.dim())
            .expect("same element count"))
    }
}

impl Attribution for GradientAttribution<'_> {
    fn attribute(&self, x: ArrayView2<f64>, target: usize) -> crate::Result<Array2<f64>> {
        Ok(self.run(x, target)?)
    }

    fn multiplies_by_inputs(&self) -> bool {
        matches!(
            self.method,
            GradientMethod::InputXGradient
                | GradientMethod::IntegratedGradients(_)
                | GradientMethod::DeepLift(_)
        )
    }
}
