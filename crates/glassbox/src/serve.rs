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

use glassbox_explain::shapley::{Background, KernelShap, KernelShapConfig};
use glassbox_explain::{StopCheck, Stoppable};
use glassbox_serve::{
    Datatype, ExplainParams, Explanation, ModelLoader, ModelMetadata, OutputTensor, Prediction,
    ServableModel, ServeError, ServerConfig, TensorSpec,
};
use ndarray::{Array2, ArrayD, IxDyn};
use serde_json::Value;

use crate::bundle::{Bundle, Task};
use crate::gradient::{
    grad_cam_with_stop, integrated_gradients_limited, saliency_with_stop, IgLimits,
    IG_MIN_EVALUATIONS,
};
use crate::model::Model;

/// Default gradient-evaluation budget per row of `ig` (the adaptive rule's own default),
/// lowered to the server's `--explain-max-evaluations` when that is smaller.
const IG_DEFAULT_EVALUATIONS: usize = 4096;

/// A bundle as a [`ServableModel`]: `predict` returns class probabilities, indices and
/// labels (or one regression value). Served bundles take the network's input (pixels in
/// `[0, 1]`, standardised table rows), not raw tables.
///
/// `explain` methods and their parameters (any other parameter is a 400):
/// - `ig`: Integrated Gradients with the adaptive rule (refined until each row's
///   attributions add up to `f(x) − f(baseline)` within 1e-4 of it). `baseline`: a number
///   for every feature or one number per feature (default 0, the training mean of a
///   standardised table); `max_evaluations`: gradient evaluations per row, 66 to the
///   server's `--explain-max-evaluations` (default the smaller of 4096 and that limit).
///   `n_steps` is rejected: the adaptive rule has no fixed step count.
/// - `shap`: Kernel SHAP of the class probabilities against a single background row, the
///   `baseline` (as for `ig`). `n_samples`: coalitions per row, up to the server's
///   `--explain-max-samples` (default the smaller of `2·features + 2048` and that limit).
/// - `saliency`, and `gradcam` for CNNs: no parameters.
///
/// Every method stops at the request's deadline: the gradient methods before each forward
/// pass, Kernel SHAP before each batch of model evaluations.
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
        let mut methods = vec!["ig", "saliency", "shap"];
        if self.gradcam_layer().is_some() {
            methods.push("gradcam");
        }
        methods
    }

    fn gradcam_layer(&self) -> Option<String> {
        self.model.bundle().meta.architecture.gradcam_layer()
    }

    /// The `baseline` parameter as one row `[1, n_inputs]` (default zeros).
    fn baseline(&self, params: &ExplainParams) -> Result<Array2<f64>, ServeError> {
        let m = self.model.bundle().meta.architecture.n_inputs();
        let bad = |v: &Value| {
            ServeError::Explain(format!(
                "parameter 'baseline' must be a finite number or a list of {m} finite numbers, got {}",
                short(v)
            ))
        };
        let finite = |v: &Value| v.as_f64().filter(|x| x.is_finite());
        match params.options.get("baseline") {
            None => Ok(Array2::zeros((1, m))),
            Some(v @ Value::Array(items)) => {
                if items.len() != m {
                    return Err(bad(v));
                }
                let row: Option<Vec<f64>> = items.iter().map(finite).collect();
                Array2::from_shape_vec((1, m), row.ok_or_else(|| bad(v))?)
                    .map_err(|e| self.model_err(e))
            }
            Some(v) => finite(v)
                .map(|b| Array2::from_elem((1, m), b))
                .ok_or_else(|| bad(v)),
        }
    }

    fn ig_evaluations(&self, params: &ExplainParams) -> Result<usize, ServeError> {
        let default = IG_DEFAULT_EVALUATIONS.min(params.limits.max_evaluations);
        let budget = params.usize_option("max_evaluations", default)?;
        params.limits.check_evaluations("max_evaluations", budget)?;
        if budget < IG_MIN_EVALUATIONS {
            return Err(ServeError::Explain(format!(
                "method 'ig' needs max_evaluations >= {IG_MIN_EVALUATIONS} (64 start nodes and \
                 both ends), got {budget}"
            )));
        }
        Ok(budget)
    }

    fn shap_samples(&self, params: &ExplainParams) -> Result<usize, ServeError> {
        let m = self.model.bundle().meta.architecture.n_inputs();
        let default = (2 * m + 2048).min(params.limits.max_samples);
        let n = params.usize_option("n_samples", default)?;
        params.limits.check_samples("n_samples", n)?;
        Ok(n)
    }

    /// Kernel SHAP of the probabilities of each row's target class.
    fn shap(
        &self,
        x: &Array2<f64>,
        targets: &[usize],
        params: &ExplainParams,
        stop: StopCheck,
    ) -> crate::Result<Array2<f64>> {
        let predictor = Stoppable::new(self.model.network().proba_predictor(), stop);
        let config = KernelShapConfig {
            n_samples: Some(
                self.shap_samples(params)
                    .map_err(|e| crate::Error::Input(e.to_string()))?,
            ),
            ..KernelShapConfig::default()
        };
        let background = Background::new(
            self.baseline(params)
                .map_err(|e| crate::Error::Input(e.to_string()))?,
        )?;
        let v = KernelShap::new(&predictor, background, config)?.explain(x.view())?;
        Ok(Array2::from_shape_fn(x.dim(), |(i, j)| {
            v.values[[i, j, targets[i]]]
        }))
    }
}

/// A JSON value for an error message, cut to a readable length.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(77).collect::<String>())
    } else {
        s
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

    fn check_explain(&self, params: &ExplainParams) -> Result<(), ServeError> {
        match params.method.as_str() {
            "ig" => {
                if params.options.contains_key("n_steps") {
                    return Err(ServeError::Explain(format!(
                        "method 'ig' does not take 'n_steps': it uses an adaptive rule (64 \
                         Gauss-Legendre start nodes, refined until each row's attributions add \
                         up to f(x) - f(baseline) within 1e-4 of it); bound its cost with \
                         'max_evaluations' (gradient evaluations per row, {IG_MIN_EVALUATIONS} \
                         to {} on this server)",
                        params.limits.max_evaluations
                    )));
                }
                params.check_option_names(&["baseline", "max_evaluations"])?;
                self.ig_evaluations(params)?;
                self.baseline(params).map(|_| ())
            }
            "shap" => {
                params.check_option_names(&["baseline", "n_samples"])?;
                self.shap_samples(params)?;
                self.baseline(params).map(|_| ())
            }
            _ => params.check_option_names(&[]),
        }
    }

    fn explain(
        &self,
        batch: ArrayD<f32>,
        params: &ExplainParams,
    ) -> Result<Explanation, ServeError> {
        self.check_explain(params)?;
        let cancel = params.cancel.clone();
        let stop = StopCheck::new(move || cancel.is_cancelled());
        let Task::Classification { classes } = self.model.task() else {
            return Err(ServeError::Explain(
                "regression models have no explain methods".into(),
            ));
        };
        let net = self.model.network();
        let x = self.rows_f64(&batch)?;
        let predicted = net.predict(&batch).map_err(|e| self.model_err(e))?;
        let targets = params.targets(&predicted, classes.len())?;
        params.cancel.check()?;
        let attrs = match params.method.as_str() {
            "ig" => {
                let limits = IgLimits {
                    stop,
                    max_evaluations: self.ig_evaluations(params)?,
                };
                let base = self.baseline(params)?;
                integrated_gradients_limited(net, x.view(), base.view(), &targets, &limits)
                    .map(|r| r.attributions)
            }
            "shap" => self.shap(&x, &targets, params, stop),
            "saliency" => saliency_with_stop(net, x.view(), &targets, &stop),
            "gradcam" => match self.gradcam_layer() {
                Some(layer) => grad_cam_with_stop(net, x.view(), &targets, &layer, &stop),
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
        .map_err(|e| {
            if params.cancel.is_cancelled() {
                params.cancel.error()
            } else {
                self.model_err(e)
            }
        })?;
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
/// its bundle as `model.gbx` or is a Hugging Face text model directory (`config.json`;
/// served by [`crate::serve_text::load_text_model`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct BundleLoader;

impl ModelLoader for BundleLoader {
    fn load(&self, path: &Path) -> Result<Arc<dyn ServableModel>, ServeError> {
        if path.is_dir() && !path.join("model.gbx").exists() && path.join("config.json").is_file() {
            return crate::serve_text::load_text_model(path);
        }
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
#[path = "serve_tests.rs"]
mod tests;
