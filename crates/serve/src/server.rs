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
use crate::batcher::{compute_pool, explain_pool, BatchingConfig, ComputePool};
use crate::budget::ExplainLimits;
use crate::config::ServerConfig;
use crate::conn::{serve_connection, ConnLimits};
use crate::error::{Result, ServeError};
use crate::generate;
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
    pub explain: ExplainLimits,
    pub generate: crate::text::GenerateLimits,
}

/// Shared state of all handlers.
#[derive(Debug)]
pub(crate) struct AppState {
    pub repo: Arc<ModelRepository>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    pub shutting_down: AtomicBool,
    /// The explanation pool, separate from the inference pool.
    pub explain_pool: Arc<ComputePool>,
    /// Admission permits of explanations (`ExplainLimits::max_concurrent`).
    pub explain_slots: Arc<tokio::sync::Semaphore>,
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
        .route("/v2/models/{name}/generate", post(generate::generate))
        .route(
            "/v2/models/{name}/generate_stream",
            post(generate::generate_stream),
        )
        .route(
            "/v2/models/{name}/versions/{version}/generate",
            post(generate::generate_version),
        )
        .route(
            "/v2/models/{name}/versions/{version}/generate_stream",
            post(generate::generate_stream_version),
        )
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
    conn_limits: ConnLimits,
    drain_timeout: Duration,
}

fn check_timeouts(config: &ServerConfig) -> Result<()> {
    for (what, d) in [
        ("header_read_timeout", config.header_read_timeout),
        ("idle_timeout", config.idle_timeout),
        ("request_timeout", config.request_timeout),
    ] {
        if d.is_zero() {
            return Err(ServeError::InvalidRequest(format!(
                "server setting {what} must be positive"
            )));
        }
    }
    Ok(())
}

/// Binds `config.addr`, starts the compute pools and loads every configured model.
pub async fn bind(config: ServerConfig) -> Result<Server> {
    config.explain.validate()?;
    check_timeouts(&config)?;
    let pool = compute_pool(config.compute_threads)?;
    let explain_pool = explain_pool(config.explain_threads)?;
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
            explain: config.explain,
            generate: config.generate,
        },
        shutting_down: AtomicBool::new(false),
        explain_pool,
        explain_slots: Arc::new(tokio::sync::Semaphore::new(config.explain.max_concurrent)),
    });
    Ok(Server {
        listener,
        state,
        conn_limits: ConnLimits {
            header_read: config.header_read_timeout,
            idle: config.idle_timeout,
        },
        drain_timeout: config.drain_timeout,
    })
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

    /// Serves until `shutdown` completes, then stops accepting connections, lets
    /// in-flight requests finish for up to the drain timeout (connections without a
    /// request in flight close at once) and returns; connections still open after the
    /// drain timeout are dropped. See [`crate::config::ServerConfig::header_read_timeout`]
    /// and `idle_timeout` for the limits on slow and idle clients.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let Server {
            listener,
            state,
            conn_limits,
            drain_timeout,
        } = self;
        let app = router(state.clone());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut conns = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        conns.spawn(serve_connection(stream, app.clone(), conn_limits, stop_rx.clone()));
                    }
                    // Out of file descriptors or a connection reset before accept: wait a
                    // moment instead of spinning, and keep serving.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        state.shutting_down.store(true, Ordering::Relaxed);
        drop(listener);
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(drain_timeout, async {
            while conns.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            conns.abort_all();
            while conns.join_next().await.is_some() {}
        }
        Ok(())
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
