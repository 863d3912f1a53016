//! The generate stream is really streamed (an event reaches the client while the model
//! is still generating) and generation stops at the request deadline, shown with a
//! scripted generator whose pace the test controls.

use crate::serve_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use glassbox_serve::{
    Datatype, ExplainParams, Explanation, GenerateOutput, GenerateRequest, ModelMetadata,
    Prediction, ServableModel, ServeError, ServerConfig, TensorSpec,
};
use ndarray::ArrayD;
use serve_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Emits `pieces` one per token; before each token after the first it waits for the
/// gate (or `pause` when there is no gate), and it counts the tokens it produced.
struct Scripted {
    pieces: Vec<&'static str>,
    gate: Mutex<Option<mpsc::Receiver<()>>>,
    pause: Duration,
    produced: Arc<AtomicUsize>,
}

impl ServableModel for Scripted {
    fn metadata(&self) -> ModelMetadata {
        ModelMetadata::text(
            "text_input",
            vec![TensorSpec::batched("text_output", Datatype::Bytes, &[])],
            &[],
        )
    }
    fn predict(&self, _: ArrayD<f32>) -> glassbox_serve::Result<Prediction> {
        Err(ServeError::InvalidRequest("text only".into()))
    }
    fn explain(&self, _: ArrayD<f32>, _: &ExplainParams) -> glassbox_serve::Result<Explanation> {
        Err(ServeError::InvalidRequest("text only".into()))
    }
    fn can_generate(&self) -> bool {
        true
    }
    fn generate(
        &self,
        request: &GenerateRequest,
        on_text: &mut dyn FnMut(&str) -> glassbox_serve::Result<()>,
    ) -> glassbox_serve::Result<GenerateOutput> {
        let gate = self.gate.lock().unwrap().take();
        let mut text = String::new();
        for (i, p) in self.pieces.iter().take(request.max_new_tokens).enumerate() {
            if i > 0 {
                match &gate {
                    Some(g) => g
                        .recv_timeout(Duration::from_secs(20))
                        .expect("the test opens the gate"),
                    None => std::thread::sleep(self.pause),
                }
            }
            text.push_str(p);
            self.produced.fetch_add(1, Ordering::SeqCst);
            on_text(&text)?;
        }
        Ok(GenerateOutput {
            tokens: self.pieces.len().min(request.max_new_tokens),
            finish_reason: "length".into(),
            text,
        })
    }
}

async fn post_stream(addr: std::net::SocketAddr, body: &str) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /v2/models/m/generate_stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s
}

/// Reads until `needle` has arrived; returns everything read.
async fn read_until(s: &mut tokio::net::TcpStream, seen: &mut String, needle: &str) {
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
            .await
            .expect("data within 20 s")
            .unwrap();
        assert!(n > 0, "stream ended before {needle:?}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[test]
fn the_first_event_arrives_before_generation_ends() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (open, gate) = mpsc::channel();
        let produced = Arc::new(AtomicUsize::new(0));
        let model = Scripted {
            pieces: vec!["Hel", "lo", " wor", "ld"],
            gate: Mutex::new(Some(gate)),
            pause: Duration::ZERO,
            produced: produced.clone(),
        };
        let s =
            TestServer::start(ServerConfig::default().with_model("m", 1, Arc::new(model))).await;
        let mut conn = post_stream(
            s.addr,
            r#"{"text_input": "x", "parameters": {"max_new_tokens": 4}}"#,
        )
        .await;
        let mut seen = String::new();
        read_until(&mut conn, &mut seen, "\"text_output\":\"Hel\"").await;
        // The model is blocked before its second token: the event came from a live stream.
        assert_eq!(produced.load(Ordering::SeqCst), 1);
        for _ in 0..3 {
            open.send(()).unwrap();
        }
        read_until(&mut conn, &mut seen, "finish_reason").await;
        assert_eq!(produced.load(Ordering::SeqCst), 4);
        assert!(seen.contains("\"text_output\":\"lo\"") && seen.contains("\"text_output\":\"ld\""));
        s.shutdown().await;
    });
}

#[test]
fn generation_stops_at_the_request_deadline() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let produced = Arc::new(AtomicUsize::new(0));
        let model = Scripted {
            pieces: vec!["a"; 200],
            gate: Mutex::new(None),
            pause: Duration::from_millis(10),
            produced: produced.clone(),
        };
        let mut cfg = ServerConfig::default().with_model("m", 1, Arc::new(model));
        cfg.request_timeout = Duration::from_millis(300);
        let s = TestServer::start(cfg).await;
        let mut conn = post_stream(
            s.addr,
            r#"{"text_input": "x", "parameters": {"max_new_tokens": 200}}"#,
        )
        .await;
        let mut seen = String::new();
        read_until(&mut conn, &mut seen, "event: error").await;
        assert!(seen.contains("timed out after 300 ms"), "{seen}");
        let n = produced.load(Ordering::SeqCst);
        assert!(n < 200, "generation ran to its end ({n} tokens)");
        // The non-streamed endpoint stops too (504), and the model stops computing.
        produced.store(0, Ordering::SeqCst);
        let mut c = s.client().await;
        let r = c
            .post_json(
                "/v2/models/m/generate",
                &[],
                &serde_json::json!({"text_input": "x", "parameters": {"max_new_tokens": 200}}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 504, "{}", r.text());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = produced.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            produced.load(Ordering::SeqCst),
            after,
            "the model kept generating"
        );
        assert!(after < 200);
        s.shutdown().await;
    });
}
