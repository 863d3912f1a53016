//! The generate extension of the Open Inference Protocol (`generate_rest.yaml`):
//! `POST /v2/models/{m}/generate` answers `{"model_name", "model_version",
//! "text_output"}`, and `POST /v2/models/{m}/generate_stream` answers server-sent events
//! whose `data:` lines carry the same JSON with the new text of each token, sent as the
//! token is generated. Parameters: `max_new_tokens` (at most the server's limit),
//! `temperature` (absent or 0: greedy), `top_k`, `top_p`, `seed`, `stop` (a string or a
//! list); any other parameter is a 400 naming it. The request timeout stops generation.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Frame;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::batcher::run_on_pool;
use crate::budget::Cancel;
use crate::error::{Result, ServeError};
use crate::handlers::{json_response, lookup, metric_label, observed, read_body};
use crate::metrics::Metrics;
use crate::model::ServableModel;
use crate::server::AppState;
use crate::text::{
    streamable_len, GenerateLimits, GenerateOutput, GenerateRequest, FLAG_MAX_NEW_TOKENS,
    GENERATE_PARAMETERS,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateBody {
    text_input: String,
    #[serde(default)]
    parameters: Option<Map<String, Value>>,
    #[serde(default)]
    id: Option<String>,
}

fn bad(msg: String) -> ServeError {
    ServeError::InvalidRequest(msg)
}

fn positive(key: &str, v: &Value) -> Result<usize> {
    v.as_u64()
        .filter(|&n| n > 0)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            bad(format!(
                "parameter '{key}' must be a positive integer, got {v}"
            ))
        })
}

/// Parses and checks a generate request body against the server's limits.
pub(crate) fn parse_generate(
    body: &[u8],
    limits: GenerateLimits,
    cancel: Cancel,
) -> Result<(GenerateRequest, Option<String>)> {
    let b: GenerateBody =
        serde_json::from_slice(body).map_err(|e| ServeError::BadJson(e.to_string()))?;
    let mut req = GenerateRequest {
        text_input: b.text_input,
        max_new_tokens: limits.default_new_tokens.min(limits.max_new_tokens),
        temperature: None,
        top_k: None,
        top_p: None,
        seed: 0,
        stop: Vec::new(),
        cancel,
    };
    for (key, v) in b.parameters.unwrap_or_default() {
        match key.as_str() {
            "max_new_tokens" => {
                let n = positive(&key, &v)?;
                if n > limits.max_new_tokens {
                    return Err(bad(format!(
                        "parameter 'max_new_tokens' = {n} exceeds the server's limit of {} (set by {FLAG_MAX_NEW_TOKENS})",
                        limits.max_new_tokens
                    )));
                }
                req.max_new_tokens = n;
            }
            "temperature" => {
                let t = v
                    .as_f64()
                    .filter(|t| t.is_finite() && *t >= 0.0)
                    .ok_or_else(|| {
                        bad(format!(
                            "parameter 'temperature' must be a number >= 0 (0: greedy), got {v}"
                        ))
                    })?;
                req.temperature = (t > 0.0).then_some(t as f32);
            }
            "top_k" => req.top_k = Some(positive(&key, &v)?),
            "top_p" => {
                let p = v
                    .as_f64()
                    .filter(|p| *p > 0.0 && *p <= 1.0)
                    .ok_or_else(|| {
                        bad(format!(
                            "parameter 'top_p' must be a number in (0, 1], got {v}"
                        ))
                    })?;
                req.top_p = Some(p as f32);
            }
            "seed" => {
                req.seed = v.as_u64().ok_or_else(|| {
                    bad(format!(
                        "parameter 'seed' must be a non-negative integer, got {v}"
                    ))
                })?
            }
            "stop" => {
                let list = match &v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(items) => items
                        .iter()
                        .map(|s| s.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| {
                            bad(format!(
                                "parameter 'stop' must be a string or a list of strings, got {v}"
                            ))
                        })?,
                    _ => {
                        return Err(bad(format!(
                            "parameter 'stop' must be a string or a list of strings, got {v}"
                        )))
                    }
                };
                if list.iter().any(String::is_empty) {
                    return Err(bad("parameter 'stop' holds an empty string".into()));
                }
                req.stop = list;
            }
            _ => {
                return Err(bad(format!(
                    "unknown parameter '{key}'; generate takes {}",
                    GENERATE_PARAMETERS.join(", ")
                )))
            }
        }
    }
    if req.temperature.is_none() && (req.top_k.is_some() || req.top_p.is_some()) {
        return Err(bad(
            "parameters 'top_k' and 'top_p' need 'temperature' > 0 (sampling); without it decoding is greedy".into(),
        ));
    }
    Ok((req, b.id))
}

/// Times tokens for the metrics: the first from the request's arrival, the others from
/// the previous token.
struct TokenClock {
    metrics: Arc<Metrics>,
    label: String,
    start: Instant,
    last: Option<Instant>,
}

impl TokenClock {
    fn tick(&mut self) {
        let now = Instant::now();
        if self.last.is_none() {
            self.metrics
                .record_first_token(&self.label, now - self.start);
        }
        self.metrics
            .record_token(&self.label, now - self.last.unwrap_or(self.start));
        self.last = Some(now);
    }
}

fn stopped(cancel: &Cancel, timeout_ms: u128) -> Result<()> {
    if cancel.is_cancelled() {
        return Err(ServeError::Timeout { millis: timeout_ms });
    }
    Ok(())
}

struct Prepared {
    model: Arc<dyn ServableModel>,
    request: GenerateRequest,
    id: Option<String>,
    version: u64,
    clock: TokenClock,
    guard: crate::budget::CancelOnDrop,
}

async fn prepare(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    start: Instant,
) -> Result<Prepared> {
    let bytes = read_body(state, headers, body).await?;
    let entry = lookup(state, name, version)?;
    let model = entry.model();
    if !model.can_generate() {
        return Err(bad(format!(
            "model '{name}' does not generate text (it serves /infer and /explain)"
        )));
    }
    let cancel = Cancel::with_deadline(state.settings.request_timeout);
    let (request, id) = parse_generate(&bytes, state.settings.generate, cancel.clone())?;
    Ok(Prepared {
        model,
        request,
        id,
        version: entry.version,
        clock: TokenClock {
            metrics: state.metrics.clone(),
            label: metric_label(state, name).to_string(),
            start,
            last: None,
        },
        guard: cancel.on_drop(),
    })
}

async fn generate_inner(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    start: Instant,
) -> Result<Response> {
    let p = prepare(state, name, version, headers, body, start).await?;
    let timeout_ms = state.settings.request_timeout.as_millis();
    let (model, request, mut clock) = (p.model, p.request, p.clock);
    let out = run_on_pool(state.repo.pool(), name, move || {
        let cancel = request.cancel.clone();
        model.generate(&request, &mut |_| {
            clock.tick();
            stopped(&cancel, timeout_ms)
        })
    })
    .await;
    p.guard.disarm();
    let out = out?;
    let mut body = json!({
        "model_name": name,
        "model_version": p.version.to_string(),
        "text_output": out.text,
        "details": { "finish_reason": out.finish_reason, "generated_tokens": out.tokens },
    });
    if let Some(id) = p.id {
        body["id"] = json!(id);
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// One server-sent event: `data: <json>` (or `event: error`).
fn sse(event: Option<&str>, data: &Value) -> Bytes {
    let mut s = String::new();
    if let Some(e) = event {
        s.push_str("event: ");
        s.push_str(e);
        s.push('\n');
    }
    s.push_str("data: ");
    s.push_str(&data.to_string());
    s.push_str("\n\n");
    Bytes::from(s)
}

/// A response body fed by a channel: each message is sent as its own chunk as soon as
/// it arrives; the body ends when the sender is dropped.
struct ChannelBody(mpsc::UnboundedReceiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|m| m.map(|b| Ok(Frame::data(b))))
    }
}

/// Runs a streamed generation on the compute pool: one event per token with the new
/// text that can be sent (text that may still turn into a stop string, or a character cut
/// inside its UTF-8 bytes, is held back until it cannot), then a last event with the rest
/// of the final text and the finish reason, or an `error` event. Stops when the client
/// goes away or at the request timeout.
fn stream_generation(
    p: Prepared,
    name: String,
    state: &AppState,
    tx: mpsc::UnboundedSender<Bytes>,
) {
    let timeout_ms = state.settings.request_timeout.as_millis();
    let pool = state.repo.pool().clone();
    let Prepared {
        model,
        request,
        version,
        mut clock,
        guard,
        id,
    } = p;
    pool.spawn(move || {
        let version = version.to_string();
        let event = |text: &str, finish: Option<&GenerateOutput>| {
            let mut v =
                json!({ "model_name": name, "model_version": version, "text_output": text });
            if let Some(out) = finish {
                v["details"] =
                    json!({ "finish_reason": out.finish_reason, "generated_tokens": out.tokens });
            }
            if let Some(id) = &id {
                v["id"] = json!(id);
            }
            sse(None, &v)
        };
        let mut sent = String::new();
        let cancel = request.cancel.clone();
        let run = catch_unwind(AssertUnwindSafe(|| {
            model.generate(&request, &mut |text| {
                clock.tick();
                stopped(&cancel, timeout_ms)?;
                let end = streamable_len(text, &request.stop);
                let delta = if end > sent.len() && text.starts_with(sent.as_str()) {
                    &text[sent.len()..end]
                } else {
                    ""
                };
                sent.push_str(delta);
                tx.send(event(delta, None)).map_err(|_| {
                    ServeError::Unavailable("the client closed the event stream".into())
                })
            })
        }))
        .unwrap_or_else(|_| {
            Err(ServeError::Model {
                model: name.clone(),
                reason: "panicked while generating".into(),
            })
        });
        let last = match run {
            Ok(out) if out.text.starts_with(sent.as_str()) => {
                event(&out.text[sent.len()..], Some(&out))
            }
            Ok(out) => sse(
                Some("error"),
                &json!({ "error": format!(
                    "model '{name}' streamed {:?} but its final text is {:?}", sent, out.text) }),
            ),
            Err(e) => sse(Some("error"), &json!({ "error": e.to_string() })),
        };
        let _ = tx.send(last);
        guard.disarm();
    });
}

async fn generate_stream_inner(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    start: Instant,
) -> Result<Response> {
    let p = prepare(state, name, version, headers, body, start).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    stream_generation(p, name.to_string(), state, tx);
    let mut r = (StatusCode::OK, Body::new(ChannelBody(rx))).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}

/// `POST /v2/models/{name}/generate`.
pub async fn generate(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t0 = Instant::now();
    let r = generate_inner(&state, &name, None, &headers, body, t0).await;
    observed(&state, &name, "generate", t0, r).await
}

/// `POST /v2/models/{name}/versions/{version}/generate`.
pub async fn generate_version(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t0 = Instant::now();
    let r = generate_inner(&state, &name, Some(&version), &headers, body, t0).await;
    observed(&state, &name, "generate", t0, r).await
}

/// `POST /v2/models/{name}/generate_stream`.
pub async fn generate_stream(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t0 = Instant::now();
    let r = generate_stream_inner(&state, &name, None, &headers, body, t0).await;
    observed(&state, &name, "generate_stream", t0, r).await
}

/// `POST /v2/models/{name}/versions/{version}/generate_stream`.
pub async fn generate_stream_version(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t0 = Instant::now();
    let r = generate_stream_inner(&state, &name, Some(&version), &headers, body, t0).await;
    observed(&state, &name, "generate_stream", t0, r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<GenerateRequest> {
        parse_generate(
            body.as_bytes(),
            GenerateLimits::default(),
            Cancel::default(),
        )
        .map(|r| r.0)
    }

    #[test]
    fn parameters_are_checked_by_name() {
        let r = parse(r#"{"text_input": "Hi", "parameters": {"max_new_tokens": 5, "temperature": 0.7, "seed": 3, "stop": ["\n"]}}"#).unwrap();
        assert_eq!(r.max_new_tokens, 5);
        assert_eq!(r.temperature, Some(0.7));
        assert_eq!((r.seed, r.stop.clone()), (3, vec!["\n".to_string()]));
        let greedy =
            parse(r#"{"text_input": "Hi", "parameters": {"temperature": 0, "stop": "x"}}"#)
                .unwrap();
        assert_eq!(greedy.temperature, None);
        assert_eq!(
            greedy.max_new_tokens,
            GenerateLimits::default().default_new_tokens
        );
        for (body, needle) in [
            (
                r#"{"text_input": "Hi", "parameters": {"max_tokens": 5}}"#,
                "unknown parameter 'max_tokens'",
            ),
            (
                r#"{"text_input": "Hi", "parameters": {"max_new_tokens": 100000}}"#,
                "'max_new_tokens' = 100000 exceeds the server's limit of 256",
            ),
            (
                r#"{"text_input": "Hi", "parameters": {"max_new_tokens": 0}}"#,
                "'max_new_tokens' must be a positive integer",
            ),
            (
                r#"{"text_input": "Hi", "parameters": {"temperature": -1}}"#,
                "'temperature'",
            ),
            (
                r#"{"text_input": "Hi", "parameters": {"stop": [""]}}"#,
                "'stop'",
            ),
            (
                r#"{"text_input": "Hi", "parameters": {"top_k": 5}}"#,
                "need 'temperature'",
            ),
            (r#"{"prompt": "Hi"}"#, "prompt"),
        ] {
            let e = parse(body).unwrap_err();
            assert_eq!(e.status().as_u16(), 400, "{body}");
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
    }

    #[test]
    fn events_are_data_lines_of_json() {
        let b = sse(None, &json!({"text_output": "a\nb"}));
        assert_eq!(&b[..], b"data: {\"text_output\":\"a\\nb\"}\n\n");
        let e = sse(Some("error"), &json!({"error": "x"}));
        assert!(e.starts_with(b"event: error\ndata: "));
    }
}
