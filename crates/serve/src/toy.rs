//! Test support (feature `toy`, not part of the library API): a small, complete reference
//! model for tests, examples and load tests: a multilayer
//! perceptron classifier (dense layers, ReLU between them, softmax at the end) on
//! `ndarray`, with exact gradient attributions and a JSON bundle format.
//!
//! With no hidden layer it is a softmax-linear classifier, and `input_x_gradient` is the
//! classic input × weight attribution: `attr[j] = x[j] · W[target, j]`.
//!
//! Explanation methods (`parameters.method`):
//! - `saliency`: ∂ logit_target / ∂ x (gradient of the target's logit).
//! - `input_x_gradient`: x ⊙ gradient.
//! - `integrated_gradients`: (x − baseline) ⊙ mean of the gradient over `n_steps`
//!   midpoint-rule points on the straight path (options `n_steps`, default 32, at most
//!   the server's evaluation limit, and `baseline`, a number, default 0); the request's
//!   cancellation token is asked before every step.

use std::path::Path;
use std::sync::Arc;

use glassbox_tensor::rng::Rng;
use ndarray::{Array1, Array2, ArrayD, ArrayView2, IxDyn};
use serde::{Deserialize, Serialize};

use crate::error::{Result, ServeError};
use crate::model::{
    ExplainParams, Explanation, ModelMetadata, Prediction, ServableModel, OUTPUT_CLASS,
};

/// The explanation methods of [`MlpClassifier`].
pub const TOY_METHODS: [&str; 3] = ["saliency", "input_x_gradient", "integrated_gradients"];

/// One dense layer `y = x Wᵀ + b` with `W` of shape `[out, in]` (PyTorch layout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    /// Weight `[out, in]`.
    pub weight: Array2<f32>,
    /// Bias `[out]`.
    pub bias: Array1<f32>,
}

/// A ReLU multilayer perceptron classifier over inputs of any per-sample shape
/// (flattened row-major).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpClassifier {
    /// Name of the input tensor.
    pub input_name: String,
    /// Per-sample input shape (e.g. `[1, 28, 28]`).
    pub input_shape: Vec<usize>,
    /// Layers; ReLU follows every layer but the last.
    pub layers: Vec<Dense>,
    /// Class names (empty: labels are class indices).
    pub class_names: Vec<String>,
}

impl MlpClassifier {
    /// A network with uniform(±1/√fan_in) weights from `seed`: sizes
    /// `prod(input_shape) → hidden[0] → … → n_classes`.
    pub fn random(input_shape: &[usize], hidden: &[usize], n_classes: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut sizes = vec![input_shape.iter().product::<usize>()];
        sizes.extend_from_slice(hidden);
        sizes.push(n_classes);
        let layers = sizes
            .windows(2)
            .map(|w| {
                let scale = 1.0 / (w[0] as f32).sqrt();
                Dense {
                    weight: Array2::from_shape_simple_fn((w[1], w[0]), || {
                        rng.uniform_range(-1.0, 1.0) as f32 * scale
                    }),
                    bias: Array1::from_shape_simple_fn(w[1], || {
                        rng.uniform_range(-1.0, 1.0) as f32 * scale
                    }),
                }
            })
            .collect();
        MlpClassifier {
            input_name: "input".into(),
            input_shape: input_shape.to_vec(),
            layers,
            class_names: Vec::new(),
        }
    }

    /// Number of input features (product of the per-sample shape).
    pub fn n_features(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Number of classes (rows of the last layer).
    pub fn n_classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.weight.nrows())
    }

    /// Checks that layer shapes chain from the input to the classes.
    pub fn validate(&self) -> Result<()> {
        let mut width = self.n_features();
        for (i, l) in self.layers.iter().enumerate() {
            if l.weight.ncols() != width || l.bias.len() != l.weight.nrows() {
                return Err(ServeError::Load {
                    path: format!("layers[{i}]"),
                    reason: format!(
                        "weight {:?} and bias [{}] do not take {width} inputs",
                        l.weight.shape(),
                        l.bias.len()
                    ),
                });
            }
            width = l.weight.nrows();
        }
        if self.layers.is_empty() || width == 0 {
            return Err(ServeError::Load {
                path: "layers".into(),
                reason: "the network needs at least one layer with outputs".into(),
            });
        }
        Ok(())
    }

    fn flatten(&self, batch: &ArrayD<f32>) -> Result<Array2<f32>> {
        let d = self.n_features();
        let n = batch.shape().first().copied().unwrap_or(0);
        if batch.len() != n * d || batch.shape()[1..] != self.input_shape[..] {
            return Err(ServeError::Shape {
                input: self.input_name.clone(),
                reason: format!(
                    "got {:?}, the model takes [n, {}]",
                    batch.shape(),
                    self.input_shape
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let flat: Vec<f32> = batch.iter().copied().collect();
        Array2::from_shape_vec((n, d), flat).map_err(|e| ServeError::Shape {
            input: self.input_name.clone(),
            reason: e.to_string(),
        })
    }

    /// Logits `[n, classes]` and the pre-activations of each hidden layer.
    fn forward(&self, x: ArrayView2<f32>) -> (Array2<f32>, Vec<Array2<f32>>) {
        let mut h = x.to_owned();
        let mut pre = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            let z = h.dot(&l.weight.t()) + &l.bias;
            if i + 1 < self.layers.len() {
                h = z.mapv(|v| v.max(0.0));
                pre.push(z);
            } else {
                h = z;
            }
        }
        (h, pre)
    }

    /// Logits `[n, classes]` of a flattened batch `[n, features]`.
    pub fn logits(&self, x: ArrayView2<f32>) -> Array2<f32> {
        self.forward(x).0
    }

    /// Row-wise softmax probabilities of a flattened batch.
    pub fn probabilities(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut z = self.logits(x);
        for mut row in z.rows_mut() {
            let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            row.mapv_inplace(|v| (v - m).exp());
            let s = row.sum();
            row.mapv_inplace(|v| v / s);
        }
        z
    }

    /// Gradient of `logit[target[r]]` with respect to each row `r` of `x`.
    pub fn logit_gradient(&self, x: ArrayView2<f32>, targets: &[usize]) -> Array2<f32> {
        let (_, pre) = self.forward(x);
        let mut out = Array2::zeros(x.raw_dim());
        for (r, &t) in targets.iter().enumerate() {
            let last = &self.layers[self.layers.len() - 1];
            let mut g: Array1<f32> = last.weight.row(t).to_owned();
            for li in (0..self.layers.len() - 1).rev() {
                let mask = pre[li].row(r).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
                g = (g * mask).dot(&self.layers[li].weight);
            }
            out.row_mut(r).assign(&g);
        }
        out
    }

    /// Saves the bundle as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string(self).map_err(|e| ServeError::Load {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        std::fs::write(path, text)
            .map_err(|e| ServeError::io(format!("writing '{}'", path.display()), e))
    }

    /// Loads a JSON bundle: a file, or a directory holding `model.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let file = if path.is_dir() {
            path.join("model.json")
        } else {
            path.to_path_buf()
        };
        let err = |reason: String| ServeError::Load {
            path: file.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(&file).map_err(|e| err(e.to_string()))?;
        let m: MlpClassifier = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        m.validate().map_err(|e| err(e.to_string()))?;
        Ok(m)
    }
}

/// A [`crate::ModelLoader`] for [`MlpClassifier`] JSON bundles.
pub fn toy_loader(path: &Path) -> Result<Arc<dyn ServableModel>> {
    Ok(Arc::new(MlpClassifier::load(path)?))
}

fn option_f32(params: &ExplainParams, key: &str, default: f32) -> Result<f32> {
    match params.options.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .filter(|x| x.is_finite())
            .map(|x| x as f32)
            .ok_or_else(|| {
                ServeError::Explain(format!("option '{key}' must be a finite number, got {v}"))
            }),
    }
}

impl ServableModel for MlpClassifier {
    fn metadata(&self) -> ModelMetadata {
        ModelMetadata::classifier(
            &self.input_name,
            &self.input_shape,
            self.n_classes(),
            &TOY_METHODS,
        )
    }

    fn predict(&self, batch: ArrayD<f32>) -> Result<Prediction> {
        let x = self.flatten(&batch)?;
        Ok(Prediction::classification(
            self.probabilities(x.view()),
            &self.class_names,
        ))
    }

    fn check_explain(&self, params: &ExplainParams) -> Result<()> {
        if params.method == "integrated_gradients" {
            params.check_option_names(&["n_steps", "baseline"])?;
            let steps = params.usize_option("n_steps", 32)?;
            params.limits.check_evaluations("n_steps", steps)?;
            option_f32(params, "baseline", 0.0).map(|_| ())
        } else {
            params.check_option_names(&[])
        }
    }

    fn explain(&self, batch: ArrayD<f32>, params: &ExplainParams) -> Result<Explanation> {
        let x = self.flatten(&batch)?;
        let pred = Prediction::classification(self.probabilities(x.view()), &[]);
        let predicted: Vec<usize> = match pred.outputs.iter().find(|(n, _)| n == OUTPUT_CLASS) {
            Some((_, crate::model::OutputTensor::Int64(c))) => {
                c.iter().map(|&v| v as usize).collect()
            }
            _ => unreachable!("classification always has an INT64 class output"),
        };
        let targets = params.targets(&predicted, self.n_classes())?;
        let attr = match params.method.as_str() {
            "saliency" => self.logit_gradient(x.view(), &targets),
            "input_x_gradient" => self.logit_gradient(x.view(), &targets) * &x,
            "integrated_gradients" => {
                let steps = params.usize_option("n_steps", 32)?;
                params.limits.check_evaluations("n_steps", steps)?;
                let base = option_f32(params, "baseline", 0.0)?;
                let diff = x.mapv(|v| v - base);
                let mut total = Array2::<f32>::zeros(x.raw_dim());
                for k in 0..steps {
                    params.cancel.check()?;
                    let alpha = (k as f32 + 0.5) / steps as f32;
                    let point = diff.mapv(|d| base + alpha * d);
                    total += &self.logit_gradient(point.view(), &targets);
                }
                total / steps as f32 * &diff
            }
            other => {
                return Err(ServeError::Explain(format!(
                    "unknown method '{other}'; the model supports: {}",
                    TOY_METHODS.join(", ")
                )))
            }
        };
        let attributions = attr
            .into_shape_with_order(IxDyn(batch.shape()))
            .map_err(|e| ServeError::Model {
                model: "toy".into(),
                reason: e.to_string(),
            })?;
        Ok(Explanation {
            attributions,
            targets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Target;
    use ndarray::array;

    fn params(method: &str, target: Target) -> ExplainParams {
        ExplainParams::new(method, target)
    }

    #[test]
    fn linear_input_x_gradient_is_input_times_weight() {
        let mut m = MlpClassifier::random(&[3], &[], 2, 1);
        m.layers[0].weight = array![[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]];
        let x = array![[2.0f32, 1.0, 4.0]].into_dyn();
        let e = m
            .explain(x, &params("input_x_gradient", Target::Class(0)))
            .unwrap();
        assert_eq!(e.attributions.as_slice().unwrap(), &[2.0, -2.0, 2.0]);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let m = MlpClassifier::random(&[5], &[7, 4], 3, 9);
        let x = array![[0.3f32, -0.2, 0.9, 0.1, -0.7]];
        let g = m.logit_gradient(x.view(), &[2]);
        let eps = 1e-3f32;
        for j in 0..5 {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[[0, j]] += eps;
            b[[0, j]] -= eps;
            let fd = (m.logits(a.view())[[0, 2]] - m.logits(b.view())[[0, 2]]) / (2.0 * eps);
            assert!(
                (fd - g[[0, j]]).abs() < 1e-2,
                "feature {j}: fd {fd} vs {}",
                g[[0, j]]
            );
        }
    }

    #[test]
    fn integrated_gradients_are_complete() {
        let m = MlpClassifier::random(&[4], &[6], 3, 5);
        let x = array![[0.5f32, -1.0, 0.25, 2.0]];
        let mut p = params("integrated_gradients", Target::Class(1));
        p.options.insert("n_steps".into(), 256.into());
        let e = m.explain(x.clone().into_dyn(), &p).unwrap();
        let lx = m.logits(x.view())[[0, 1]];
        let l0 = m.logits(Array2::zeros((1, 4)).view())[[0, 1]];
        let sum: f32 = e.attributions.sum();
        assert!(
            (sum - (lx - l0)).abs() < 2e-2,
            "sum {sum} vs delta {}",
            lx - l0
        );
    }

    #[test]
    fn wrong_shape_and_unknown_method_are_errors() {
        let m = MlpClassifier::random(&[4], &[], 2, 0);
        assert!(m.predict(ArrayD::zeros(IxDyn(&[1, 5]))).is_err());
        let e = m
            .explain(
                ArrayD::zeros(IxDyn(&[1, 4])),
                &params("lime", Target::Predicted),
            )
            .unwrap_err();
        assert!(e.to_string().contains("lime"));
    }

    #[test]
    fn bundle_round_trip() {
        let m = MlpClassifier::random(&[2, 2], &[3], 2, 4);
        let path = std::env::temp_dir().join(format!("gb-toy-{}.json", std::process::id()));
        m.save(&path).unwrap();
        assert_eq!(MlpClassifier::load(&path).unwrap(), m);
        std::fs::write(&path, "{").unwrap();
        assert!(MlpClassifier::load(&path)
            .unwrap_err()
            .to_string()
            .contains("gb-toy"));
        let _ = std::fs::remove_file(&path);
    }
}
