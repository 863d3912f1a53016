//! The [`Attribution`] trait shared by local attribution methods.
//!
//! Perturbation and Shapley methods implement it here; the gradient methods (saliency,
//! Integrated Gradients, DeepLIFT, Grad-CAM, …) will implement it over a `glassbox-nn`
//! module in a `gradient` module, so the checks ([`crate::checks`]) and pictures
//! ([`crate::plot`]) work with every method alike.

use ndarray::{Array2, ArrayView2};

use crate::error::Result;
use crate::perturbation::{feature_ablation, occlusion, FeatureAblationConfig, OcclusionConfig};
use crate::predictor::Predictor;
use crate::shapley::{KernelShap, PermutationShap};

/// A method attributing output `target` of a model to the features of each input row.
pub trait Attribution {
    /// Attributions `[inputs, features]` for rows `x` (`[inputs, features]`).
    fn attribute(&self, x: ArrayView2<f64>, target: usize) -> Result<Array2<f64>>;

    /// Whether the method's attributions are (input − baseline) × something, as in
    /// Captum's `multiplies_by_inputs`.
    fn multiplies_by_inputs(&self) -> bool {
        false
    }
}

/// [`feature_ablation`] bound to a predictor and its settings.
#[derive(Debug)]
pub struct FeatureAblation<'a, P: Predictor + ?Sized> {
    /// The model.
    pub predictor: &'a P,
    /// Settings.
    pub config: FeatureAblationConfig,
}

impl<P: Predictor + ?Sized> Attribution for FeatureAblation<'_, P> {
    fn attribute(&self, x: ArrayView2<f64>, target: usize) -> Result<Array2<f64>> {
        feature_ablation(self.predictor, x, target, &self.config)
    }
}

/// [`occlusion`] bound to a predictor and its settings.
#[derive(Debug)]
pub struct Occlusion<'a, P: Predictor + ?Sized> {
    /// The model.
    pub predictor: &'a P,
    /// Settings.
    pub config: OcclusionConfig,
}

impl<P: Predictor + ?Sized> Attribution for Occlusion<'_, P> {
    fn attribute(&self, x: ArrayView2<f64>, target: usize) -> Result<Array2<f64>> {
        occlusion(self.predictor, x, target, &self.config)
    }
}

impl<P: Predictor + ?Sized> Attribution for KernelShap<'_, P> {
    fn attribute(&self, x: ArrayView2<f64>, target: usize) -> Result<Array2<f64>> {
        self.explain(x)?.for_output(target)
    }
}

impl<P: Predictor + ?Sized> Attribution for PermutationShap<'_, P> {
    fn attribute(&self, x: ArrayView2<f64>, target: usize) -> Result<Array2<f64>> {
        self.explain(x)?.for_output(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{max_sensitivity, SensitivityConfig};
    use crate::shapley::{Background, KernelShapConfig};
    use ndarray::{array, Axis};

    #[test]
    fn methods_share_one_interface() {
        // Linear model: ablation with baseline 0 and Kernel SHAP with a zero background both
        // give w ⊙ x.
        let f = |x: ArrayView2<f64>| (2.0 * &x.column(0) - x.column(1)).insert_axis(Axis(1));
        let x = array![[1.0, 3.0]];
        let abl = FeatureAblation {
            predictor: &f,
            config: FeatureAblationConfig::default(),
        };
        let ks = KernelShap::new(
            &f,
            Background::new(array![[0.0, 0.0]]).unwrap(),
            KernelShapConfig::default(),
        )
        .unwrap();
        let methods: [&dyn Attribution; 2] = [&abl, &ks];
        for m in methods {
            let a = m.attribute(x.view(), 0).unwrap();
            assert!((a[[0, 0]] - 2.0).abs() < 1e-12 && (a[[0, 1]] + 3.0).abs() < 1e-12);
        }
        // the check functions take any method through a closure
        let s = max_sensitivity(
            |b| abl.attribute(b, 0),
            x.view(),
            &SensitivityConfig::default(),
        )
        .unwrap();
        assert!(s[0] < 0.02);
    }
}
