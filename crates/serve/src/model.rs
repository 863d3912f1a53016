//! The seam between the server and the models it serves.
//!
//! A model is anything implementing [`ServableModel`]: it describes its single input tensor
//! and its output tensors ([`ModelMetadata`]), predicts on a batch whose first axis is the
//! batch axis ([`ServableModel::predict`]), and explains a batch
//! ([`ServableModel::explain`]). A [`ModelLoader`] turns a bundle path (file or directory)
//! into a model, so the repository can serve every bundle of a model directory.

use std::path::Path;
use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayD, Axis};
use serde::Serialize;

use crate::budget::{Cancel, ExplainLimits};
use crate::error::{Result, ServeError};
use crate::tensor::Datatype;
use crate::text::{GenerateOutput, GenerateRequest, TextAttribution, TextOptions};

/// Name of the class-probability output of [`Prediction::classification`].
pub const OUTPUT_PROBABILITIES: &str = "probabilities";
/// Name of the predicted-class-index output (INT64) of [`Prediction::classification`].
pub const OUTPUT_CLASS: &str = "class";
/// Name of the predicted-label output (BYTES) of [`Prediction::classification`].
pub const OUTPUT_LABEL: &str = "label";
/// Name of the attribution output of the explain endpoint (FP32, the input's shape).
pub const OUTPUT_ATTRIBUTIONS: &str = "attributions";
/// Name of the explained-class output of the explain endpoint (INT64, one per row).
pub const OUTPUT_TARGET: &str = "target";

/// Name, datatype and shape of one input or output tensor; `-1` marks a variable dimension
/// (the batch dimension is always the first and always `-1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorSpec {
    /// Tensor name as used in requests and responses.
    pub name: String,
    /// Protocol datatype.
    pub datatype: Datatype,
    /// Shape including the leading batch dimension `-1`.
    pub shape: Vec<i64>,
}

impl TensorSpec {
    /// A spec with a leading batch dimension `-1` followed by `dims`.
    pub fn batched(name: impl Into<String>, datatype: Datatype, dims: &[usize]) -> Self {
        let mut shape = vec![-1i64];
        shape.extend(dims.iter().map(|&d| d as i64));
        TensorSpec {
            name: name.into(),
            datatype,
            shape,
        }
    }
}

/// What a model tells clients about itself (the protocol's model metadata, plus the
/// explanation methods it supports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMetadata {
    /// Framework/platform string, e.g. `"glassbox"`.
    pub platform: String,
    /// Exactly one input tensor (glassbox models take one batched input).
    pub inputs: Vec<TensorSpec>,
    /// Output tensors, in the order [`Prediction::outputs`] returns them.
    pub outputs: Vec<TensorSpec>,
    /// Explanation methods accepted by [`ServableModel::explain`] (`parameters.method`).
    pub explain_methods: Vec<String>,
}

impl ModelMetadata {
    /// Metadata of a classifier: one FP32 input of per-sample shape `input_dims`, and the
    /// three outputs of [`Prediction::classification`] for `n_classes` classes.
    pub fn classifier(
        input_name: &str,
        input_dims: &[usize],
        n_classes: usize,
        explain_methods: &[&str],
    ) -> Self {
        ModelMetadata {
            platform: "glassbox".to_string(),
            inputs: vec![TensorSpec::batched(input_name, Datatype::Fp32, input_dims)],
            outputs: vec![
                TensorSpec::batched(OUTPUT_PROBABILITIES, Datatype::Fp32, &[n_classes]),
                TensorSpec::batched(OUTPUT_CLASS, Datatype::Int64, &[]),
                TensorSpec::batched(OUTPUT_LABEL, Datatype::Bytes, &[]),
            ],
            explain_methods: explain_methods.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The single input spec, or an error naming the count when there is not exactly one.
    pub fn input(&self) -> Result<&TensorSpec> {
        match self.inputs.as_slice() {
            [one] => Ok(one),
            other => Err(ServeError::InvalidRequest(format!(
                "model declares {} inputs; glassbox-serve serves models with exactly one",
                other.len()
            ))),
        }
    }
}

/// One output tensor's values; the first axis is the batch axis.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputTensor {
    /// FP32 values (probabilities, logits, regression values, attributions).
    Fp32(ArrayD<f32>),
    /// INT64 values (class indices).
    Int64(ArrayD<i64>),
    /// BYTES values (class labels), UTF-8.
    Bytes(ArrayD<String>),
}

impl OutputTensor {
    /// Shape of the tensor.
    pub fn shape(&self) -> &[usize] {
        match self {
            OutputTensor::Fp32(a) => a.shape(),
            OutputTensor::Int64(a) => a.shape(),
            OutputTensor::Bytes(a) => a.shape(),
        }
    }

    /// Protocol datatype of the tensor.
    pub fn datatype(&self) -> Datatype {
        match self {
            OutputTensor::Fp32(_) => Datatype::Fp32,
            OutputTensor::Int64(_) => Datatype::Int64,
            OutputTensor::Bytes(_) => Datatype::Bytes,
        }
    }

    /// Rows `start..end` of the batch axis (used to split a merged batch back).
    pub fn rows(&self, start: usize, end: usize) -> OutputTensor {
        let s = ndarray::Slice::from(start..end);
        match self {
            OutputTensor::Fp32(a) => OutputTensor::Fp32(a.slice_axis(Axis(0), s).to_owned()),
            OutputTensor::Int64(a) => OutputTensor::Int64(a.slice_axis(Axis(0), s).to_owned()),
            OutputTensor::Bytes(a) => OutputTensor::Bytes(a.slice_axis(Axis(0), s).to_owned()),
        }
    }
}

/// The result of [`ServableModel::predict`]: named output tensors, batch axis first.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// `(name, tensor)` pairs in the order of [`ModelMetadata::outputs`].
    pub outputs: Vec<(String, OutputTensor)>,
}

impl Prediction {
    /// The standard classifier outputs from row-wise class probabilities `[n, classes]`:
    /// `probabilities` (FP32 `[n, classes]`), `class` (INT64 `[n]`, the arg-max, first on
    /// ties) and `label` (BYTES `[n]`, `class_names[class]`, or the index as text when
    /// `class_names` is empty).
    pub fn classification(probabilities: Array2<f32>, class_names: &[String]) -> Self {
        let classes: Vec<i64> = probabilities
            .rows()
            .into_iter()
            .map(|row| {
                let mut best = 0usize;
                for (j, &p) in row.iter().enumerate() {
                    if p > row[best] {
                        best = j;
                    }
                }
                best as i64
            })
            .collect();
        let labels: Vec<String> = classes
            .iter()
            .map(|&c| {
                class_names
                    .get(c as usize)
                    .cloned()
                    .unwrap_or_else(|| c.to_string())
            })
            .collect();
        Prediction {
            outputs: vec![
                (
                    OUTPUT_PROBABILITIES.to_string(),
                    OutputTensor::Fp32(probabilities.into_dyn()),
                ),
                (
                    OUTPUT_CLASS.to_string(),
                    OutputTensor::Int64(Array1::from(classes).into_dyn()),
                ),
                (
                    OUTPUT_LABEL.to_string(),
                    OutputTensor::Bytes(Array1::from(labels).into_dyn()),
                ),
            ],
        }
    }

    /// Number of rows (the first dimension of the first output; 0 when there is none).
    pub fn batch_len(&self) -> usize {
        self.outputs
            .first()
            .and_then(|(_, t)| t.shape().first().copied())
            .unwrap_or(0)
    }

    /// Rows `start..end` of every output.
    pub fn rows(&self, start: usize, end: usize) -> Prediction {
        Prediction {
            outputs: self
                .outputs
                .iter()
                .map(|(n, t)| (n.clone(), t.rows(start, end)))
                .collect(),
        }
    }
}

/// Which class an explanation attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The model's predicted class of each row (the default).
    Predicted,
    /// The same class for every row.
    Class(usize),
    /// One class per row.
    PerRow(Vec<usize>),
}

/// Parameters of an explanation request (`parameters` of the request body), plus the
/// server's limits and the request's cancellation token.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainParams {
    /// Attribution method name (one of [`ModelMetadata::explain_methods`]).
    pub method: String,
    /// Class to explain.
    pub target: Target,
    /// Method options (every other request parameter, e.g. `n_steps`, `baseline`). The
    /// server passes only options the model accepted in
    /// [`ServableModel::check_explain`]; a model honours every option it accepts.
    pub options: serde_json::Map<String, serde_json::Value>,
    /// The server's explanation limits: a model checks the evaluations and samples an
    /// option asks for against them ([`ExplainLimits::check_evaluations`],
    /// [`ExplainLimits::check_samples`]) and caps its defaults by them.
    pub limits: ExplainLimits,
    /// Cancelled at the deadline or when the request ends early: a model asks
    /// [`Cancel::is_cancelled`] between units of work and returns [`Cancel::error`].
    pub cancel: Cancel,
}

impl ExplainParams {
    /// `method` for `target` with no options, default limits and a token that is never
    /// cancelled by time.
    pub fn new(method: impl Into<String>, target: Target) -> Self {
        ExplainParams {
            method: method.into(),
            target,
            options: Default::default(),
            limits: ExplainLimits::default(),
            cancel: Cancel::default(),
        }
    }

    /// Rejects (400) any option not in `allowed`, naming it and the accepted ones: no
    /// option is ever silently ignored.
    pub fn check_option_names(&self, allowed: &[&str]) -> Result<()> {
        if let Some(bad) = self.options.keys().find(|k| !allowed.contains(&k.as_str())) {
            let takes = if allowed.is_empty() {
                "no parameters besides 'method' and 'target'".to_string()
            } else {
                format!("only {}", allowed.join(", "))
            };
            return Err(ServeError::Explain(format!(
                "method '{}' does not take parameter '{bad}'; it takes {takes}",
                self.method
            )));
        }
        Ok(())
    }

    /// Option `key` as a positive integer, or `default` when absent.
    pub fn usize_option(&self, key: &str, default: usize) -> Result<usize> {
        match self.options.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|&n| n > 0)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    ServeError::Explain(format!(
                        "parameter '{key}' must be a positive integer, got {v}"
                    ))
                }),
        }
    }

    /// Resolves the target of each of `n` rows given the predicted classes.
    pub fn targets(&self, predicted: &[usize], n_classes: usize) -> Result<Vec<usize>> {
        let t: Vec<usize> = match &self.target {
            Target::Predicted => predicted.to_vec(),
            Target::Class(c) => vec![*c; predicted.len()],
            Target::PerRow(v) => {
                if v.len() != predicted.len() {
                    return Err(ServeError::Explain(format!(
                        "parameter 'target' lists {} classes for a batch of {} rows",
                        v.len(),
                        predicted.len()
                    )));
                }
                v.clone()
            }
        };
        if let Some(bad) = t.iter().find(|&&c| c >= n_classes) {
            return Err(ServeError::Explain(format!(
                "parameter 'target' = {bad} is out of range for {n_classes} classes"
            )));
        }
        Ok(t)
    }
}

/// The result of [`ServableModel::explain`].
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Attributions, the same shape as the input batch.
    pub attributions: ArrayD<f32>,
    /// The class explained for each row.
    pub targets: Vec<usize>,
}

/// A model the server can serve. Implementations must be cheap to share between threads:
/// `predict` and `explain` are called concurrently from the compute pool.
pub trait ServableModel: Send + Sync + 'static {
    /// Inputs, outputs and explanation methods. Called once when the model is loaded.
    fn metadata(&self) -> ModelMetadata;

    /// Predicts on `batch`, whose shape is `[n, ..]` with `..` the input's per-sample shape.
    /// Every output's first dimension must be `n`.
    fn predict(&self, batch: ArrayD<f32>) -> Result<Prediction>;

    /// Attributions for `batch` with respect to `params.target`. Long-running methods ask
    /// `params.cancel` between units of work and stop with [`Cancel::error`].
    fn explain(&self, batch: ArrayD<f32>, params: &ExplainParams) -> Result<Explanation>;

    /// Validates an explain request's method options (and their values against
    /// `params.limits`) before the server admits it; errors are 4xx. The default accepts no
    /// option at all, so a model that does not declare its options never ignores one.
    fn check_explain(&self, params: &ExplainParams) -> Result<()> {
        params.check_option_names(&[])
    }

    /// Predicts on texts; called instead of [`ServableModel::predict`] when the model's
    /// input is `BYTES` ([`ModelMetadata::text`]). Every output's first dimension must be
    /// `texts.len()`. The default refuses: the model takes no text.
    fn predict_text(&self, texts: Vec<String>, options: &TextOptions) -> Result<Prediction> {
        let _ = texts;
        Err(ServeError::Datatype {
            input: options.input.clone(),
            reason: "this model takes numbers, not text".into(),
        })
    }

    /// Explains texts, one [`TextAttribution`] per text; called instead of
    /// [`ServableModel::explain`] when the model's input is `BYTES`. Long-running methods
    /// ask `params.cancel` between units of work. The default refuses.
    fn explain_text(
        &self,
        texts: Vec<String>,
        options: &TextOptions,
        params: &ExplainParams,
    ) -> Result<Vec<TextAttribution>> {
        let _ = (texts, params);
        Err(ServeError::Datatype {
            input: options.input.clone(),
            reason: "this model explains numbers, not text".into(),
        })
    }

    /// Whether the model serves the generate extension ([`ServableModel::generate`]).
    fn can_generate(&self) -> bool {
        false
    }

    /// Continues `request.text_input`, calling `on_text(text)` after every new token with
    /// the whole new text so far (the server streams from it), and asking
    /// `request.cancel` between tokens. An error from `on_text` ends generation and is
    /// returned. The default refuses: the model does not generate.
    fn generate(
        &self,
        request: &GenerateRequest,
        on_text: &mut dyn FnMut(&str) -> Result<()>,
    ) -> Result<GenerateOutput> {
        let _ = (request, on_text);
        Err(ServeError::InvalidRequest(
            "this model does not generate text (the generate extension needs a language model)"
                .into(),
        ))
    }
}

impl std::fmt::Debug for dyn ServableModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServableModel")
    }
}

/// Turns a model bundle (a file or a directory) into a servable model.
pub trait ModelLoader: Send + Sync + 'static {
    /// Loads the bundle at `path`; errors should be [`ServeError::Load`] naming the path.
    fn load(&self, path: &Path) -> Result<Arc<dyn ServableModel>>;
}

impl<F> ModelLoader for F
where
    F: Fn(&Path) -> Result<Arc<dyn ServableModel>> + Send + Sync + 'static,
{
    fn load(&self, path: &Path) -> Result<Arc<dyn ServableModel>> {
        self(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn classification_outputs_argmax_and_labels() {
        let p = array![[0.1f32, 0.7, 0.2], [0.5, 0.25, 0.25]];
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let pred = Prediction::classification(p, &names);
        assert_eq!(pred.batch_len(), 2);
        match &pred.outputs[1].1 {
            OutputTensor::Int64(c) => assert_eq!(c.as_slice().unwrap(), &[1, 0]),
            other => panic!("class output has the wrong type: {other:?}"),
        }
        match &pred.outputs[2].1 {
            OutputTensor::Bytes(l) => assert_eq!(l.as_slice().unwrap(), &["b", "a"]),
            other => panic!("label output has the wrong type: {other:?}"),
        }
        let second = pred.rows(1, 2);
        assert_eq!(second.outputs[0].1.shape(), &[1, 3]);
    }

    #[test]
    fn targets_are_checked_against_classes_and_rows() {
        let p = ExplainParams::new("m", Target::PerRow(vec![0, 1]));
        assert!(p.targets(&[0, 0, 0], 3).is_err());
        assert_eq!(p.targets(&[2, 2], 3).unwrap(), vec![0, 1]);
        let q = ExplainParams {
            target: Target::Class(5),
            ..p
        };
        let err = q.targets(&[0], 3).unwrap_err().to_string();
        assert!(err.contains("target") && err.contains('5'));
        let mut r = ExplainParams::new("ig", Target::Predicted);
        r.options.insert("n_steps".into(), 50.into());
        let err = r.check_option_names(&["baseline"]).unwrap_err().to_string();
        assert!(
            err.contains("'n_steps'") && err.contains("baseline"),
            "{err}"
        );
        assert_eq!(r.usize_option("n_steps", 1).unwrap(), 50);
        r.options.insert("n_steps".into(), (-3).into());
        assert!(r.usize_option("n_steps", 1).is_err());
    }
}
