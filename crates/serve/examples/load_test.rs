//! Bounded loopback load test: sends a fixed number of single-image MNIST infer requests
//! over a fixed number of keep-alive connections, then stops, and prints throughput and
//! latency percentiles. Exits non-zero if any request failed.
//!
//! ```text
//! cargo run --release -p glassbox-serve --example load_test -- \
//!     [--requests 20000] [--concurrency 64] [--mode both|on|off] [--hidden 128] [--binary]
//!     [--url 127.0.0.1:8000 --model mnist_cnn]
//! ```
//! Without `--url`, it starts a server in-process on `127.0.0.1:0` serving the toy MLP
//! `[1, 28, 28] → hidden → 10`, once with dynamic batching on and once off (`--mode`).
//! With `--url`, it loads an already running server (e.g. `glassbox serve --model
//! mnist_cnn.gbx`, started with or without `--max-batch-size 0`) and `--model` names the
//! model; only loopback addresses are accepted. Requests are JSON by default, or Triton
//! binary tensors with `--binary`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glassbox_serve::client::HttpClient;
use glassbox_serve::toy::MlpClassifier;
use glassbox_serve::ServerConfig;

struct Args {
    requests: usize,
    concurrency: usize,
    mode: String,
    hidden: usize,
    binary: bool,
    url: Option<std::net::SocketAddr>,
    model: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        requests: 20_000,
        concurrency: 64,
        mode: "both".into(),
        hidden: 128,
        binary: false,
        url: None,
        model: "mnist".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--requests" => a.requests = v()?.parse().map_err(|e| format!("{k}: {e}"))?,
            "--concurrency" => a.concurrency = v()?.parse().map_err(|e| format!("{k}: {e}"))?,
            "--mode" => a.mode = v()?,
            "--hidden" => a.hidden = v()?.parse().map_err(|e| format!("{k}: {e}"))?,
            "--binary" => a.binary = true,
            "--url" => {
                let addr: std::net::SocketAddr = v()?.parse().map_err(|e| format!("{k}: {e}"))?;
                if !addr.ip().is_loopback() {
                    return Err(format!("{k}: {addr} is not a loopback address"));
                }
                a.url = Some(addr);
            }
            "--model" => a.model = v()?,
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(a)
}

/// One request body (JSON or binary) and its extra headers.
fn request_body(binary: bool) -> (Vec<u8>, Option<usize>) {
    let img: Vec<f32> = (0..784).map(|i| ((i * 37 % 255) as f32) / 255.0).collect();
    if binary {
        let bytes: Vec<u8> = img.iter().flat_map(|v| v.to_le_bytes()).collect();
        let head = serde_json::json!({"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32",
            "parameters": {"binary_data_size": bytes.len()}}], "outputs": [{"name": "class"}]})
        .to_string();
        let n = head.len();
        let mut body = head.into_bytes();
        body.extend_from_slice(&bytes);
        (body, Some(n))
    } else {
        let body = serde_json::json!({"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": img}],
            "outputs": [{"name": "class"}]});
        (body.to_string().into_bytes(), None)
    }
}

struct Report {
    seconds: f64,
    ok: usize,
    errors: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

/// Starts the toy server in-process, loads it, and stops it.
fn run_in_process(args: &Args, batching: bool) -> Result<Report, String> {
    let model = MlpClassifier::random(&[1, 28, 28], &[args.hidden], 10, 7);
    let mut config = ServerConfig::default().with_model("mnist", 1, Arc::new(model));
    config.addr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    config.batching.enabled = batching;
    // Server runtime: its own I/O threads, separate from the load generator's.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server-io")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let server = server_rt
        .block_on(glassbox_serve::bind(config))
        .map_err(|e| e.to_string())?;
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = server_rt.spawn(server.serve(async {
        let _ = stopped.await;
    }));
    let report = generate_load(args, addr, "mnist");
    let _ = stop.send(());
    server_rt
        .block_on(serving)
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    report
}

/// Sends `args.requests` infer requests for `model` to `addr` over `args.concurrency`
/// connections.
fn generate_load(args: &Args, addr: std::net::SocketAddr, model: &str) -> Result<Report, String> {
    let path = Arc::new(format!("/v2/models/{model}/infer"));
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load-client")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (body, json_len) = request_body(args.binary);
    let body = Arc::new(body);
    let next = Arc::new(AtomicUsize::new(0));
    let total = args.requests;
    let t0 = Instant::now();
    let results: Vec<(Vec<Duration>, usize)> = client_rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..args.concurrency {
            let (body, next, path) = (body.clone(), next.clone(), path.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0usize;
                let mut c = match HttpClient::connect(addr).await {
                    Ok(c) => c,
                    Err(_) => return (lat, usize::MAX),
                };
                let len = json_len.map(|n| n.to_string());
                let mut headers = vec![("Content-Type", "application/json")];
                if let Some(l) = &len {
                    headers.push(("Inference-Header-Content-Length", l.as_str()));
                }
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let s = Instant::now();
                    match c.request("POST", &path, &headers, &body).await {
                        Ok(r) if r.status == 200 => lat.push(s.elapsed()),
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap_or((Vec::new(), usize::MAX)));
        }
        out
    });
    let seconds = t0.elapsed().as_secs_f64();
    let errors: usize = results.iter().map(|r| r.1.min(total)).sum();
    let mut lat: Vec<Duration> = results.into_iter().flat_map(|r| r.0).collect();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Report {
        seconds,
        ok: lat.len(),
        errors,
        p50: pct(0.50),
        p99: pct(0.99),
        max: lat.last().copied().unwrap_or_default(),
    })
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load_test: {e}");
            std::process::exit(2);
        }
    };
    let modes: Vec<bool> = match (args.url, args.mode.as_str()) {
        (Some(_), _) => vec![true],
        (None, "on") => vec![true],
        (None, "off") => vec![false],
        _ => vec![true, false],
    };
    println!(
        "requests={} concurrency={} model={} body={} cores={}",
        args.requests,
        args.concurrency,
        match args.url {
            Some(addr) => format!("'{}' at {addr}", args.model),
            None => format!("toy MLP hidden {}", args.hidden),
        },
        if args.binary { "binary" } else { "json" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut failed = false;
    for batching in modes {
        let report = match args.url {
            Some(addr) => generate_load(&args, addr, &args.model),
            None => run_in_process(&args, batching),
        };
        match report {
            Ok(r) => {
                println!(
                    "batching={:<3} ok={} errors={} time={:.2}s throughput={:.0} req/s p50={:.2}ms p99={:.2}ms max={:.2}ms",
                    match (args.url, batching) {
                        (Some(_), _) => "server's setting",
                        (None, true) => "on",
                        (None, false) => "off",
                    },
                    r.ok,
                    r.errors,
                    r.seconds,
                    r.ok as f64 / r.seconds,
                    r.p50.as_secs_f64() * 1e3,
                    r.p99.as_secs_f64() * 1e3,
                    r.max.as_secs_f64() * 1e3
                );
                failed |= r.errors > 0;
            }
            Err(e) => {
                eprintln!("load_test: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
