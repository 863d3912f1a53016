//! Open Inference Protocol (KServe v2) request and response bodies, including Triton's
//! binary-data extension (`Inference-Header-Content-Length`, `binary_data_size`,
//! `binary_data`, `binary_data_output`) and classification extension (output parameter
//! `classification`, alias `class_count`).

use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::data::FlatData;
use crate::error::{Result, ServeError};
use crate::model::{ModelMetadata, OutputTensor, TensorSpec};
use crate::tensor::{
    binary_to_f32, check_input_datatype, first_non_finite, tensor_to_binary, OutputData,
};

/// Header carrying the length of the JSON part of a binary-extension body.
pub const HEADER_JSON_LENGTH: &str = "inference-header-content-length";

/// An inference (or explanation) request body.
#[derive(Debug, Clone, Deserialize)]
pub struct InferRequest {
    /// Optional request id, echoed in the response.
    #[serde(default)]
    pub id: Option<String>,
    /// Request parameters (`binary_data_output`; explanation `method`, `target`, options).
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    /// Input tensors.
    pub inputs: Vec<RequestInput>,
    /// Requested outputs (all when absent).
    #[serde(default)]
    pub outputs: Option<Vec<RequestOutput>>,
}

/// One input tensor of a request.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestInput {
    /// Tensor name.
    pub name: String,
    /// Shape, batch dimension first.
    pub shape: Vec<i64>,
    /// Datatype name.
    pub datatype: String,
    /// Tensor parameters (`binary_data_size`).
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    /// Row-major values (flat or nested); absent when sent as binary data.
    #[serde(default)]
    pub data: Option<FlatData>,
}

/// One requested output.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestOutput {
    /// Output name.
    pub name: String,
    /// Output parameters (`binary_data`, `classification`).
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// An inference response body (JSON part).
#[derive(Debug, Clone, Serialize)]
pub struct InferResponse {
    /// Model name.
    pub model_name: String,
    /// Version that answered.
    pub model_version: String,
    /// Echo of the request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Output tensors.
    pub outputs: Vec<ResponseOutput>,
}

/// One output tensor of a response.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseOutput {
    /// Output name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Datatype name.
    pub datatype: &'static str,
    /// `binary_data_size` when the values follow the JSON as binary data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
    /// Values when sent as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<OutputData>,
}

/// A parsed request plus the raw bytes of its binary section (if any).
#[derive(Debug)]
pub struct ParsedRequest {
    /// The JSON part.
    pub request: InferRequest,
    /// Bytes following the JSON part (binary-data extension).
    pub binary: Vec<u8>,
}

/// Splits and parses a request body. `json_len` is the value of the
/// `Inference-Header-Content-Length` header when present.
pub fn parse_request(body: &[u8], json_len: Option<&str>) -> Result<ParsedRequest> {
    let (json, binary) = match json_len {
        None => (body, &[][..]),
        Some(h) => {
            let n: usize = h.trim().parse().map_err(|_| {
                ServeError::InvalidRequest(format!(
                    "header Inference-Header-Content-Length is '{h}', not a byte count"
                ))
            })?;
            if n > body.len() {
                return Err(ServeError::InvalidRequest(format!(
                    "header Inference-Header-Content-Length is {n} but the body has only {} bytes",
                    body.len()
                )));
            }
            body.split_at(n)
        }
    };
    let request: InferRequest =
        serde_json::from_slice(json).map_err(|e| ServeError::BadJson(e.to_string()))?;
    Ok(ParsedRequest {
        request,
        binary: binary.to_vec(),
    })
}

fn param_bool(p: &Option<Map<String, Value>>, key: &str) -> bool {
    p.as_ref()
        .and_then(|m| m.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The request's one input, named as the model's input `spec` (numeric and text models
/// alike); errors name both.
pub(crate) fn single_input<'a>(
    parsed: &'a ParsedRequest,
    spec: &TensorSpec,
) -> Result<&'a RequestInput> {
    let input = match parsed.request.inputs.as_slice() {
        [one] => one,
        [] => return Err(ServeError::InvalidRequest("field 'inputs' is empty".into())),
        many => {
            return Err(ServeError::InvalidRequest(format!(
                "{} inputs given; the model takes exactly one, '{}'",
                many.len(),
                spec.name
            )))
        }
    };
    if input.name != spec.name {
        return Err(ServeError::InvalidRequest(format!(
            "unknown input '{}'; the model's input is '{}'",
            input.name, spec.name
        )));
    }
    Ok(input)
}

/// Decodes and validates the single input tensor against the model's input spec: name,
/// datatype, rank and per-sample dimensions, data length, finiteness.
pub fn decode_input(parsed: &ParsedRequest, meta: &ModelMetadata) -> Result<ArrayD<f32>> {
    let spec = meta.input()?;
    let input = single_input(parsed, spec)?;
    let dt = check_input_datatype(&input.name, &input.datatype, spec.datatype)?;
    let shape = check_shape(&input.name, &input.shape, spec)?;
    let count = element_count(&input.name, &input.shape, &shape)?;
    let binary_size = input
        .parameters
        .as_ref()
        .and_then(|m| m.get("binary_data_size"));
    let values = match (binary_size, &input.data) {
        (Some(size), _) => {
            let size = size.as_u64().ok_or_else(|| {
                ServeError::InvalidRequest(format!(
                    "parameter 'binary_data_size' of input '{}' is not a byte count",
                    input.name
                ))
            })? as usize;
            if size != parsed.binary.len() {
                return Err(ServeError::InvalidRequest(format!(
                    "input '{}' declares binary_data_size {size} but {} binary bytes follow the JSON",
                    input.name,
                    parsed.binary.len()
                )));
            }
            // The declared size is checked against the shape before anything is decoded.
            if let Some(elem) = dt.size() {
                let want = count.checked_mul(elem);
                if want != Some(size) {
                    return Err(ServeError::Shape {
                        input: input.name.clone(),
                        reason: format!(
                            "shape {:?} of {dt} needs {} bytes but binary_data_size is {size}",
                            input.shape,
                            want.map_or("more than usize::MAX".to_string(), |w| w.to_string())
                        ),
                    });
                }
            }
            binary_to_f32(&input.name, dt, &parsed.binary[..size])?
        }
        (None, Some(data)) => data.to_f32(&input.name, dt)?,
        (None, None) => {
            return Err(ServeError::InvalidRequest(format!(
                "input '{}' has neither 'data' nor parameter 'binary_data_size'",
                input.name
            )))
        }
    };
    if values.len() != count {
        return Err(ServeError::Shape {
            input: input.name.clone(),
            reason: format!(
                "shape {:?} needs {count} elements but {} were given",
                input.shape,
                values.len()
            ),
        });
    }
    if let Some((index, v)) = first_non_finite(&values) {
        return Err(ServeError::NonFinite {
            input: input.name.clone(),
            index,
            value: v.to_string(),
        });
    }
    ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| ServeError::Shape {
        input: input.name.clone(),
        reason: e.to_string(),
    })
}

/// The number of elements of `shape`, or a shape error when the product overflows
/// (checked before any buffer of that size could be allocated).
fn element_count(name: &str, declared: &[i64], shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| ServeError::Shape {
            input: name.to_string(),
            reason: format!("shape {declared:?} has more elements than fit in memory"),
        })
}

fn check_shape(name: &str, shape: &[i64], spec: &TensorSpec) -> Result<Vec<usize>> {
    let err = |reason: String| ServeError::Shape {
        input: name.to_string(),
        reason,
    };
    if shape.len() != spec.shape.len() {
        return Err(err(format!(
            "got shape {shape:?} (rank {}), the model expects {:?} (rank {}, -1 = any)",
            shape.len(),
            spec.shape,
            spec.shape.len()
        )));
    }
    let mut out = Vec::with_capacity(shape.len());
    for (axis, (&got, &want)) in shape.iter().zip(&spec.shape).enumerate() {
        if got < 0 || (want >= 0 && got != want) {
            return Err(err(format!(
                "got shape {shape:?}, the model expects {:?} (-1 = any); dimension {axis} is {got}",
                spec.shape
            )));
        }
        out.push(got as usize);
    }
    if out[0] == 0 {
        return Err(err("the batch dimension is 0".to_string()));
    }
    Ok(out)
}

/// How the caller wants one output returned.
#[derive(Debug, Clone)]
struct OutputChoice {
    name: String,
    binary: bool,
    class_count: usize,
}

fn output_choices(
    req: &InferRequest,
    available: &[(String, &OutputTensor)],
) -> Result<Vec<OutputChoice>> {
    let default_binary = param_bool(&req.parameters, "binary_data_output");
    match &req.outputs {
        None => Ok(available
            .iter()
            .map(|(n, _)| OutputChoice {
                name: n.clone(),
                binary: default_binary,
                class_count: 0,
            })
            .collect()),
        Some(list) => list
            .iter()
            .map(|o| {
                if !available.iter().any(|(n, _)| n == &o.name) {
                    let names: Vec<&str> = available.iter().map(|(n, _)| n.as_str()).collect();
                    return Err(ServeError::InvalidRequest(format!(
                        "unknown output '{}'; available outputs: {}",
                        o.name,
                        names.join(", ")
                    )));
                }
                let p = &o.parameters;
                let class_count = p
                    .as_ref()
                    .and_then(|m| m.get("classification").or_else(|| m.get("class_count")))
                    .map(|v| {
                        v.as_u64().ok_or_else(|| {
                            ServeError::InvalidRequest(format!(
                                "parameter 'classification' of output '{}' is not a non-negative integer",
                                o.name
                            ))
                        })
                    })
                    .transpose()?
                    .unwrap_or(0) as usize;
                let binary = p
                    .as_ref()
                    .and_then(|m| m.get("binary_data"))
                    .and_then(Value::as_bool)
                    .unwrap_or(default_binary);
                Ok(OutputChoice {
                    name: o.name.clone(),
                    binary,
                    class_count,
                })
            })
            .collect(),
    }
}

/// Triton's classification extension: the top `k` entries of each row of a `[n, c]` FP32
/// tensor as BYTES `"score:index"` (or `"score:index:label"` when `labels` are given).
fn classify(
    t: &OutputTensor,
    k: usize,
    labels: Option<&[String]>,
    name: &str,
) -> Result<OutputTensor> {
    let a = match t {
        OutputTensor::Fp32(a) if a.ndim() == 2 => a,
        _ => {
            return Err(ServeError::InvalidRequest(format!(
                "parameter 'classification' needs a 2-D FP32 output; '{name}' is not one"
            )))
        }
    };
    let (n, c) = (a.shape()[0], a.shape()[1]);
    let k = k.min(c);
    let mut out = Vec::with_capacity(n * k);
    for r in 0..n {
        let mut idx: Vec<usize> = (0..c).collect();
        idx.sort_by(|&i, &j| a[[r, j]].total_cmp(&a[[r, i]]).then(i.cmp(&j)));
        for &i in idx.iter().take(k) {
            out.push(match labels.and_then(|l| l.get(i)) {
                Some(l) => format!("{:.6}:{i}:{l}", a[[r, i]]),
                None => format!("{:.6}:{i}", a[[r, i]]),
            });
        }
    }
    ArrayD::from_shape_vec(IxDyn(&[n, k]), out)
        .map(OutputTensor::Bytes)
        .map_err(|e| ServeError::InvalidRequest(e.to_string()))
}

/// An encoded response: the body and, for binary outputs, the JSON part's length
/// (the value of the `Inference-Header-Content-Length` response header).
#[derive(Debug)]
pub struct EncodedResponse {
    /// Full body (JSON, then binary tensors).
    pub body: Vec<u8>,
    /// Length of the JSON part when binary data follows.
    pub json_len: Option<usize>,
}

/// Builds the response body for `outputs`, honouring the requested outputs, `binary_data`,
/// `binary_data_output` and `classification`.
pub fn encode_response(
    model_name: &str,
    version: &str,
    req: &InferRequest,
    outputs: &[(String, OutputTensor)],
) -> Result<EncodedResponse> {
    let available: Vec<(String, &OutputTensor)> =
        outputs.iter().map(|(n, t)| (n.clone(), t)).collect();
    let choices = output_choices(req, &available)?;
    let mut json_outputs = Vec::with_capacity(choices.len());
    let mut binary = Vec::new();
    for choice in &choices {
        let (_, tensor) = available
            .iter()
            .find(|(n, _)| n == &choice.name)
            .ok_or_else(|| {
                ServeError::InvalidRequest(format!("unknown output '{}'", choice.name))
            })?;
        let classified;
        let tensor: &OutputTensor = if choice.class_count > 0 {
            classified = classify(tensor, choice.class_count, None, &choice.name)?;
            &classified
        } else {
            tensor
        };
        let mut out = ResponseOutput {
            name: choice.name.clone(),
            shape: tensor.shape().to_vec(),
            datatype: tensor.datatype().as_str(),
            parameters: None,
            data: None,
        };
        if choice.binary {
            let bytes = tensor_to_binary(tensor);
            let mut p = Map::new();
            p.insert("binary_data_size".into(), Value::from(bytes.len()));
            out.parameters = Some(p);
            binary.extend_from_slice(&bytes);
        } else {
            out.data = Some(OutputData::from_tensor(tensor));
        }
        json_outputs.push(out);
    }
    let resp = InferResponse {
        model_name: model_name.to_string(),
        model_version: version.to_string(),
        id: req.id.clone(),
        outputs: json_outputs,
    };
    let mut body = serde_json::to_vec(&resp).map_err(|e| ServeError::Model {
        model: model_name.to_string(),
        reason: format!("response serialisation failed: {e}"),
    })?;
    let any_binary = choices.iter().any(|c| c.binary);
    let json_len = any_binary.then_some(body.len());
    body.extend_from_slice(&binary);
    Ok(EncodedResponse { body, json_len })
}
