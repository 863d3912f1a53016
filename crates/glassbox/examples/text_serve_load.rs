//! A bounded loopback load test of text serving: the tiny BERT classifier and tiny GPT-2 of
//! `tests/reference/transformers`, served through the bundle loader; 8 client tasks send
//! 2,000 requests mixing `/infer` (60%), `/explain` (20%, LIG and occlusion) and
//! `/generate` (20%), and every answer must be a 200. Then 1,000 explain calls run while
//! the process's resident memory (VmRSS) is sampled after every call; the mean of the first
//! and last 100-call windows is printed.
//!
//! `cargo run -p glassbox --example text_serve_load [-- REQUESTS EXPLAINS]`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use glassbox::serve::ServeBundles;
use glassbox::serving::{bind, client::HttpClient, ExplainLimits, ServerConfig};
use serde_json::json;

const CLIENTS: usize = 8;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn request(i: usize) -> (String, serde_json::Value) {
    let texts = [
        "Free money!!! Click here to claim your prize",
        "Re: the meeting is moved to Tuesday",
        "unsubscribe from this list",
        "Caf\u{e9} prices in \u{6771}\u{4eac} rose 5%",
    ];
    let t = texts[i % texts.len()];
    match i % 10 {
        0..=5 => (
            "/v2/models/bert/infer".into(),
            json!({"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": [t, texts[(i + 1) % 4]]}]}),
        ),
        6 => (
            "/v2/models/bert/explain".into(),
            json!({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [t]}],
                   "parameters": {"method": "lig", "n_steps": 20}}),
        ),
        7 => (
            "/v2/models/gpt/explain".into(),
            json!({"inputs": [{"name": "text_input", "shape": [1], "datatype": "BYTES", "data": [t]}],
                   "parameters": {"method": "occlusion"}}),
        ),
        8 => (
            "/v2/models/gpt/generate".into(),
            json!({"text_input": t, "parameters": {"max_new_tokens": 8}}),
        ),
        _ => (
            "/v2/models/gpt/generate".into(),
            json!({"text_input": t, "parameters": {"max_new_tokens": 8, "temperature": 0.9, "seed": i}}),
        ),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().map_or(Ok(2000), |a| a.parse())?;
    let explains: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/reference/transformers"
    );
    let mut config = ServerConfig::default()
        .with_bundle("bert", format!("{root}/bert_tiny"))?
        .with_bundle("gpt", format!("{root}/gpt2_tiny"))?;
    config.addr = "127.0.0.1:0".parse()?;
    // Every client may have an explanation in flight: none is refused as busy.
    config.explain = ExplainLimits {
        max_concurrent: CLIENTS,
        ..ExplainLimits::default()
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let server = bind(config).await?;
        let addr = server.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));

        let next = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let (next, errors) = (next.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = HttpClient::connect(addr).await.expect("connects");
                let mut by_kind = [0usize; 3];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let (path, body) = request(i);
                    let kind = if path.ends_with("infer") { 0 } else if path.ends_with("explain") { 1 } else { 2 };
                    by_kind[kind] += 1;
                    match c.post_json(&path, &[], &body).await {
                        Ok(r) if r.status == 200 => {}
                        Ok(r) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("{path}: {} {}", r.status, r.text());
                        }
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("{path}: {e}");
                            c = HttpClient::connect(addr).await.expect("reconnects");
                        }
                    }
                }
                by_kind
            }));
        }
        let mut kinds = [0usize; 3];
        for t in tasks {
            let k = t.await?;
            (0..3).for_each(|j| kinds[j] += k[j]);
        }
        let secs = t0.elapsed().as_secs_f64();
        let errors = errors.load(Ordering::Relaxed);
        println!(
            "mixed load: {total} requests ({} infer, {} explain, {} generate) from {CLIENTS} clients \
             in {secs:.1} s ({:.0} req/s), errors: {errors}",
            kinds[0], kinds[1], kinds[2], total as f64 / secs
        );

        // RSS over repeated explanations.
        let mut c = HttpClient::connect(addr).await?;
        let body = json!({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES",
            "data": ["Free money!!! Click here to claim your prize"]}],
            "parameters": {"method": "lig", "n_steps": 50}});
        let mut samples = Vec::with_capacity(explains);
        let mut explain_errors = 0;
        let t1 = Instant::now();
        for _ in 0..explains {
            let r = c.post_json("/v2/models/bert/explain", &[], &body).await?;
            if r.status != 200 {
                explain_errors += 1;
            }
            samples.push(rss_kib());
        }
        let w = (explains / 10).max(1);
        let mean = |s: &[u64]| s.iter().sum::<u64>() as f64 / s.len().max(1) as f64 / 1024.0;
        println!(
            "RSS over {explains} explain calls (LIG, 50 steps, {:.1} ms each): first {w}-call window {:.1} MiB, \
             last {w}-call window {:.1} MiB, max {:.1} MiB, errors: {explain_errors}",
            t1.elapsed().as_secs_f64() * 1e3 / explains.max(1) as f64,
            mean(&samples[..w.min(samples.len())]),
            mean(&samples[samples.len().saturating_sub(w)..]),
            samples.iter().copied().max().unwrap_or(0) as f64 / 1024.0
        );
        let _ = stop.send(());
        handle.await??;
        if errors + explain_errors > 0 {
            return Err(format!("{} requests failed", errors + explain_errors).into());
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
