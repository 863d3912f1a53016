//! Dynamic batching, compute-pool placement, metrics and graceful shutdown of
//! `glassbox-serve`.

use crate::serve_support;

use std::sync::Arc;
use std::time::Duration;

use glassbox_serve::toy::MlpClassifier;
use glassbox_serve::{BatchingConfig, ServerConfig};
use serde_json::json;
use serve_support::*;

const D: usize = 10;

/// Sends `n` concurrent single-row requests with distinct inputs; checks each answer against
/// the naive reference for *its own* input (so a wrong split-back is caught).
async fn burst(srv: &Arc<TestServer>, model: &MlpClassifier, n: usize) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let srv = srv.clone();
        let x = sample(D, 100 + i as u64);
        let want = naive_probabilities(model, &x);
        tasks.push(tokio::spawn(async move {
            let mut c = srv.client().await;
            // Rows of 1 and 2 mixed, to exercise uneven splits.
            let rows = 1 + i % 2;
            let data: Vec<f32> = x.iter().cycle().take(rows * D).copied().collect();
            let r = c
                .post_json(
                    "/v2/models/m/infer",
                    &[],
                    &infer_body("input", &[rows, D], &data),
                )
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            let p = output_f32(&r.json(), "probabilities");
            assert_eq!(p.len(), rows * 3);
            for row in 0..rows {
                for k in 0..3 {
                    assert!(
                        (p[row * 3 + k] - want[k]).abs() < 1e-5,
                        "request {i} row {row}"
                    );
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[test]
fn concurrent_requests_are_merged_and_split_back() {
    rt().block_on(async {
        let inner = MlpClassifier::random(&[D], &[8], 3, 21);
        let m = Instrumented::new(inner.clone(), Duration::from_millis(5));
        let mut cfg = ServerConfig::default().with_model("m", 1, m.clone());
        cfg.batching = BatchingConfig {
            enabled: true,
            max_batch_size: 8,
            max_delay: Duration::from_millis(20),
        };
        cfg.compute_threads = 1;
        let srv = Arc::new(TestServer::start(cfg).await);
        burst(&srv, &inner, 24).await;
        let batches = m.batches.lock().unwrap().clone();
        assert_eq!(batches.iter().sum::<usize>(), 36, "every row predicted exactly once");
        assert!(batches.iter().any(|&b| b > 1), "some requests were merged: {batches:?}");
        assert!(batches.iter().all(|&b| b <= 8), "max batch size respected: {batches:?}");
        // Compute ran on the dedicated pool, not on async executor threads.
        for t in m.threads.lock().unwrap().iter() {
            assert!(t.starts_with("glassbox-compute-"), "ran on thread '{t}'");
        }
        let mut c = srv.client().await;
        let text = c.get("/metrics", &[]).await.unwrap().text();
        let count_line = format!("glassbox_batch_size_count{{model=\"m\"}} {}", batches.len());
        assert!(text.contains(&count_line), "{text}");
        assert!(text.contains("glassbox_queue_depth{model=\"m\",version=\"1\"} 0"));
        assert!(text.contains("glassbox_requests_total{model=\"m\",endpoint=\"infer\",status=\"200\"} 24"));
        assert!(text.contains("glassbox_request_duration_seconds_bucket{model=\"m\",endpoint=\"infer\",le=\"+Inf\"} 24"));
        Arc::try_unwrap(srv).ok().expect("sole owner").shutdown().await;
    });
}

#[test]
fn batching_off_runs_each_request_alone() {
    rt().block_on(async {
        let inner = MlpClassifier::random(&[D], &[8], 3, 22);
        let m = Instrumented::new(inner.clone(), Duration::from_millis(2));
        let mut cfg = ServerConfig::default().with_model("m", 1, m.clone());
        cfg.batching.enabled = false;
        let srv = Arc::new(TestServer::start(cfg).await);
        burst(&srv, &inner, 12).await;
        let batches = m.batches.lock().unwrap().clone();
        assert_eq!(batches.len(), 12);
        assert!(batches.iter().all(|&b| b <= 2), "{batches:?}");
        Arc::try_unwrap(srv)
            .ok()
            .expect("sole owner")
            .shutdown()
            .await;
    });
}

#[test]
fn explanations_run_on_the_explanation_pool() {
    rt().block_on(async {
        let m = Instrumented::new(MlpClassifier::random(&[D], &[], 3, 23), Duration::ZERO);
        let srv = TestServer::start(ServerConfig::default().with_model("m", 1, m.clone())).await;
        let mut c = srv.client().await;
        let mut body = infer_body("input", &[1, D], &sample(D, 1));
        body["parameters"] = json!({"method": "saliency"});
        let r = c
            .post_json("/v2/models/m/explain", &[], &body)
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let threads = m.threads.lock().unwrap().clone();
        assert_eq!(threads.len(), 1);
        // Their own pool, separate from inference's `glassbox-compute-*` threads.
        assert!(threads[0].starts_with("glassbox-explain-"), "{threads:?}");
        srv.shutdown().await;
    });
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests() {
    rt().block_on(async {
        let inner = MlpClassifier::random(&[D], &[], 3, 24);
        let m = Instrumented::new(inner.clone(), Duration::from_millis(300));
        let srv = TestServer::start(ServerConfig::default().with_model("m", 1, m.clone())).await;
        let x = sample(D, 3);
        let want = naive_probabilities(&inner, &x);
        let mut c = srv.client().await;
        let addr = srv.addr;
        let pending = tokio::spawn(async move {
            c.post_json("/v2/models/m/infer", &[], &infer_body("input", &[1, D], &x))
                .await
        });
        // Shut down only once the model is computing the request.
        wait_until(|| !m.batches.lock().unwrap().is_empty()).await;
        let t0 = std::time::Instant::now();
        srv.shutdown().await;
        assert!(
            t0.elapsed() >= Duration::from_millis(100),
            "shutdown waited for the request"
        );
        let r = pending.await.unwrap().expect("in-flight request answered");
        assert_eq!(r.status, 200);
        let p = output_f32(&r.json(), "probabilities");
        assert!((p[0] - want[0]).abs() < 1e-5);
        // The listener is closed afterwards.
        assert!(glassbox_serve::client::HttpClient::connect(addr)
            .await
            .is_err());
    });
}

/// Runs `serve_blocking` in a child process (this test binary re-executed), sends it
/// SIGTERM while a request is in flight, and checks the request completes and the child
/// exits successfully.
#[test]
fn sigterm_stops_serve_blocking_gracefully() {
    const CHILD_ENV: &str = "GB_SERVE_SIGTERM_CHILD";
    if let Ok(addr_file) = std::env::var(CHILD_ENV) {
        let inner = MlpClassifier::random(&[D], &[], 3, 30);
        let model = Marker {
            inner: Instrumented::new(inner, Duration::from_millis(300)),
            marker: format!("{addr_file}.busy"),
        };
        let mut cfg = ServerConfig::default().with_model("m", 1, Arc::new(model));
        cfg.addr = "127.0.0.1:0".parse().unwrap();
        cfg.io_threads = 1;
        cfg.compute_threads = 1;
        glassbox_serve::serve_blocking(cfg, move |addr| {
            let tmp = format!("{addr_file}.tmp");
            std::fs::write(&tmp, addr.to_string()).unwrap();
            std::fs::rename(&tmp, &addr_file).unwrap();
        })
        .unwrap();
        return;
    }
    if !cfg!(unix) {
        eprintln!("SIGTERM test skipped: not a unix platform");
        return;
    }
    let addr_file = std::env::temp_dir().join(format!("gb-serve-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_file(&addr_file);
    // the test's own name inside this binary (its module path without the crate name)
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let name = format!("{module}::sigterm_stops_serve_blocking_gracefully");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name.as_str(), "--test-threads=1"])
        .env(CHILD_ENV, &addr_file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("child starts");
    let start = std::time::Instant::now();
    let addr = loop {
        if let Ok(s) = std::fs::read_to_string(&addr_file) {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "child server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let inner = MlpClassifier::random(&[D], &[], 3, 30);
    let x = sample(D, 5);
    let want = naive_probabilities(&inner, &x);
    let pid = child.id().to_string();
    rt().block_on(async {
        let mut c = glassbox_serve::client::HttpClient::connect(addr.as_str())
            .await
            .unwrap();
        let pending = tokio::spawn(async move {
            c.post_json("/v2/models/m/infer", &[], &infer_body("input", &[1, D], &x))
                .await
        });
        // Signal only once the child is computing the request.
        let busy = format!("{}.busy", addr_file.display());
        wait_until(|| std::path::Path::new(&busy).exists()).await;
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let r = pending
            .await
            .unwrap()
            .expect("in-flight request answered after SIGTERM");
        assert_eq!(r.status, 200);
        let p = output_f32(&r.json(), "probabilities");
        assert!((p[0] - want[0]).abs() < 1e-5);
    });
    let status = child.wait().unwrap();
    assert!(status.success(), "child exited with {status}");
    let _ = std::fs::remove_file(&addr_file);
    let _ = std::fs::remove_file(format!("{}.busy", addr_file.display()));
}

/// Writes a marker file when a prediction starts, then delegates.
struct Marker {
    inner: Arc<Instrumented>,
    marker: String,
}

impl glassbox_serve::ServableModel for Marker {
    fn metadata(&self) -> glassbox_serve::ModelMetadata {
        self.inner.metadata()
    }
    fn predict(
        &self,
        batch: ndarray::ArrayD<f32>,
    ) -> glassbox_serve::Result<glassbox_serve::Prediction> {
        let _ = std::fs::write(&self.marker, b"busy");
        self.inner.predict(batch)
    }
    fn explain(
        &self,
        batch: ndarray::ArrayD<f32>,
        params: &glassbox_serve::ExplainParams,
    ) -> glassbox_serve::Result<glassbox_serve::Explanation> {
        self.inner.explain(batch, params)
    }
}
