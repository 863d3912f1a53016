//! # glassbox-serve
//!
//! An inference and explanation server for glassbox models speaking the
//! [Open Inference Protocol](https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/)
//! (KServe v2 REST, as used by Triton and Seldon MLServer), so that `tritonclient[http]`,
//! KServe and other v2 clients work unchanged.
//!
//! - Endpoints: `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2`,
//!   `GET /v2/models/{name}[/versions/{v}]`, `GET /v2/models/{name}[/versions/{v}]/ready`,
//!   `GET /v2/models/{name}[/versions/{v}]/config` (Triton),
//!   `POST /v2/models/{name}[/versions/{v}]/infer`,
//!   `POST /v2/models/{name}[/versions/{v}]/explain`,
//!   `POST /v2/models/{name}[/versions/{v}]/generate` and `/generate_stream` (the generate
//!   extension, server-sent events; [`generate`](crate::ServableModel::generate)),
//!   `POST /v2/repository/index`,
//!   `POST /v2/repository/models/{name}/load|unload`, `GET /metrics` (Prometheus).
//! - JSON tensors and Triton's binary tensor extension (requests and responses), and the
//!   classification extension (output parameter `classification`).
//! - Text models: a `BYTES` input ([`ModelMetadata::text`]) is decoded to UTF-8 texts
//!   (JSON strings or length-prefixed binary elements) for
//!   [`ServableModel::predict_text`] / [`ServableModel::explain_text`] ([`text`]).
//! - Dynamic batching ([`BatchingConfig`]) of concurrent requests on a compute pool that is
//!   separate from the async I/O threads.
//! - Bearer-token auth, body size limit, per-request timeout, JSON `{"error": ...}` bodies,
//!   graceful shutdown.
//!
//! Models plug in through [`ServableModel`] and bundles through [`ModelLoader`].
//!
//! The example serves the toy model of the `toy` feature (test support, enabled by the
//! workspace's tests):
//!
//! ```
//! # #[cfg(feature = "toy")] {
//! use std::sync::Arc;
//! use glassbox_serve::{bind, client::HttpClient, toy::MlpClassifier, ServerConfig};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let model = MlpClassifier::random(&[4], &[8], 3, 42);
//! let mut config = ServerConfig::default().with_model("toy", 1, Arc::new(model.clone()));
//! config.addr = "127.0.0.1:0".parse().unwrap();
//! let server = bind(config).await.unwrap();
//! let addr = server.local_addr().unwrap();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let handle = tokio::spawn(server.serve(async { let _ = stopped.await; }));
//!
//! let mut c = HttpClient::connect(addr).await.unwrap();
//! let req = serde_json::json!({"inputs": [{"name": "input", "shape": [1, 4],
//!     "datatype": "FP32", "data": [0.5, -1.0, 2.0, 0.0]}]});
//! let resp = c.post_json("/v2/models/toy/infer", &[], &req).await.unwrap();
//! assert_eq!(resp.status, 200);
//! let body = resp.json();
//! let probs: Vec<f64> = body["outputs"][0]["data"].as_array().unwrap()
//!     .iter().map(|v| v.as_f64().unwrap()).collect();
//! assert_eq!(probs.len(), 3);
//! assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-5);
//!
//! let _ = stop.send(());
//! handle.await.unwrap().unwrap();
//! # });
//! # }
//! ```

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod admin;
pub mod batcher;
pub mod budget;
pub mod client;
pub mod config;
mod conn;
pub mod data;
pub mod error;
mod generate;
mod handlers;
pub mod metrics;
pub mod model;
pub mod protocol;
pub mod repository;
pub mod server;
pub mod tensor;
pub mod text;
#[cfg(any(test, feature = "toy"))]
pub mod toy;

pub use batcher::BatchingConfig;
pub use budget::{Cancel, ExplainLimits};
pub use config::{ServerConfig, TOKEN_ENV};
pub use error::{Result, ServeError};
pub use model::{
    ExplainParams, Explanation, ModelLoader, ModelMetadata, OutputTensor, Prediction,
    ServableModel, Target, TensorSpec,
};
pub use repository::ModelRepository;
pub use server::{bind, run, serve_blocking, shutdown_signal, Server};
pub use tensor::Datatype;
pub use text::{GenerateLimits, GenerateOutput, GenerateRequest, TextAttribution, TextOptions};
