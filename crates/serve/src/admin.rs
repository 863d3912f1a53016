//! Model repository extension endpoints: index, load and unload.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::{Result, ServeError};
use crate::handlers::read_body;
use crate::server::AppState;

/// Parses an optional JSON object body (empty body = `{}`).
async fn body_object(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<serde_json::Map<String, Value>> {
    let bytes = read_body(state, headers, body).await?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Default::default());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(ServeError::BadJson(format!(
            "expected a JSON object, got {other}"
        ))),
        Err(e) => Err(ServeError::BadJson(e.to_string())),
    }
}

/// Reads the optional `parameters.version` (a glassbox extension: load or unload only that
/// version; a number or a numeric string).
fn version_param(body: &serde_json::Map<String, Value>) -> Result<Option<u64>> {
    let v = body.get("parameters").and_then(|p| p.get("version"));
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(Value::String(s)) if s.parse::<u64>().is_ok() => Ok(s.parse().ok()),
        Some(other) => Err(ServeError::InvalidRequest(format!(
            "parameter 'version' must be a positive integer, got {other}"
        ))),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServeError::Unavailable(format!("repository task failed: {e}")))?
}

fn ok_json(v: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// `POST /v2/repository/index` with optional body `{"ready": true}`.
pub async fn index(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let r: Result<Response> = async {
        let b = body_object(&state, &headers, body).await?;
        let ready_only = b.get("ready").and_then(Value::as_bool).unwrap_or(false);
        let repo = state.repo.clone();
        let rows = blocking(move || repo.index(ready_only)).await?;
        Ok(ok_json(json!(rows)))
    }
    .await;
    r.unwrap_or_else(|e| e.into_response())
}

/// `POST /v2/repository/models/{name}/load`.
pub async fn load(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r: Result<Response> = async {
        let b = body_object(&state, &headers, body).await?;
        let version = version_param(&b)?;
        let repo = state.repo.clone();
        let n = name.clone();
        blocking(move || repo.load(&n, version)).await?;
        Ok(ok_json(json!({ "name": name, "loaded": true })))
    }
    .await;
    r.unwrap_or_else(|e| e.into_response())
}

/// `POST /v2/repository/models/{name}/unload`.
pub async fn unload(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r: Result<Response> = async {
        let b = body_object(&state, &headers, body).await?;
        let version = version_param(&b)?;
        let repo = state.repo.clone();
        let n = name.clone();
        blocking(move || repo.unload(&n, version)).await?;
        Ok(ok_json(json!({ "name": name, "unloaded": true })))
    }
    .await;
    r.unwrap_or_else(|e| e.into_response())
}
