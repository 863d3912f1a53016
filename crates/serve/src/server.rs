//! The HTTP server: router, authentication and timeout middleware, startup and graceful
//! shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::admin;
use crate::batcher::{compute_pool, BatchingConfig};
use crate::config::ServerConfig;
use crate::error::{Result, ServeError};
use crate::handlers;
use crate::metrics::Metrics;
use crate::repository::ModelRepository;

/// Settings the handlers need at request time.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub token: Option<String>,
    pub public_health: bool,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub batching: BatchingConfig,
    pub server_name: String,
}

/// Shared state of all handlers.
#[derive(Debug)]
pub(crate) struct AppState {
    pub repo: Arc<ModelRepository>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    pub shutting_down: AtomicBool,
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(token) = &state.settings.token {
        let health = req.uri().path().starts_with("/v2/health/");
        if !(health && state.settings.public_health) {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            let ok = match given.and_then(|v| v.strip_prefix("Bearer ")) {
                Some(t) => constant_time_eq(t.trim().as_bytes(), token.as_bytes()),
                None => false,
            };
            if !ok {
                let why = if given.is_none() {
                    "missing header 'Authorization: Bearer <token>'"
                } else {
                    "invalid bearer token"
                };
                return ServeError::Unauthorized(why.into()).into_response();
            }
        }
    }
    next.run(req).await
}

async fn timeout(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let limit = state.settings.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ServeError::Timeout {
            millis: limit.as_millis(),
        }
        .into_response(),
    }
}

async fn not_found(method: Method, uri: Uri) -> Response {
    ServeError::NotFound {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
    .into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let mut r =
        ServeError::InvalidRequest(format!("method {method} is not allowed on {}", uri.path()))
            .into_response();
    *r.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    r
}

fn router(state: Arc<AppState>) -> Router {
    use handlers as h;
    Router::new()
        .route("/v2/health/live", get(h::live))
        .route("/v2/health/ready", get(h::ready))
        .route("/v2", get(h::server_metadata))
        .route("/v2/models/{name}", get(h::model_metadata))
        .route("/v2/models/{name}/ready", get(h::model_ready))
        .route("/v2/models/{name}/config", get(h::model_config))
        .route("/v2/models/{name}/infer", post(h::infer))
        .route("/v2/models/{name}/explain", post(h::explain))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(h::model_version_metadata),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(h::model_version_ready),
        )
        .route(
            "/v2/models/{name}/versions/{version}/config",
            get(h::model_config),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(h::infer_version),
        )
        .route(
            "/v2/models/{name}/versions/{version}/explain",
            post(h::explain_version),
        )
        .route("/v2/repository/index", post(admin::index))
        .route("/v2/repository/models/{name}/load", post(admin::load))
        .route("/v2/repository/models/{name}/unload", post(admin::unload))
        .route("/metrics", get(h::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

/// A bound, not yet serving server. Its models are loaded.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
}

/// Binds `config.addr`, starts the compute pool and loads every configured model.
pub async fn bind(config: ServerConfig) -> Result<Server> {
    let pool = compute_pool(config.compute_threads)?;
    let metrics = Arc::new(Metrics::default());
    let repo = Arc::new(ModelRepository::new(
        config.loader.clone(),
        config.model_dir.clone(),
        config.batching,
        pool,
        metrics.clone(),
    ));
    for (name, path) in &config.models {
        repo.add_path(name, path)?;
    }
    let in_memory = config.in_memory.clone();
    let r = repo.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        for (name, version, model) in in_memory {
            r.add_model(&name, version, model)?;
        }
        r.load_all()
    })
    .await
    .map_err(|e| ServeError::Unavailable(format!("model loading task failed: {e}")))??;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| ServeError::io(format!("binding {}", config.addr), e))?;
    let state = Arc::new(AppState {
        repo,
        metrics,
        settings: Settings {
            token: config.token.clone(),
            public_health: config.public_health,
            max_body_bytes: config.max_body_bytes,
            request_timeout: config.request_timeout,
            batching: config.batching,
            server_name: config.server_name.clone(),
        },
        shutting_down: AtomicBool::new(false),
    });
    Ok(Server { listener, state })
}

impl Server {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| ServeError::io("reading the bound address", e))
    }

    /// The model repository, for loading or registering models programmatically.
    pub fn repository(&self) -> Arc<ModelRepository> {
        self.state.repo.clone()
    }

    /// The metrics registry.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.state.metrics.clone()
    }

    /// Serves until `shutdown` completes, then stops accepting connections and waits for
    /// in-flight requests to finish.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let state = self.state.clone();
        let app = router(self.state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                state.shutting_down.store(true, Ordering::Relaxed);
            })
            .await
            .map_err(|e| ServeError::io("serving", e))
    }
}

/// Binds and serves until `shutdown` completes (graceful: in-flight requests finish).
pub async fn run(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    bind(config).await?.serve(shutdown).await
}

/// A future completing on SIGTERM or Ctrl-C (SIGINT). The SIGTERM handler is installed
/// when this function is called (so call it inside a tokio runtime, before announcing
/// readiness), not when the future is first polled.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Builds a runtime with `config.io_threads` workers, serves until SIGTERM/Ctrl-C and
/// returns after in-flight requests finish. `on_ready` receives the bound address.
pub fn serve_blocking(
    config: ServerConfig,
    on_ready: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<()> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if config.io_threads > 0 {
        b.worker_threads(config.io_threads);
    }
    let rt = b
        .thread_name("glassbox-io")
        .enable_all()
        .build()
        .map_err(|e| ServeError::io("starting the async runtime", e))?;
    rt.block_on(async move {
        let server = bind(config).await?;
        let shutdown = shutdown_signal();
        on_ready(server.local_addr()?);
        server.serve(shutdown).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
