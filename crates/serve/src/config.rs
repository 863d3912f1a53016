//! Server configuration: a plain struct the CLI fills from its flags.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::batcher::BatchingConfig;
use crate::budget::ExplainLimits;
use crate::model::{ModelLoader, ServableModel};

/// Environment variable read by [`ServerConfig::apply_env`] for the bearer token.
pub const TOKEN_ENV: &str = "GLASSBOX_TOKEN";

/// Everything needed to start a server. Build it with [`ServerConfig::default`] and set
/// fields; `loader` must be set whenever `model_dir` or `models` are used.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address to bind; `127.0.0.1:8000` by default (port 0 picks a free port).
    pub addr: SocketAddr,
    /// Bearer token required on every request (`Authorization: Bearer <token>`) when set.
    pub token: Option<String>,
    /// Serve `/v2/health/*` without the token (for orchestrator probes). Default `false`.
    pub public_health: bool,
    /// Largest accepted request body in bytes (413 above). Default 16 MiB.
    pub max_body_bytes: usize,
    /// Per-request time limit (504 after it). Default 30 s.
    pub request_timeout: Duration,
    /// Dynamic batching settings.
    pub batching: BatchingConfig,
    /// Compute pool threads for inference (0 = one per core).
    pub compute_threads: usize,
    /// Threads of the separate explanation pool (0 = half the cores, at least 1), so
    /// explanations never queue in front of inference.
    pub explain_threads: usize,
    /// Limits on explain requests (rows, evaluations, samples, deadline, concurrency).
    pub explain: ExplainLimits,
    /// Longest time a client may take to send a complete request head (request line and
    /// headers), counted from its first byte; the connection is closed after it. Default
    /// 10 s.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight and no traffic for this long is closed
    /// (keep-alive idle timeout; also bounds a connection that never sends a byte).
    /// Default 60 s.
    pub idle_timeout: Duration,
    /// On shutdown, in-flight requests get this long to finish; connections still open
    /// then are closed. Connections without a request in flight (idle, or holding a
    /// half-sent request head) are closed at once. Default 30 s.
    pub drain_timeout: Duration,
    /// Async I/O threads used by [`crate::serve_blocking`] (0 = one per core).
    pub io_threads: usize,
    /// Serve every bundle in this directory (see [`crate::repository`] for the layout).
    pub model_dir: Option<PathBuf>,
    /// Serve these bundles as `(name, path)`; the path may be a versions directory.
    pub models: Vec<(String, PathBuf)>,
    /// In-memory models `(name, version, model)` served without a bundle.
    pub in_memory: Vec<(String, u64, Arc<dyn ServableModel>)>,
    /// Turns bundle paths into models.
    pub loader: Option<Arc<dyn ModelLoader>>,
    /// Server name reported by `GET /v2`.
    pub server_name: String,
    /// Limits of the generate extension (`max_new_tokens`).
    pub generate: crate::text::GenerateLimits,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("public_health", &self.public_health)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("batching", &self.batching)
            .field("compute_threads", &self.compute_threads)
            .field("explain_threads", &self.explain_threads)
            .field("explain", &self.explain)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("drain_timeout", &self.drain_timeout)
            .field("io_threads", &self.io_threads)
            .field("model_dir", &self.model_dir)
            .field("models", &self.models)
            .field(
                "in_memory",
                &self
                    .in_memory
                    .iter()
                    .map(|(n, v, _)| format!("{n}:{v}"))
                    .collect::<Vec<_>>(),
            )
            .field("loader", &self.loader.as_ref().map(|_| "<loader>"))
            .field("server_name", &self.server_name)
            .field("generate", &self.generate)
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)),
            token: None,
            public_health: false,
            max_body_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            batching: BatchingConfig::default(),
            compute_threads: 0,
            explain_threads: 0,
            explain: ExplainLimits::default(),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(30),
            io_threads: 0,
            model_dir: None,
            models: Vec::new(),
            in_memory: Vec::new(),
            loader: None,
            server_name: "glassbox".to_string(),
            generate: crate::text::GenerateLimits::default(),
        }
    }
}

impl ServerConfig {
    /// Takes the token from `GLASSBOX_TOKEN` when no token is set and the variable is
    /// non-empty. The CLI calls this after mapping `--token`.
    pub fn apply_env(mut self) -> Self {
        if self.token.is_none() {
            self.token = std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty());
        }
        self
    }

    /// Adds an in-memory model.
    pub fn with_model(mut self, name: &str, version: u64, model: Arc<dyn ServableModel>) -> Self {
        self.in_memory.push((name.to_string(), version, model));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback_and_limited() {
        let c = ServerConfig::default();
        assert!(c.addr.ip().is_loopback());
        assert!(c.max_body_bytes > 0 && c.token.is_none());
        let dbg = format!(
            "{:?}",
            ServerConfig {
                token: Some("secret".into()),
                ..c
            }
        );
        assert!(!dbg.contains("secret"));
    }
}
