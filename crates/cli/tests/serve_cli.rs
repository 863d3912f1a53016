//! `glassbox serve` end to end: the binary serves a bundle it trained over HTTP, and the
//! probabilities it answers are exactly those of the library's `Model` for the same rows.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use glassbox::Model;
use glassbox_testkit::http::{post, spawn_server};
use ndarray::Array2;
use serde_json::Value;

fn post_json(addr: &str, path: &str, body: &Value) -> (u16, Value) {
    post(addr, path, &body.to_string())
}

#[test]
fn serve_answers_with_the_libraries_predictions() {
    let dir = std::env::temp_dir().join(format!("glassbox-serve-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("iris.gbx");
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/tabular/iris.csv");
    let bin = env!("CARGO_BIN_EXE_glassbox");
    let trained = Command::new(bin)
        .args([
            "train",
            "--data",
            csv.to_str().unwrap(),
            "--target",
            "target",
        ])
        .args(["--model", "mlp:8", "--epochs", "5", "--quiet", "--out"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(trained.status.success(), "{trained:?}");

    let model = format!("flowers={}", bundle.display());
    let (mut server, addr) = spawn_serve(&["--threads", "1", "--model", &model]);

    let rows = Array2::from_shape_fn((3, 4), |(i, j)| (i as f32 - 1.0) * 0.5 + j as f32 * 0.1);
    let req = serde_json::json!({"inputs": [{"name": "input", "shape": [3, 4],
        "datatype": "FP32", "data": rows.iter().collect::<Vec<_>>()}]});
    let (status, body) = post_json(&addr, "/v2/models/flowers/infer", &req);
    let bad = serde_json::json!({"inputs": [{"name": "input", "shape": [1, 3],
        "datatype": "FP32", "data": [1.0, 2.0, 3.0]}]});
    let (bad_status, bad_body) = post_json(&addr, "/v2/models/flowers/infer", &bad);
    server.kill().unwrap();
    server.wait().unwrap();

    assert_eq!(status, 200, "{body}");
    let want = Model::load(&bundle).unwrap().predict_proba(&rows).unwrap();
    let got: Vec<f32> = body["outputs"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(got, want.iter().copied().collect::<Vec<_>>());
    assert_eq!(body["outputs"][2]["name"], "label");
    assert_eq!(bad_status, 400, "{bad_body}");
    assert!(
        bad_body["error"].as_str().unwrap().contains("[1, 3]"),
        "{bad_body}"
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Trains a small iris bundle into `dir`.
fn iris_bundle(dir: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let bundle = dir.join("iris.gbx");
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/tabular/iris.csv");
    let trained = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "train",
            "--data",
            csv.to_str().unwrap(),
            "--target",
            "target",
        ])
        .args(["--model", "mlp:8", "--epochs", "2", "--quiet", "--out"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(trained.status.success(), "{trained:?}");
    bundle
}

/// Starts `glassbox serve` with `args` and returns it with its address.
fn spawn_serve(args: &[&str]) -> (std::process::Child, String) {
    spawn_server(
        Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(args),
    )
}

/// Issue 14, classes 3 and 4 through the binary: explain limits and options are 400s
/// naming the flag or the option, and SIGTERM ends the server within the drain deadline
/// although one client holds half a request line and another an idle connection.
#[test]
fn serve_limits_explanations_and_sigterm_ends_it_with_half_open_clients() {
    let dir = std::env::temp_dir().join(format!("glassbox-serve-sigterm-{}", std::process::id()));
    let bundle = iris_bundle(&dir);
    let model = format!("flowers={}", bundle.display());
    let (mut server, addr) = spawn_serve(&[
        "--model",
        &model,
        "--threads",
        "1",
        "--explain-max-rows",
        "2",
        "--header-read-timeout",
        "60",
        "--idle-timeout",
        "60",
        "--drain-timeout",
        "3",
    ]);
    let rows = |n: usize| {
        serde_json::json!({"inputs": [{"name": "input", "shape": [n, 4], "datatype": "FP32",
            "data": vec![0.25f32; n * 4]}], "parameters": {"method": "ig"}})
    };
    let (status, body) = post_json(&addr, "/v2/models/flowers/explain", &rows(3));
    assert_eq!(status, 400, "{body}");
    let e = body["error"].as_str().unwrap();
    assert!(
        e.contains("rows = 3") && e.contains("--explain-max-rows"),
        "{e}"
    );
    let mut with_steps = rows(1);
    with_steps["parameters"]["n_steps"] = 50.into();
    let (status, body) = post_json(&addr, "/v2/models/flowers/explain", &with_steps);
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("'n_steps'"),
        "{body}"
    );
    let (status, body) = post_json(&addr, "/v2/models/flowers/explain", &rows(2));
    assert_eq!(status, 200, "{body}");

    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"POST /v2/models/flowers/inf").unwrap();
    let _idle = TcpStream::connect(&addr).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let t0 = std::time::Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(s) = server.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > std::time::Duration::from_secs(10) {
            server.kill().unwrap();
            panic!("glassbox serve still running 10 s after SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(3),
        "exit took {:?}",
        t0.elapsed()
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["serve", "--model", &model, "--explain-max-rows", "0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--explain-max-rows"));
    std::fs::remove_dir_all(dir).ok();
}
