//! The crate's error type and its mapping onto HTTP status codes.
//!
//! Every error the server returns to a client is rendered as `{"error": "<message>"}` with
//! the status code of [`ServeError::status`]. Messages name the model, version, tensor,
//! field, shape or datatype at fault.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Result alias used throughout `glassbox-serve`.
pub type Result<T> = std::result::Result<T, ServeError>;

/// Everything that can go wrong while loading models or answering a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The request body is not valid JSON or does not follow the protocol's schema.
    #[error("invalid request JSON: {0}")]
    BadJson(String),
    /// A request field is missing or has an invalid value (names the field).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// An input tensor's shape does not match the model's input shape or its data length.
    #[error("shape error for input '{input}': {reason}")]
    Shape {
        /// Name of the offending input tensor.
        input: String,
        /// What is wrong with the shape.
        reason: String,
    },
    /// An input tensor has a datatype the model cannot take, or data that does not match it.
    #[error("datatype error for input '{input}': {reason}")]
    Datatype {
        /// Name of the offending input tensor.
        input: String,
        /// What is wrong with the datatype.
        reason: String,
    },
    /// An input tensor holds NaN or an infinity.
    #[error("input '{input}' holds a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        /// Name of the offending input tensor.
        input: String,
        /// Flat (row-major) index of the first non-finite element.
        index: usize,
        /// The value found, printed (`NaN`, `inf`, `-inf`).
        value: String,
    },
    /// A model produced NaN or an infinity in an output (prediction or explanation): the
    /// response is refused rather than sent with `null`s (JSON has no NaN).
    #[error("model '{model}' produced a non-finite value ({value}) in output '{output}' at flat index {index}; nothing was sent")]
    NonFiniteOutput {
        /// Model name.
        model: String,
        /// Name of the output tensor (`probabilities`, `attributions`, …).
        output: String,
        /// Flat (row-major) index of the first non-finite element.
        index: usize,
        /// The value found, printed (`NaN`, `inf`, `-inf`).
        value: String,
    },
    /// No model of this name is known to the repository.
    #[error("unknown model '{0}'")]
    UnknownModel(String),
    /// The model is known but this version is not loaded.
    #[error("unknown version '{version}' of model '{model}' (loaded versions: {available})")]
    UnknownVersion {
        /// Model name.
        model: String,
        /// Requested version.
        version: String,
        /// Comma-separated loaded versions, or `none`.
        available: String,
    },
    /// The model exists on disk but is not loaded (unloaded, or failed to load).
    #[error("model '{0}' is not loaded")]
    NotReady(String),
    /// An explanation request asked for something the model does not support.
    #[error("explain: {0}")]
    Explain(String),
    /// Authentication is required and the bearer token is missing or wrong.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The request body is larger than the configured limit.
    #[error("request body too large: limit is {limit} bytes")]
    BodyTooLarge {
        /// Configured limit in bytes.
        limit: usize,
    },
    /// The request did not complete within the configured per-request timeout.
    #[error("request timed out after {millis} ms")]
    Timeout {
        /// Configured timeout in milliseconds.
        millis: u128,
    },
    /// An explain request asks for more than a server limit allows.
    #[error("explain: {what} = {value} exceeds the server's limit of {limit} (set by {flag})")]
    LimitExceeded {
        /// What is too large (`rows`, or the option name such as `n_samples`).
        what: String,
        /// The value asked for.
        value: usize,
        /// The server's limit.
        limit: usize,
        /// The server flag that sets the limit.
        flag: &'static str,
    },
    /// An explanation was stopped at its deadline (its work ended there).
    #[error("explain: stopped after its deadline of {millis} ms (set by {flag}); ask for fewer rows, fewer evaluations or a cheaper method")]
    ExplainStopped {
        /// The deadline in milliseconds.
        millis: u128,
        /// The server flag that sets the deadline.
        flag: &'static str,
    },
    /// Too many requests of a kind are in flight; retry later.
    #[error("busy: {what} already in flight (limit {limit}, set by {flag}); retry later")]
    Busy {
        /// What is at its limit.
        what: String,
        /// The limit.
        limit: usize,
        /// The server flag that sets the limit.
        flag: &'static str,
    },
    /// No route matches the request path.
    #[error("no endpoint {method} {path}")]
    NotFound {
        /// HTTP method of the request.
        method: String,
        /// Request path.
        path: String,
    },
    /// The server is shutting down or a compute worker went away.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A model bundle could not be loaded (names the path and the cause).
    #[error("failed to load model from '{path}': {reason}")]
    Load {
        /// Bundle path.
        path: String,
        /// Cause.
        reason: String,
    },
    /// The model itself failed while computing (a bug or a bundle inconsistency).
    #[error("model '{model}' failed: {reason}")]
    Model {
        /// Model name.
        model: String,
        /// Cause.
        reason: String,
    },
    /// I/O error (binding the socket, reading a model directory, ...).
    #[error("I/O error in {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl ServeError {
    /// The HTTP status code this error is reported with.
    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::BadJson(_)
            | ServeError::InvalidRequest(_)
            | ServeError::Shape { .. }
            | ServeError::Datatype { .. }
            | ServeError::NonFinite { .. }
            | ServeError::Explain(_)
            | ServeError::LimitExceeded { .. }
            | ServeError::NotReady(_) => StatusCode::BAD_REQUEST,
            ServeError::UnknownModel(_)
            | ServeError::UnknownVersion { .. }
            | ServeError::NotFound { .. } => StatusCode::NOT_FOUND,
            ServeError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ServeError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServeError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ServeError::Unavailable(_)
            | ServeError::ExplainStopped { .. }
            | ServeError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::Load { .. }
            | ServeError::Model { .. }
            | ServeError::NonFiniteOutput { .. }
            | ServeError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ServeError::Io {
            context: context.into(),
            source,
        }
    }

    /// The JSON body `{"error": "..."}` sent to clients.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "error": self.to_string() }).to_string()
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), self.to_json()).into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        if matches!(self, ServeError::Busy { .. }) {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        if matches!(self, ServeError::Unauthorized(_)) {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_error_class() {
        assert_eq!(
            ServeError::BadJson("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ServeError::UnknownModel("m".into()).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ServeError::Unauthorized("no token".into()).status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            ServeError::BodyTooLarge { limit: 1 }.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn json_body_names_the_problem() {
        let e = ServeError::NonFinite {
            input: "x".into(),
            index: 3,
            value: "NaN".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        let msg = v["error"].as_str().unwrap();
        assert!(msg.contains("'x'") && msg.contains("NaN") && msg.contains('3'));
        let e = ServeError::NonFiniteOutput {
            model: "m".into(),
            output: "attributions".into(),
            index: 5,
            value: "inf".into(),
        };
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(e.to_string().contains("'attributions'") && e.to_string().contains("inf"));
    }
}
