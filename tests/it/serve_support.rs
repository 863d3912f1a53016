//! Shared helpers of the `serve_*` integration tests: their tokio runtime, start a server
//! on an ephemeral loopback port, an independent (naive-loop) reference for the toy model,
//! and wrapper models that add latency or record how they were called. (The plain-`std`
//! HTTP helpers are `glassbox_testkit::http`'s.)
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use glassbox_serve::toy::MlpClassifier;
use glassbox_serve::{
    ExplainParams, Explanation, ModelMetadata, Prediction, ServableModel, ServerConfig,
};
use ndarray::ArrayD;
use serde_json::{json, Value};

/// The runtime of a server test: two worker threads, timers and I/O enabled.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A running test server.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<glassbox_serve::Result<()>>>,
}

impl TestServer {
    /// Binds `config` on `127.0.0.1:0` and serves it in the background.
    pub async fn start(mut config: ServerConfig) -> TestServer {
        config.addr = "127.0.0.1:0".parse().unwrap();
        let server = glassbox_serve::bind(config).await.expect("server binds");
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// A new keep-alive connection.
    pub async fn client(&self) -> glassbox_serve::client::HttpClient {
        glassbox_serve::client::HttpClient::connect(self.addr)
            .await
            .expect("connects")
    }

    /// Triggers graceful shutdown and waits for the server to return.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server result");
        }
    }
}

/// Softmax probabilities of one flattened sample, computed with plain loops from the
/// model's weights (independent of the library's ndarray code path).
#[allow(clippy::needless_range_loop)] // deliberately naive index loops
pub fn naive_probabilities(m: &MlpClassifier, x: &[f32]) -> Vec<f64> {
    let mut h: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for (li, layer) in m.layers.iter().enumerate() {
        let (out, inp) = (layer.weight.nrows(), layer.weight.ncols());
        let mut z = vec![0f64; out];
        for o in 0..out {
            let mut s = layer.bias[o] as f64;
            for i in 0..inp {
                s += layer.weight[[o, i]] as f64 * h[i];
            }
            z[o] = if li + 1 < m.layers.len() {
                s.max(0.0)
            } else {
                s
            };
        }
        h = z;
    }
    let mx = h.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = h.iter().map(|v| (v - mx).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Arg-max (first on ties): the library's one.
pub use glassbox_tensor::ops::reduce::argmax;

/// A JSON infer request with one FP32 input.
pub fn infer_body(name: &str, shape: &[usize], data: &[f32]) -> Value {
    json!({"inputs": [{"name": name, "shape": shape, "datatype": "FP32", "data": data}]})
}

/// The FP32 `data` of output `name` of a JSON response.
pub fn output_f32(resp: &Value, name: &str) -> Vec<f64> {
    let outs = resp["outputs"].as_array().expect("outputs array");
    let o = outs
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no output {name} in {resp}"));
    o["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

/// A deterministic pseudo-random sample of `n` values in [0, 1).
pub fn sample(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = glassbox_tensor::rng::Rng::new(seed);
    // 24 random bits: exactly representable, so the values stay below 1 in f32.
    (0..n)
        .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
        .collect()
}

/// Wraps a real model, sleeping `delay` in every call and recording the batch sizes and
/// thread names it ran with.
pub struct Instrumented {
    pub inner: MlpClassifier,
    pub delay: Duration,
    pub batches: Mutex<Vec<usize>>,
    pub threads: Mutex<Vec<String>>,
}

impl Instrumented {
    pub fn new(inner: MlpClassifier, delay: Duration) -> Arc<Self> {
        Arc::new(Instrumented {
            inner,
            delay,
            batches: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
        })
    }

    fn record(&self, rows: usize) {
        self.batches.lock().unwrap().push(rows);
        let name = std::thread::current().name().unwrap_or("").to_string();
        self.threads.lock().unwrap().push(name);
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
    }
}

impl ServableModel for Instrumented {
    fn metadata(&self) -> ModelMetadata {
        self.inner.metadata()
    }
    fn predict(&self, batch: ArrayD<f32>) -> glassbox_serve::Result<Prediction> {
        self.record(batch.shape()[0]);
        self.inner.predict(batch)
    }
    fn explain(
        &self,
        batch: ArrayD<f32>,
        params: &ExplainParams,
    ) -> glassbox_serve::Result<Explanation> {
        self.record(batch.shape()[0]);
        self.inner.explain(batch, params)
    }
}

/// Polls `cond` every 2 ms until it holds (panics after 20 s).
pub async fn wait_until(mut cond: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "condition never held"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
