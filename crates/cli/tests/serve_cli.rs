//! `glassbox serve` end to end: the binary serves a bundle it trained over HTTP, and the
//! probabilities it answers are exactly those of the library's `Model` for the same rows.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

use glassbox::Model;
use ndarray::Array2;
use serde_json::Value;

fn post_json(addr: &str, path: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut s = TcpStream::connect(addr).expect("the server accepts connections");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status: u16 = raw[9..12].parse().expect("an HTTP status line");
    let (start, end) = (raw.find('{').unwrap(), raw.rfind('}').unwrap());
    (status, serde_json::from_str(&raw[start..=end]).unwrap())
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

    let mut server = Command::new(bin)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--threads",
            "1",
            "--model",
        ])
        .arg(format!("flowers={}", bundle.display()))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in: {line}"))
        .to_string();

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
