//! Hostile and unlucky clients: explanation budgets (limits, deadline, the work ending,
//! no starvation of inference), slow and idle connections, shutdown with half-open
//! connections, panicking models, and bounded metrics labels. Every test is bounded in
//! time (a few hundred milliseconds each).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glassbox_serve::client::HttpClient;
use glassbox_serve::toy::MlpClassifier;
use glassbox_serve::{
    ExplainLimits, ExplainParams, Explanation, ModelMetadata, Prediction, ServableModel,
    ServeError, ServerConfig,
};
use glassbox_testkit::http::wait_for_close;
use ndarray::ArrayD;
use serde_json::{json, Value};

const D: usize = 4;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct Running {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<glassbox_serve::Result<()>>,
}

async fn start(mut config: ServerConfig) -> Running {
    config.addr = "127.0.0.1:0".parse().unwrap();
    let server = glassbox_serve::bind(config).await.expect("server binds");
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    Running { addr, stop, handle }
}

impl Running {
    /// Triggers shutdown and returns how long `serve` took to return.
    async fn shutdown(self) -> Duration {
        let t0 = Instant::now();
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("serve returns")
            .unwrap()
            .unwrap();
        t0.elapsed()
    }
}

fn body(rows: usize, params: Value) -> Value {
    let data: Vec<f32> = (0..rows * D).map(|i| (i % 7) as f32 * 0.25 - 0.5).collect();
    json!({"inputs": [{"name": "input", "shape": [rows, D], "datatype": "FP32", "data": data}],
           "parameters": params})
}

fn toy() -> Arc<MlpClassifier> {
    Arc::new(MlpClassifier::random(&[D], &[8], 3, 7))
}

fn error_of(r: &glassbox_serve::client::HttpResponse) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

/// An explainer that works in 1 ms units until cancelled (at most `units`), counting them;
/// `predict` delegates to the toy model, or panics when `panics` is set.
struct Spinner {
    inner: Arc<MlpClassifier>,
    units: usize,
    done: Arc<AtomicUsize>,
    panics: bool,
}

impl Spinner {
    fn new(units: usize) -> (Arc<Spinner>, Arc<AtomicUsize>) {
        let done = Arc::new(AtomicUsize::new(0));
        let s = Spinner {
            inner: toy(),
            units,
            done: done.clone(),
            panics: false,
        };
        (Arc::new(s), done)
    }
}

impl ServableModel for Spinner {
    fn metadata(&self) -> ModelMetadata {
        self.inner.metadata()
    }
    fn predict(&self, batch: ArrayD<f32>) -> glassbox_serve::Result<Prediction> {
        if self.panics {
            panic!("the model's predict panicked on purpose");
        }
        self.inner.predict(batch)
    }
    fn explain(
        &self,
        batch: ArrayD<f32>,
        p: &ExplainParams,
    ) -> glassbox_serve::Result<Explanation> {
        if self.panics {
            let v: Vec<u8> = Vec::new();
            let _ = v[batch.len()]; // index out of bounds
        }
        for _ in 0..self.units {
            p.cancel.check()?;
            self.done.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut q = ExplainParams::new("saliency", p.target.clone());
        q.limits = p.limits;
        self.inner.explain(batch, &q)
    }
}

#[test]
fn explain_limits_and_options_are_4xx_naming_them() {
    rt().block_on(async {
        let mut cfg = ServerConfig::default().with_model("toy", 1, toy());
        cfg.explain = ExplainLimits {
            max_rows: 2,
            max_evaluations: 100,
            ..ExplainLimits::default()
        };
        let srv = start(cfg).await;
        let mut c = HttpClient::connect(srv.addr).await.unwrap();
        let ask = |rows, params| body(rows, params);
        let cases: Vec<(Value, &[&str])> = vec![
            (
                ask(3, json!({"method": "saliency"})),
                &["rows = 3", "limit of 2", "--explain-max-rows"],
            ),
            (
                ask(1, json!({"method": "integrated_gradients", "n_steps": 500})),
                &["n_steps = 500", "100", "--explain-max-evaluations"],
            ),
            (
                ask(1, json!({"method": "saliency", "n_steps": 5})),
                &["'n_steps'", "saliency"],
            ),
            (
                ask(1, json!({"method": "integrated_gradients", "steps": 5})),
                &["'steps'", "n_steps, baseline"],
            ),
            (
                ask(1, json!({"method": "integrated_gradients", "n_steps": 0})),
                &["'n_steps'", "positive"],
            ),
        ];
        for (req, needles) in cases {
            let r = c
                .post_json("/v2/models/toy/explain", &[], &req)
                .await
                .unwrap();
            assert_eq!(r.status, 400, "{req}: {}", r.text());
            let e = error_of(&r);
            for n in needles {
                assert!(e.contains(n), "'{n}' missing in: {e}");
            }
        }
        // Within the limits the option is honoured: more steps, a more complete IG.
        let r = c
            .post_json(
                "/v2/models/toy/explain",
                &[],
                &ask(2, json!({"method": "integrated_gradients", "n_steps": 100})),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        srv.shutdown().await;
    });
}

#[test]
fn explain_stops_at_its_deadline_and_the_work_ends() {
    rt().block_on(async {
        let (spin, done) = Spinner::new(60_000);
        let mut cfg = ServerConfig::default().with_model("spin", 1, spin);
        cfg.explain.deadline = Duration::from_millis(150);
        let srv = start(cfg).await;
        let mut c = HttpClient::connect(srv.addr).await.unwrap();
        let t0 = Instant::now();
        let r = c
            .post_json("/v2/models/spin/explain", &[], &body(1, json!({})))
            .await
            .unwrap();
        let took = t0.elapsed();
        assert_eq!(r.status, 503, "{}", r.text());
        let e = error_of(&r);
        assert!(
            e.contains("150 ms") && e.contains("--explain-deadline"),
            "{e}"
        );
        assert!(took < Duration::from_secs(2), "answered after {took:?}");
        let at_answer = done.load(Ordering::Relaxed);
        assert!(at_answer > 0 && at_answer < 1_000, "{at_answer} units");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            done.load(Ordering::Relaxed),
            at_answer,
            "work went on after the deadline"
        );
        srv.shutdown().await;
    });
}

#[test]
fn a_timed_out_or_abandoned_explanation_stops_computing() {
    rt().block_on(async {
        let (spin, done) = Spinner::new(60_000);
        let mut cfg = ServerConfig::default().with_model("spin", 1, spin);
        cfg.request_timeout = Duration::from_millis(150);
        cfg.explain.deadline = Duration::from_secs(60);
        let srv = start(cfg).await;
        let mut c = HttpClient::connect(srv.addr).await.unwrap();
        let r = c
            .post_json("/v2/models/spin/explain", &[], &body(1, json!({})))
            .await
            .unwrap();
        assert!(r.status == 503 || r.status == 504, "{}", r.text());
        tokio::time::sleep(Duration::from_millis(50)).await;
        let after = done.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            done.load(Ordering::Relaxed),
            after,
            "work went on after the timeout"
        );

        // A client that goes away mid-explanation stops it too.
        let before = done.load(Ordering::Relaxed);
        let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
        let req = body(1, json!({})).to_string();
        write!(
            s,
            "POST /v2/models/spin/explain HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{req}",
            req.len()
        )
        .unwrap();
        let t0 = Instant::now();
        while done.load(Ordering::Relaxed) == before {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "explanation never started"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        drop(s);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = done.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            done.load(Ordering::Relaxed),
            after,
            "work went on after the client left"
        );
        srv.shutdown().await;
    });
}

#[test]
fn a_long_explanation_does_not_starve_inference() {
    rt().block_on(async {
        let (spin, done) = Spinner::new(3_000);
        let mut cfg = ServerConfig::default()
            .with_model("spin", 1, spin)
            .with_model("fast", 1, toy());
        cfg.compute_threads = 1;
        cfg.explain_threads = 1;
        cfg.explain.max_concurrent = 1;
        cfg.explain.deadline = Duration::from_millis(1500);
        cfg.request_timeout = Duration::from_secs(5);
        let srv = start(cfg).await;
        let addr = srv.addr;
        let long = tokio::spawn(async move {
            let mut c = HttpClient::connect(addr).await.unwrap();
            c.post_json("/v2/models/spin/explain", &[], &body(1, json!({})))
                .await
                .unwrap()
        });
        let t0 = Instant::now();
        while done.load(Ordering::Relaxed) == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "explanation never started"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut c = HttpClient::connect(addr).await.unwrap();
        for _ in 0..5 {
            let t = Instant::now();
            let r = c
                .post_json("/v2/models/fast/infer", &[], &body(1, Value::Null))
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            assert!(
                t.elapsed() < Duration::from_millis(500),
                "infer took {:?}",
                t.elapsed()
            );
        }
        // The admission limit: a second explanation is refused at once, with Retry-After.
        let t = Instant::now();
        let r = c
            .post_json(
                "/v2/models/fast/explain",
                &[],
                &body(1, json!({"method": "saliency"})),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 503, "{}", r.text());
        assert!(
            error_of(&r).contains("--explain-concurrency"),
            "{}",
            r.text()
        );
        assert_eq!(r.header("retry-after"), Some("1"));
        assert!(t.elapsed() < Duration::from_millis(500));
        assert!(
            done.load(Ordering::Relaxed) < 3_000,
            "the explanation was still running"
        );
        let r = long.await.unwrap();
        assert_eq!(r.status, 503, "{}", r.text());
        srv.shutdown().await;
    });
}

#[test]
fn slow_and_idle_connections_are_closed() {
    rt().block_on(async {
        let mut cfg = ServerConfig::default().with_model("toy", 1, toy());
        cfg.header_read_timeout = Duration::from_millis(200);
        cfg.idle_timeout = Duration::from_millis(400);
        let srv = start(cfg).await;
        let addr = srv.addr;
        tokio::task::spawn_blocking(move || {
            // Half a request head, then silence: dropped at the header timeout.
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"POST /v2/models/toy/infer HTTP/1.1\r\nHost: x\r\nContent-Le")
                .unwrap();
            let t = wait_for_close(&mut s, Duration::from_secs(3));
            assert!(t >= Duration::from_millis(150), "closed too early: {t:?}");
            // A keep-alive connection that answered one request, then stays idle.
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
            let t = wait_for_close(&mut s, Duration::from_secs(3));
            assert!(t >= Duration::from_millis(300), "closed too early: {t:?}");
            // A connection that never sends a byte is idle too.
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            wait_for_close(&mut s, Duration::from_secs(3));
        })
        .await
        .unwrap();
        // The server is unaffected.
        let mut c = HttpClient::connect(addr).await.unwrap();
        assert_eq!(c.get("/v2/health/live", &[]).await.unwrap().status, 200);
        srv.shutdown().await;
    });
}

#[test]
fn shutdown_is_prompt_with_idle_and_half_open_connections() {
    rt().block_on(async {
        let mut cfg = ServerConfig::default().with_model("toy", 1, toy());
        // Long timeouts: only shutdown can end these connections.
        cfg.header_read_timeout = Duration::from_secs(60);
        cfg.idle_timeout = Duration::from_secs(60);
        cfg.drain_timeout = Duration::from_secs(10);
        let srv = start(cfg).await;
        let mut half = std::net::TcpStream::connect(srv.addr).unwrap();
        half.write_all(b"POST /v2/models/toy/in").unwrap();
        let _idle = std::net::TcpStream::connect(srv.addr).unwrap();
        let mut kept = HttpClient::connect(srv.addr).await.unwrap();
        assert_eq!(kept.get("/v2/health/live", &[]).await.unwrap().status, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let took = srv.shutdown().await;
        assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
        wait_for_close(&mut half, Duration::from_secs(1));
    });
}

#[test]
fn the_drain_deadline_bounds_shutdown_behind_a_stuck_request() {
    rt().block_on(async {
        let (spin, done) = Spinner::new(60_000);
        let mut cfg = ServerConfig::default().with_model("spin", 1, spin);
        cfg.explain.deadline = Duration::from_secs(60);
        cfg.drain_timeout = Duration::from_millis(300);
        let srv = start(cfg).await;
        let addr = srv.addr;
        let pending = tokio::spawn(async move {
            let mut c = HttpClient::connect(addr).await.unwrap();
            c.post_json("/v2/models/spin/explain", &[], &body(1, json!({})))
                .await
        });
        let t0 = Instant::now();
        while done.load(Ordering::Relaxed) == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "explanation never started"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let took = srv.shutdown().await;
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(2),
            "shutdown took {took:?}"
        );
        // The dropped request's explanation stops computing.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let after = done.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(done.load(Ordering::Relaxed), after);
        assert!(pending.await.unwrap().is_err(), "the connection was closed");
    });
}

#[test]
fn a_panicking_model_is_a_500_and_the_server_keeps_serving() {
    rt().block_on(async {
        let panicky = Spinner {
            inner: toy(),
            units: 0,
            done: Arc::new(AtomicUsize::new(0)),
            panics: true,
        };
        let cfg = ServerConfig::default()
            .with_model("bad", 1, Arc::new(panicky))
            .with_model("good", 1, toy());
        let srv = start(cfg).await;
        let mut c = HttpClient::connect(srv.addr).await.unwrap();
        for _ in 0..3 {
            let r = c
                .post_json("/v2/models/bad/infer", &[], &body(2, Value::Null))
                .await
                .unwrap();
            assert_eq!(r.status, 500, "{}", r.text());
            assert!(error_of(&r).contains("panicked on purpose"), "{}", r.text());
            let r = c
                .post_json(
                    "/v2/models/bad/explain",
                    &[],
                    &body(1, json!({"method": "saliency"})),
                )
                .await
                .unwrap();
            assert_eq!(r.status, 500, "{}", r.text());
            assert!(error_of(&r).contains("panicked"), "{}", r.text());
            let r = c
                .post_json("/v2/models/good/infer", &[], &body(2, Value::Null))
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
        }
        srv.shutdown().await;
    });
}

#[test]
fn invented_model_names_share_one_metrics_series() {
    rt().block_on(async {
        let srv = start(ServerConfig::default().with_model("toy", 1, toy())).await;
        let mut c = HttpClient::connect(srv.addr).await.unwrap();
        for i in 0..100 {
            let path = format!("/v2/models/invented{i}/infer");
            // Malformed bodies and well-formed ones, to both endpoints.
            let r = c.request("POST", &path, &[], b"{not json").await.unwrap();
            assert_eq!(r.status, 400);
            let r = c.post_json(&path, &[], &body(1, Value::Null)).await.unwrap();
            assert_eq!(r.status, 404);
            let p = format!("/v2/models/invented{i}/versions/{i}/explain");
            c.post_json(&p, &[], &body(1, json!({}))).await.unwrap();
        }
        let r = c.post_json("/v2/models/toy/infer", &[], &body(1, Value::Null)).await.unwrap();
        assert_eq!(r.status, 200);
        let m = c.get("/metrics", &[]).await.unwrap().text();
        assert!(!m.contains("invented"), "{m}");
        let series: Vec<&str> = m
            .lines()
            .filter(|l| l.starts_with("glassbox_requests_total{"))
            .collect();
        assert!(
            series.contains(&"glassbox_requests_total{model=\"_unknown\",endpoint=\"infer\",status=\"400\"} 100"),
            "{series:?}"
        );
        assert!(series.contains(&"glassbox_requests_total{model=\"_unknown\",endpoint=\"infer\",status=\"404\"} 100"));
        assert_eq!(series.len(), 4, "{series:?}");
        srv.shutdown().await;
    });
}

#[test]
fn zero_limits_are_configuration_errors() {
    let mut cfg = ServerConfig::default();
    cfg.explain.max_rows = 0;
    let e = rt().block_on(glassbox_serve::bind(cfg)).unwrap_err();
    assert!(matches!(e, ServeError::InvalidRequest(_)), "{e}");
    assert!(e.to_string().contains("--explain-max-rows"), "{e}");
}

#[test]
fn non_finite_outputs_are_a_500_naming_the_output_never_null() {
    // A softmax-linear toy whose weights are all 10: a finite FP32 input of 3e38 overflows
    // its logits (so the probabilities are NaN) and its input × gradient attribution
    // (3e38 · 10 = inf in f32). Neither may reach the client as `null`.
    let mut m = MlpClassifier::random(&[D], &[], 3, 7);
    m.layers[0].weight.fill(10.0);
    let cfg = ServerConfig::default().with_model("overflow", 1, Arc::new(m));
    rt().block_on(async {
        let srv = start(cfg).await;
        let mut c = HttpClient::connect(srv.addr).await.unwrap();
        let huge = |params: Value| {
            json!({"inputs": [{"name": "input", "shape": [1, D], "datatype": "FP32",
                   "data": [3e38, 0.5, 0.25, 0.0]}], "parameters": params})
        };
        let r = c
            .post_json("/v2/models/overflow/infer", &[], &huge(Value::Null))
            .await
            .unwrap();
        assert_eq!(r.status, 500, "{}", r.text());
        assert!(!r.text().contains("null"), "{}", r.text());
        assert!(error_of(&r).contains("'probabilities'"), "{}", r.text());
        let r = c
            .post_json(
                "/v2/models/overflow/explain",
                &[],
                &huge(json!({"method": "input_x_gradient", "target": 0})),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 500, "{}", r.text());
        let e = error_of(&r);
        assert!(
            e.contains("'attributions'") && e.contains("inf") && e.contains("flat index 0"),
            "{e}"
        );
        // Finite inputs still answer 200 with numbers.
        let r = c
            .post_json("/v2/models/overflow/infer", &[], &body(1, Value::Null))
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        srv.shutdown().await;
    });
}
