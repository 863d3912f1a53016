//! HTTP handlers of the Open Inference Protocol endpoints.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::batcher::run_on_pool;
use crate::budget::Cancel;
use crate::error::{Result, ServeError};
use crate::model::{
    ExplainParams, ModelMetadata, OutputTensor, Target, TensorSpec, OUTPUT_ATTRIBUTIONS,
    OUTPUT_TARGET,
};
use crate::protocol::{
    decode_input, encode_response, parse_request, ParsedRequest, HEADER_JSON_LENGTH,
};
use crate::repository::{check_model_name, ModelEntry};
use crate::server::AppState;
use crate::text::{decode_text_input, truncation, TextOptions};

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Reads the whole body, enforcing the size limit.
pub(crate) async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes> {
    let limit = state.settings.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ServeError::BodyTooLarge { limit });
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ServeError::BodyTooLarge { limit })
}

/// `GET /v2/health/live`.
pub async fn live() -> Response {
    json_response(StatusCode::OK, &json!({ "live": true }))
}

/// `GET /v2/health/ready`: 200 when serving and at least one model is loaded, 400 otherwise.
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let ready = !state.shutting_down.load(Ordering::Relaxed) && state.repo.any_ready();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    json_response(status, &json!({ "ready": ready }))
}

/// `GET /v2`: server metadata.
pub async fn server_metadata(State(state): State<Arc<AppState>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "name": state.settings.server_name,
            "version": env!("CARGO_PKG_VERSION"),
            "extensions": ["binary_tensor_data", "classification", "model_repository", "explain", "generate", "metrics"],
        }),
    )
}

fn spec_json(s: &TensorSpec) -> Value {
    json!({ "name": s.name, "datatype": s.datatype.as_str(), "shape": s.shape })
}

fn metadata_json(name: &str, versions: Vec<String>, m: &ModelMetadata) -> Value {
    json!({
        "name": name,
        "versions": versions,
        "platform": m.platform,
        "inputs": m.inputs.iter().map(spec_json).collect::<Vec<_>>(),
        "outputs": m.outputs.iter().map(spec_json).collect::<Vec<_>>(),
        "explain_methods": m.explain_methods,
    })
}

pub(crate) fn lookup(
    state: &AppState,
    name: &str,
    version: Option<&str>,
) -> Result<Arc<ModelEntry>> {
    check_model_name(name).map_err(|_| ServeError::UnknownModel(name.to_string()))?;
    state.repo.get(name, version)
}

/// `GET /v2/models/{name}`: metadata of the default (highest) version, listing all versions.
pub async fn model_metadata(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    match lookup(&state, &name, None) {
        Ok(e) => {
            let versions = state
                .repo
                .versions(&name)
                .iter()
                .map(|v| v.to_string())
                .collect();
            json_response(StatusCode::OK, &metadata_json(&name, versions, &e.metadata))
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /v2/models/{name}/versions/{version}`.
pub async fn model_version_metadata(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    match lookup(&state, &name, Some(&version)) {
        Ok(e) => json_response(
            StatusCode::OK,
            &metadata_json(&name, vec![e.version.to_string()], &e.metadata),
        ),
        Err(e) => e.into_response(),
    }
}

fn ready_response(state: &AppState, name: &str, version: Option<&str>) -> Response {
    match lookup(state, name, version) {
        Ok(_) => json_response(StatusCode::OK, &json!({ "name": name, "ready": true })),
        Err(e @ (ServeError::UnknownModel(_) | ServeError::UnknownVersion { .. })) => {
            e.into_response()
        }
        Err(e) => json_response(
            StatusCode::BAD_REQUEST,
            &json!({ "name": name, "ready": false, "error": e.to_string() }),
        ),
    }
}

/// `GET /v2/models/{name}/ready`.
pub async fn model_ready(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    ready_response(&state, &name, None)
}

/// `GET /v2/models/{name}/versions/{version}/ready`.
pub async fn model_version_ready(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    ready_response(&state, &name, Some(&version))
}

fn config_json(e: &ModelEntry, state: &AppState) -> Value {
    let tensor = |s: &TensorSpec| {
        json!({
            "name": s.name,
            "data_type": format!("TYPE_{}", if s.datatype.as_str() == "BYTES" { "STRING" } else { s.datatype.as_str() }),
            "dims": s.shape.iter().skip(1).collect::<Vec<_>>(),
        })
    };
    let b = state.settings.batching;
    json!({
        "name": e.name,
        "platform": e.metadata.platform,
        "max_batch_size": b.max_batch_size,
        "input": e.metadata.inputs.iter().map(tensor).collect::<Vec<_>>(),
        "output": e.metadata.outputs.iter().map(tensor).collect::<Vec<_>>(),
        "dynamic_batching": if b.enabled {
            json!({ "max_queue_delay_microseconds": b.max_delay.as_micros() as u64 })
        } else {
            Value::Null
        },
    })
}

/// `GET /v2/models/{name}[/versions/{version}]/config` (Triton's model configuration).
pub async fn model_config(
    State(state): State<Arc<AppState>>,
    Path(params): Path<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let name = get("name").unwrap_or_default();
    match lookup(&state, &name, get("version").as_deref()) {
        Ok(e) => json_response(StatusCode::OK, &config_json(&e, &state)),
        Err(e) => e.into_response(),
    }
}

/// Encodes a response after checking that every FP32 output is finite: JSON has no NaN
/// or infinity (they would be sent as `null`), so a non-finite prediction or attribution
/// is a typed 500 naming the output instead.
fn encoded(
    model: &str,
    version: u64,
    req: &crate::protocol::InferRequest,
    outputs: &[(String, OutputTensor)],
) -> Result<Response> {
    for (output, t) in outputs {
        if let OutputTensor::Fp32(a) = t {
            // Logical (row-major) order, whatever the array's memory layout.
            if let Some((index, v)) = a.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(ServeError::NonFiniteOutput {
                    model: model.to_string(),
                    output: output.clone(),
                    index,
                    value: v.to_string(),
                });
            }
        }
    }
    let enc = encode_response(model, &version.to_string(), req, outputs)?;
    let mut r = (StatusCode::OK, enc.body).into_response();
    let h = r.headers_mut();
    match enc.json_len {
        Some(n) => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            h.insert(HEADER_JSON_LENGTH, HeaderValue::from(n));
        }
        None => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
    }
    Ok(r)
}

async fn infer_inner(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let bytes = read_body(state, headers, body).await?;
    let json_len = headers
        .get(HEADER_JSON_LENGTH)
        .and_then(|v| v.to_str().ok());
    let parsed = parse_request(&bytes, json_len)?;
    let entry = lookup(state, name, version)?;
    if entry.metadata.takes_text() {
        return infer_text(state, name, &entry, &parsed).await;
    }
    let input = decode_input(&parsed, &entry.metadata)?;
    let pred = entry.predict(input, state.settings.request_timeout).await?;
    encoded(name, entry.version, &parsed.request, &pred.outputs)
}

fn text_options(parsed: &ParsedRequest, meta: &ModelMetadata) -> Result<TextOptions> {
    Ok(TextOptions {
        input: meta.input()?.name.clone(),
        truncate: truncation(parsed.request.parameters.as_ref())?,
    })
}

/// `/infer` on a text model: the texts run on the compute pool (not batched with other
/// requests: a text batch is padded to its longest text).
async fn infer_text(
    state: &AppState,
    name: &str,
    entry: &ModelEntry,
    parsed: &ParsedRequest,
) -> Result<Response> {
    let texts = decode_text_input(parsed, &entry.metadata)?;
    let options = text_options(parsed, &entry.metadata)?;
    let n = texts.len();
    let model = entry.model();
    let pred = run_on_pool(state.repo.pool(), name, move || {
        model.predict_text(texts, &options)
    })
    .await?;
    if let Some((output, t)) = pred
        .outputs
        .iter()
        .find(|(_, t)| t.shape().first() != Some(&n))
    {
        return Err(ServeError::Model {
            model: name.to_string(),
            reason: format!("output '{output}' has shape {:?} for {n} texts", t.shape()),
        });
    }
    encoded(name, entry.version, &parsed.request, &pred.outputs)
}

/// The `model` label of a request's metrics: its name when the repository knows it,
/// [`crate::metrics::UNKNOWN_MODEL`] otherwise, whatever the request's outcome (a malformed
/// request to an invented name must not create a series either).
pub(crate) fn metric_label<'a>(state: &AppState, name: &'a str) -> &'a str {
    if state.repo.is_registered(name) {
        name
    } else {
        crate::metrics::UNKNOWN_MODEL
    }
}

pub(crate) async fn observed(
    state: &AppState,
    name: &str,
    endpoint: &str,
    start: Instant,
    r: Result<Response>,
) -> Response {
    let label = metric_label(state, name);
    let resp = r.unwrap_or_else(|e| e.into_response());
    state
        .metrics
        .record_request(label, endpoint, resp.status().as_u16(), start.elapsed());
    resp
}

/// `POST /v2/models/{name}/infer`.
pub async fn infer(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t0 = Instant::now();
    let r = infer_inner(&state, &name, None, &headers, body).await;
    observed(&state, &name, "infer", t0, r).await
}

/// `POST /v2/models/{name}/versions/{version}/infer`.
pub async fn infer_version(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t0 = Instant::now();
    let r = infer_inner(&state, &name, Some(&version), &headers, body).await;
    observed(&state, &name, "infer", t0, r).await
}

/// Reads `method`, `target` and method options from the request parameters.
pub fn explain_params(
    p: Option<&Map<String, Value>>,
    meta: &ModelMetadata,
) -> Result<ExplainParams> {
    let mut options = p.cloned().unwrap_or_default();
    options.remove("binary_data_output");
    let method = match options.remove("method") {
        None => meta.explain_methods.first().cloned().ok_or_else(|| {
            ServeError::Explain("the model supports no explanation method".into())
        })?,
        Some(Value::String(m)) => m,
        Some(other) => {
            return Err(ServeError::Explain(format!(
                "parameter 'method' must be a string, got {other}"
            )))
        }
    };
    if !meta.explain_methods.contains(&method) {
        return Err(ServeError::Explain(format!(
            "unknown method '{method}'; the model supports: {}",
            meta.explain_methods.join(", ")
        )));
    }
    let bad_target = |v: &Value| {
        ServeError::Explain(format!(
            "parameter 'target' must be \"predicted\", a class index or a list of class indices, got {v}"
        ))
    };
    let target = match options.remove("target") {
        None => Target::Predicted,
        Some(Value::String(s)) if s == "predicted" => Target::Predicted,
        Some(Value::Number(n)) => Target::Class(
            n.as_u64()
                .ok_or_else(|| bad_target(&Value::Number(n.clone())))? as usize,
        ),
        Some(Value::Array(items)) => Target::PerRow(
            items
                .iter()
                .map(|v| v.as_u64().map(|c| c as usize).ok_or_else(|| bad_target(v)))
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(other) => return Err(bad_target(&other)),
    };
    let mut params = ExplainParams::new(method, target);
    params.options = options;
    Ok(params)
}

async fn explain_inner(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let bytes = read_body(state, headers, body).await?;
    let json_len = headers
        .get(HEADER_JSON_LENGTH)
        .and_then(|v| v.to_str().ok());
    let parsed = parse_request(&bytes, json_len)?;
    let entry = lookup(state, name, version)?;
    if entry.metadata.takes_text() {
        return explain_text(state, name, &entry, &parsed).await;
    }
    let input = decode_input(&parsed, &entry.metadata)?;
    let limits = state.settings.explain;
    limits.check_rows(input.shape()[0])?;
    let mut params = explain_params(parsed.request.parameters.as_ref(), &entry.metadata)?;
    params.limits = limits;
    let model = entry.model();
    model.check_explain(&params)?;
    let shape = input.shape().to_vec();
    let exp = run_explanation(state, name, params, move |p| model.explain(input, p)).await?;
    if exp.attributions.shape() != shape.as_slice() || exp.targets.len() != shape[0] {
        return Err(ServeError::Model {
            model: name.to_string(),
            reason: format!(
                "explanation has attribution shape {:?} and {} targets for an input of shape {shape:?}",
                exp.attributions.shape(),
                exp.targets.len()
            ),
        });
    }
    let targets: Vec<i64> = exp.targets.iter().map(|&t| t as i64).collect();
    let outputs = vec![
        (
            OUTPUT_ATTRIBUTIONS.to_string(),
            OutputTensor::Fp32(exp.attributions),
        ),
        (
            OUTPUT_TARGET.to_string(),
            OutputTensor::Int64(ndarray::Array1::from(targets).into_dyn()),
        ),
    ];
    encoded(name, entry.version, &parsed.request, &outputs)
}

/// Runs one admitted explanation on the explanation pool under the request's budget:
/// at most `max_concurrent` at once (else 503 at once), cancelled at the deadline or when
/// the request is dropped; its compute time is recorded by model and method.
async fn run_explanation<T: Send + 'static>(
    state: &AppState,
    name: &str,
    mut params: ExplainParams,
    work: impl FnOnce(&ExplainParams) -> Result<T> + Send + 'static,
) -> Result<T> {
    let limits = params.limits;
    // Admission: at most `max_concurrent` explanations compute at once; the permit lives
    // until the pool work ends, not only until this handler returns.
    let permit = state
        .explain_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ServeError::Busy {
            what: format!("{} explanations", limits.max_concurrent),
            limit: limits.max_concurrent,
            flag: crate::budget::FLAG_CONCURRENT,
        })?;
    let budget = limits.deadline.min(state.settings.request_timeout);
    params.cancel = Cancel::with_deadline(budget);
    let cancel = params.cancel.clone();
    // A request dropped early (client gone, request timeout) cancels its explanation.
    let guard = cancel.on_drop();
    let method = params.method.clone();
    let t0 = Instant::now();
    let out = run_on_pool(&state.explain_pool, name, move || {
        let _permit = permit;
        params.cancel.check()?;
        work(&params)
    })
    .await;
    guard.disarm();
    state
        .metrics
        .record_explanation(metric_label(state, name), &method, t0.elapsed());
    match out {
        Err(_) if cancel.is_cancelled() => Err(cancel.error()),
        other => other,
    }
}

/// `/explain` on a text model: one attribution per text, as JSON.
async fn explain_text(
    state: &AppState,
    name: &str,
    entry: &ModelEntry,
    parsed: &ParsedRequest,
) -> Result<Response> {
    let texts = decode_text_input(parsed, &entry.metadata)?;
    let limits = state.settings.explain;
    limits.check_rows(texts.len())?;
    let mut parameters = parsed.request.parameters.clone().unwrap_or_default();
    let options = TextOptions {
        input: entry.metadata.input()?.name.clone(),
        truncate: truncation(Some(&parameters))?,
    };
    parameters.remove(crate::text::PARAM_TRUNCATION);
    let mut params = explain_params(Some(&parameters), &entry.metadata)?;
    params.limits = limits;
    let model = entry.model();
    model.check_explain(&params)?;
    let n = texts.len();
    let explanations = run_explanation(state, name, params, move |p| {
        model.explain_text(texts, &options, p)
    })
    .await?;
    if explanations.len() != n {
        return Err(ServeError::Model {
            model: name.to_string(),
            reason: format!("{} explanations for {n} texts", explanations.len()),
        });
    }
    for (i, e) in explanations.iter().enumerate() {
        let bad = e.tokens.len() != e.scores.len()
            || e.tokens.len() != e.offsets.len()
            || e.tokens.len() != e.baseline.len();
        if bad {
            return Err(ServeError::Model {
                model: name.to_string(),
                reason: format!(
                    "explanation {i} has {} tokens, {} offsets, {} scores, {} baseline tokens",
                    e.tokens.len(),
                    e.offsets.len(),
                    e.scores.len(),
                    e.baseline.len()
                ),
            });
        }
        let nonfinite = e.scores.iter().chain(&e.delta).position(|v| !v.is_finite());
        if let Some(index) = nonfinite {
            return Err(ServeError::NonFiniteOutput {
                model: name.to_string(),
                output: format!("explanations[{i}].scores"),
                index,
                value: e
                    .scores
                    .get(index)
                    .or(e.delta.as_ref())
                    .map_or(String::new(), |v| v.to_string()),
            });
        }
    }
    let mut body = json!({
        "model_name": name,
        "model_version": entry.version.to_string(),
        "explanations": explanations,
    });
    if let Some(id) = &parsed.request.id {
        body["id"] = json!(id);
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /v2/models/{name}/explain`.
pub async fn explain(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t0 = Instant::now();
    let r = explain_inner(&state, &name, None, &headers, body).await;
    observed(&state, &name, "explain", t0, r).await
}

/// `POST /v2/models/{name}/versions/{version}/explain`.
pub async fn explain_version(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t0 = Instant::now();
    let r = explain_inner(&state, &name, Some(&version), &headers, body).await;
    observed(&state, &name, "explain", t0, r).await
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut r = (StatusCode::OK, state.metrics.render()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}
