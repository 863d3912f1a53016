//! Serving bundles over the Open Inference Protocol (KServe v2): [`BundleModel`] is a
//! [`Model`] as a `glassbox-serve` [`ServableModel`], [`BundleLoader`] reads bundle files
//! for the server's model repository, and [`ServeBundles`] adds bundles to a
//! [`ServerConfig`]. `glassbox serve` is a thin command-line wrapper around these.
//!
//! Layering: `glassbox-serve` is the protocol server and knows nothing of networks or
//! bundles (models plug in through its [`ServableModel`] seam); this umbrella crate depends
//! on it (feature `serve`, on by default) and supplies the bundle side. The CLI depends on
//! the umbrella only.
//!
//! ```
//! use std::sync::Arc;
//! use glassbox::prelude::*;
//! use glassbox::serve::BundleModel;
//! use glassbox::serving::{bind, client::HttpClient, ServerConfig};
//!
//! # let csv = "a,b,y\n1,2,no\n3,1,yes\n2,2,no\n5,0,yes\n";
//! # let table = glassbox::data::read_csv_bytes(csv.as_bytes(), "t.csv", &CsvOptions::default())?;
//! # let set = fit_table(&table, "y")?;
//! # let net = ModelSpec::parse("mlp:4")?.for_table(&set)?.build(0)?;
//! let bundle = Bundle::from_table(&net, &set)?;           // or Bundle::load("m.gbx")?
//! let model = BundleModel::new("toy", bundle)?;
//! let mut config = ServerConfig::default().with_model("toy", 1, Arc::new(model));
//! config.addr = "127.0.0.1:0".parse().unwrap();
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let server = bind(config).await.unwrap();
//! let addr = server.local_addr().unwrap();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let handle = tokio::spawn(server.serve(async { let _ = stopped.await; }));
//! let mut c = HttpClient::connect(addr).await.unwrap();
//! let req = serde_json::json!({"inputs": [{"name": "input", "shape": [1, 2],
//!     "datatype": "FP32", "data": [0.5, -1.0]}]});
//! let resp = c.post_json("/v2/models/toy/infer", &[], &req).await.unwrap();
//! assert_eq!(resp.status, 200);
//! assert_eq!(resp.json()["outputs"][2]["name"], "label");
//! let _ = stop.send(());
//! handle.await.unwrap().unwrap();
//! # });
//! # Ok::<(), glassbox::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use glassbox_serve::{
    Datatype, ExplainParams, Explanation, ModelLoader, ModelMetadata, OutputTensor, Prediction,
    ServableModel, ServeError, ServerConfig, TensorSpec,
};
use ndarray::{Array2, ArrayD, IxDyn};

use crate::bundle::{Bundle, Task};
use crate::gradient::{grad_cam, integrated_gradients, saliency};
use crate::model::Model;

/// A bundle as a [`ServableModel`]: `predict` returns class probabilities, indices and
/// labels (or one regression value); `explain` supports `ig`, `saliency` and, for CNNs,
/// `gradcam`. Served bundles take the network's input (pixels in `[0, 1]`, standardised
/// table rows), not raw tables.
#[derive(Debug)]
pub struct BundleModel {
    name: String,
    model: Model,
}

impl BundleModel {
    /// Serves `bundle` under `name` (the name appears in errors).
    pub fn new(name: impl Into<String>, bundle: Bundle) -> crate::Result<BundleModel> {
        let name = name.into();
        let model = Model::from_bundle(bundle, &name)?;
        Ok(BundleModel { name, model })
    }

    /// Loads the bundle at `path`, named after the file stem; errors are
    /// [`ServeError::Load`] naming the path.
    pub fn load(path: &Path) -> Result<BundleModel, ServeError> {
        let model = Model::load(path).map_err(|e| ServeError::Load {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        Ok(BundleModel { name, model })
    }

    /// The loaded bundle and network.
    pub fn model(&self) -> &Model {
        &self.model
    }

    fn model_err(&self, e: impl std::fmt::Display) -> ServeError {
        ServeError::Model {
            model: self.name.clone(),
            reason: e.to_string(),
        }
    }

    /// Checks the batch's sample shape (flat rows or the network's natural sample shape)
    /// and that every value is finite; the messages name the shapes or the value.
    fn check_input(&self, batch: &ArrayD<f32>) -> Result<(), ServeError> {
        let arch = &self.model.bundle().meta.architecture;
        let sample = arch.input_shape();
        let shape = batch.shape();
        let fits = (shape.len() == 2 && shape[1] == arch.n_inputs())
            || (shape.len() == sample.len() + 1 && shape[1..] == sample[..]);
        if !fits {
            return Err(ServeError::InvalidRequest(format!(
                "input has shape {shape:?}; the model takes [n, {}] or [n, {}]",
                arch.n_inputs(),
                sample
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let width = arch.n_inputs().max(1);
        if let Some((i, v)) = batch.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ServeError::InvalidRequest(format!(
                "input row {}, value {} is {v}; the model needs finite values",
                i / width + 1,
                i % width + 1
            )));
        }
        Ok(())
    }

    /// The batch as `f64` rows `[n, n_inputs]` for the gradient explainers.
    fn rows_f64(&self, batch: &ArrayD<f32>) -> Result<Array2<f64>, ServeError> {
        self.check_input(batch)?;
        let n = batch.shape()[0];
        let m = self.model.bundle().meta.architecture.n_inputs();
        Array2::from_shape_vec((n, m), batch.iter().map(|&x| f64::from(x)).collect())
            .map_err(|e| self.model_err(e))
    }

    fn methods(&self) -> Vec<&'static str> {
        let mut methods = vec!["ig", "saliency"];
        if self.gradcam_layer().is_some() {
            methods.push("gradcam");
        }
        methods
    }

    fn gradcam_layer(&self) -> Option<String> {
        self.model.bundle().meta.architecture.gradcam_layer()
    }
}

impl ServableModel for BundleModel {
    fn metadata(&self) -> ModelMetadata {
        let dims = self.model.bundle().meta.architecture.input_shape();
        match self.model.task() {
            Task::Classification { classes } => {
                ModelMetadata::classifier("input", &dims, classes.len(), &self.methods())
            }
            Task::Regression { .. } => ModelMetadata {
                platform: "glassbox".into(),
                inputs: vec![TensorSpec::batched("input", Datatype::Fp32, &dims)],
                outputs: vec![TensorSpec::batched("prediction", Datatype::Fp32, &[1])],
                explain_methods: Vec::new(),
            },
        }
    }

    fn predict(&self, batch: ArrayD<f32>) -> Result<Prediction, ServeError> {
        self.check_input(&batch)?;
        let net = self.model.network();
        Ok(match self.model.task() {
            Task::Classification { classes } => {
                let p = net.predict_proba(&batch).map_err(|e| self.model_err(e))?;
                Prediction::classification(p, classes)
            }
            Task::Regression { mean, std } => {
                let out = net.predict_outputs(&batch).map_err(|e| self.model_err(e))?;
                let values = out.mapv(|v| (f64::from(v) * std + mean) as f32);
                if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                    return Err(self.model_err(format!(
                        "a prediction is {v} in the target's units (outside f32)"
                    )));
                }
                Prediction {
                    outputs: vec![("prediction".into(), OutputTensor::Fp32(values.into_dyn()))],
                }
            }
        })
    }

    fn explain(
        &self,
        batch: ArrayD<f32>,
        params: &ExplainParams,
    ) -> Result<Explanation, ServeError> {
        let Task::Classification { classes } = self.model.task() else {
            return Err(ServeError::Explain(
                "regression models have no explain methods".into(),
            ));
        };
        let net = self.model.network();
        let x = self.rows_f64(&batch)?;
        let predicted = net.predict(&batch).map_err(|e| self.model_err(e))?;
        let targets = params.targets(&predicted, classes.len())?;
        let attrs = match params.method.as_str() {
            "ig" => {
                let zero = Array2::zeros((1, x.ncols()));
                integrated_gradients(net, x.view(), zero.view(), &targets).map(|r| r.attributions)
            }
            "saliency" => saliency(net, x.view(), &targets),
            "gradcam" => match self.gradcam_layer() {
                Some(layer) => grad_cam(net, x.view(), &targets, &layer),
                None => {
                    return Err(ServeError::Explain(
                        "gradcam needs a convolutional model".into(),
                    ))
                }
            },
            other => {
                return Err(ServeError::Explain(format!(
                    "method '{other}' is not supported ({})",
                    self.methods().join(", ")
                )))
            }
        }
        .map_err(|e| self.model_err(e))?;
        let attributions = ArrayD::from_shape_vec(
            IxDyn(batch.shape()),
            attrs.iter().map(|&v| v as f32).collect(),
        )
        .map_err(|e| self.model_err(e))?;
        Ok(Explanation {
            attributions,
            targets,
        })
    }
}

/// Reads bundles for the server's model repository: a file is a bundle, a directory holds
/// its bundle as `model.gbx`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BundleLoader;

impl ModelLoader for BundleLoader {
    fn load(&self, path: &Path) -> Result<Arc<dyn ServableModel>, ServeError> {
        let file = if path.is_dir() {
            path.join("model.gbx")
        } else {
            path.to_path_buf()
        };
        Ok(Arc::new(BundleModel::load(&file)?))
    }
}

/// Adds bundle files and bundle directories to a [`ServerConfig`] (and makes
/// [`BundleLoader`] its loader).
pub trait ServeBundles: Sized {
    /// Serves the bundle at `path` (a file, a `model.gbx` directory, or a versions
    /// directory) as `name`. A single bundle file is loaded once here so that a bad file
    /// is an error before the server starts.
    fn with_bundle(self, name: &str, path: impl Into<PathBuf>) -> Result<Self, ServeError>;

    /// Serves every bundle in the model repository `dir` (`NAME/VERSION/model.gbx`, see
    /// `glassbox_serve::repository`).
    fn with_bundle_dir(self, dir: impl Into<PathBuf>) -> Self;
}

impl ServeBundles for ServerConfig {
    fn with_bundle(mut self, name: &str, path: impl Into<PathBuf>) -> Result<Self, ServeError> {
        let path = path.into();
        if name.is_empty() {
            return Err(ServeError::InvalidRequest(format!(
                "{}: a served model needs a non-empty name",
                path.display()
            )));
        }
        if !path.exists() {
            return Err(ServeError::Load {
                path: path.display().to_string(),
                reason: "no such file or directory".into(),
            });
        }
        if path.is_file() {
            BundleModel::load(&path)?;
        }
        self.models.push((name.to_string(), path));
        self.loader = Some(Arc::new(BundleLoader));
        Ok(self)
    }

    fn with_bundle_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.model_dir = Some(dir.into());
        self.loader = Some(Arc::new(BundleLoader));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelSpec;

    fn classifier() -> (BundleModel, Model) {
        let arch = ModelSpec::Cnn(vec![2]).resolve(&[1, 4, 4], 3).unwrap();
        let net = arch.build(2).unwrap();
        let classes = vec!["a".to_string(), "b".into(), "c".into()];
        let bundle = Bundle::from_images(&net, classes, 1.0).unwrap();
        let reference = bundle.clone().into_model().unwrap();
        (BundleModel::new("cnn", bundle).unwrap(), reference)
    }

    #[test]
    fn served_predictions_are_the_models_own() {
        let (served, model) = classifier();
        let batch = ArrayD::from_shape_fn(IxDyn(&[3, 1, 4, 4]), |i| {
            ((i[0] * 5 + i[2] * 4 + i[3]) % 7) as f32 / 7.0
        });
        let p = served.predict(batch.clone()).unwrap();
        let want = model.network().predict_proba(&batch).unwrap();
        match &p.outputs[0].1 {
            OutputTensor::Fp32(a) => assert_eq!(a, &want.into_dyn()),
            other => panic!("probabilities have the wrong type: {other:?}"),
        }
        match &p.outputs[2].1 {
            OutputTensor::Bytes(l) => {
                let idx = model.network().predict(&batch).unwrap();
                let names: Vec<&str> = idx.iter().map(|&i| ["a", "b", "c"][i]).collect();
                assert_eq!(l.iter().map(String::as_str).collect::<Vec<_>>(), names);
            }
            other => panic!("labels have the wrong type: {other:?}"),
        }
        assert_eq!(
            served.metadata().explain_methods,
            vec!["ig", "saliency", "gradcam"]
        );
    }

    #[test]
    fn bad_batches_and_methods_are_client_errors() {
        let (served, _) = classifier();
        let e = served.predict(ArrayD::zeros(IxDyn(&[2, 15]))).unwrap_err();
        assert!(matches!(e, ServeError::InvalidRequest(_)), "{e}");
        let mut nan = ArrayD::zeros(IxDyn(&[1, 16]));
        nan[[0, 3]] = f32::NAN;
        let e = served.predict(nan).unwrap_err();
        assert!(matches!(e, ServeError::InvalidRequest(_)), "{e}");
        assert!(e.to_string().contains("row 1, value 4 is NaN"), "{e}");
        let params = ExplainParams {
            method: "lime".into(),
            target: glassbox_serve::Target::Predicted,
            options: Default::default(),
        };
        let e = served
            .explain(ArrayD::zeros(IxDyn(&[1, 16])), &params)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'lime'") && e.contains("gradcam"), "{e}");
    }

    #[test]
    fn config_gets_bundles_and_the_loader() {
        let (served, _) = classifier();
        let dir = std::env::temp_dir().join(format!("gb-serve-cfg-{}", std::process::id()));
        let path = dir.join("m.gbx");
        served.model().bundle().save(&path).unwrap();
        let c = ServerConfig::default().with_bundle("m", &path).unwrap();
        assert_eq!(c.models, vec![("m".to_string(), path.clone())]);
        assert!(c.loader.is_some());
        let loaded = BundleLoader.load(&path).unwrap();
        assert_eq!(loaded.metadata(), served.metadata());
        let e = ServerConfig::default()
            .with_bundle("x", dir.join("missing.gbx"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.gbx"), "{e}");
        std::fs::write(dir.join("bad.gbx"), b"not a bundle").unwrap();
        let e = ServerConfig::default()
            .with_bundle("bad", dir.join("bad.gbx"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.gbx"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
