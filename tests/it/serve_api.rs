//! End-to-end tests of the Open Inference Protocol endpoints of `glassbox-serve`: every
//! endpoint, the binary tensor extension, every bad input, authentication and timeouts,
//! against a server on an ephemeral loopback port.

use crate::serve_support;

use std::sync::Arc;
use std::time::Duration;

use glassbox_serve::toy::MlpClassifier;
use glassbox_serve::ServerConfig;
use serde_json::{json, Value};
use serve_support::*;

const FEATURES: usize = 12;

fn toy() -> MlpClassifier {
    let mut m = MlpClassifier::random(&[3, 4], &[16], 5, 7);
    m.class_names = ["zero", "one", "two", "three", "four"]
        .map(String::from)
        .to_vec();
    m
}

fn linear() -> MlpClassifier {
    MlpClassifier::random(&[FEATURES], &[], 3, 11)
}

fn config() -> ServerConfig {
    ServerConfig::default()
        .with_model("toy", 1, Arc::new(toy()))
        .with_model(
            "toy",
            2,
            Arc::new(MlpClassifier::random(&[3, 4], &[8], 5, 8)),
        )
        .with_model("linear", 1, Arc::new(linear()))
}

fn assert_error(status: u16, body: &Value, want_status: u16, needles: &[&str]) {
    assert_eq!(status, want_status, "body: {body}");
    let msg = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no JSON error in {body}"));
    for n in needles {
        assert!(msg.contains(n), "error '{msg}' does not mention '{n}'");
    }
}

#[test]
fn health_metadata_and_ready_endpoints() {
    rt().block_on(async {
        let srv = TestServer::start(config()).await;
        let mut c = srv.client().await;
        for path in ["/v2/health/live", "/v2/health/ready"] {
            let r = c.get(path, &[]).await.unwrap();
            assert_eq!(r.status, 200, "{path}");
        }
        let r = c.get("/v2", &[]).await.unwrap();
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["name"], "glassbox");
        assert!(v["extensions"]
            .as_array()
            .unwrap()
            .contains(&json!("binary_tensor_data")));

        let r = c.get("/v2/models/toy", &[]).await.unwrap();
        assert_eq!(r.status, 200);
        let m = r.json();
        assert_eq!(m["name"], "toy");
        assert_eq!(m["versions"], json!(["1", "2"]));
        assert_eq!(
            m["inputs"][0],
            json!({"name": "input", "datatype": "FP32", "shape": [-1, 3, 4]})
        );
        let outs: Vec<&str> = m["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(outs, ["probabilities", "class", "label"]);
        assert_eq!(m["outputs"][0]["shape"], json!([-1, 5]));
        assert_eq!(m["outputs"][2]["datatype"], "BYTES");

        let r = c.get("/v2/models/toy/versions/1", &[]).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["versions"], json!(["1"]));

        for path in ["/v2/models/toy/ready", "/v2/models/toy/versions/2/ready"] {
            assert_eq!(c.get(path, &[]).await.unwrap().status, 200, "{path}");
        }
        let r = c.get("/v2/models/toy/versions/9/ready", &[]).await.unwrap();
        assert_error(r.status, &r.json(), 404, &["'9'", "toy", "1, 2"]);

        let r = c.get("/v2/models/toy/config", &[]).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["input"][0]["dims"], json!([3, 4]));
        assert_eq!(r.json()["input"][0]["data_type"], "TYPE_FP32");
        srv.shutdown().await;
    });
}

#[test]
fn infer_matches_naive_reference_with_and_without_version() {
    rt().block_on(async {
        let srv = TestServer::start(config()).await;
        let mut c = srv.client().await;
        let model = toy();
        let x: Vec<f32> = sample(3 * FEATURES, 1);
        // Nested data must be accepted as well as flat data.
        let nested: Vec<Vec<Vec<f32>>> = x
            .chunks(FEATURES)
            .map(|s| s.chunks(4).map(|r| r.to_vec()).collect())
            .collect();
        let body = json!({"id": "req-7", "inputs": [{"name": "input", "shape": [3, 3, 4], "datatype": "FP32", "data": nested}]});
        for path in ["/v2/models/toy/versions/1/infer", "/v2/models/toy/infer"] {
            let r = c.post_json(path, &[], &body).await.unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json();
            assert_eq!(v["id"], "req-7");
            assert_eq!(v["model_name"], "toy");
            let probs = output_f32(&v, "probabilities");
            assert_eq!(probs.len(), 15);
            if path.contains("versions/1") {
                assert_eq!(v["model_version"], "1");
                for (row, xs) in x.chunks(FEATURES).enumerate() {
                    let want = naive_probabilities(&model, xs);
                    for k in 0..5 {
                        assert!((probs[row * 5 + k] - want[k]).abs() < 1e-5, "row {row} class {k}");
                    }
                    let cls = argmax(&want);
                    assert_eq!(v["outputs"][1]["data"][row], json!(cls));
                    assert_eq!(v["outputs"][2]["data"][row], json!(model.class_names[cls]));
                }
            } else {
                assert_eq!(v["model_version"], "2", "default version is the highest");
            }
        }
        // Integer and FP64 inputs are converted.
        let ints = json!({"inputs": [{"name": "input", "shape": [1, 3, 4], "datatype": "INT64", "data": [1,0,2,0,1,0,3,0,0,1,0,2]}],
                          "outputs": [{"name": "class"}]});
        let r = c.post_json("/v2/models/toy/versions/1/infer", &[], &ints).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let xs: Vec<f32> = [1, 0, 2, 0, 1, 0, 3, 0, 0, 1, 0, 2].map(|v| v as f32).to_vec();
        let v = r.json();
        assert_eq!(v["outputs"].as_array().unwrap().len(), 1, "only the requested output");
        assert_eq!(v["outputs"][0]["data"][0], json!(argmax(&naive_probabilities(&model, &xs))));
        srv.shutdown().await;
    });
}

/// Builds a Triton binary-extension request: JSON header then raw little-endian tensor.
fn binary_request(x: &[f32], shape: &[usize], outputs: Value) -> (Vec<u8>, usize) {
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let header = json!({"inputs": [{"name": "input", "shape": shape, "datatype": "FP32",
        "parameters": {"binary_data_size": bytes.len()}}], "outputs": outputs})
    .to_string();
    let mut body = header.clone().into_bytes();
    body.extend_from_slice(&bytes);
    (body, header.len())
}

#[test]
fn binary_tensor_extension_and_classification() {
    rt().block_on(async {
        let srv = TestServer::start(config()).await;
        let mut c = srv.client().await;
        let model = toy();
        let x = sample(2 * FEATURES, 3);
        let (body, n) = binary_request(
            &x,
            &[2, 3, 4],
            json!([{"name": "probabilities", "parameters": {"binary_data": true}},
                   {"name": "label", "parameters": {"binary_data": true}},
                   {"name": "class", "parameters": {"binary_data": false}}]),
        );
        let len = n.to_string();
        let h = [("Content-Type", "application/json"), ("Inference-Header-Content-Length", len.as_str())];
        let r = c.request("POST", "/v2/models/toy/versions/1/infer", &h, &body).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let jl: usize = r.header("inference-header-content-length").expect("binary response header").parse().unwrap();
        let v: Value = serde_json::from_slice(&r.body[..jl]).unwrap();
        let bin = &r.body[jl..];
        let psize = v["outputs"][0]["parameters"]["binary_data_size"].as_u64().unwrap() as usize;
        assert_eq!(psize, 2 * 5 * 4);
        let probs: Vec<f32> = bin[..psize].chunks(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        for (row, xs) in x.chunks(FEATURES).enumerate() {
            let want = naive_probabilities(&model, xs);
            for k in 0..5 {
                assert!((probs[row * 5 + k] as f64 - want[k]).abs() < 1e-5);
            }
        }
        // BYTES: 4-byte little-endian length then the UTF-8 label.
        let lsize = v["outputs"][1]["parameters"]["binary_data_size"].as_u64().unwrap() as usize;
        let lab = &bin[psize..psize + lsize];
        let l0 = u32::from_le_bytes([lab[0], lab[1], lab[2], lab[3]]) as usize;
        let want0 = &model.class_names[argmax(&naive_probabilities(&model, &x[..FEATURES]))];
        assert_eq!(std::str::from_utf8(&lab[4..4 + l0]).unwrap(), want0);
        assert!(v["outputs"][2]["data"].is_array(), "JSON output alongside binary ones");

        // Classification extension: top-2 "score:index" strings.
        let req = json!({"inputs": [{"name": "input", "shape": [1, 3, 4], "datatype": "FP32", "data": &x[..FEATURES]}],
                         "outputs": [{"name": "probabilities", "parameters": {"classification": 2}}]});
        let r = c.post_json("/v2/models/toy/versions/1/infer", &[], &req).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["outputs"][0]["shape"], json!([1, 2]));
        let top = v["outputs"][0]["data"][0].as_str().unwrap().to_string();
        let want = naive_probabilities(&model, &x[..FEATURES]);
        assert!(top.ends_with(&format!(":{}", argmax(&want))), "{top}");
        srv.shutdown().await;
    });
}

#[test]
fn explain_returns_attributions_matching_input_times_weight() {
    rt().block_on(async {
        let srv = TestServer::start(config()).await;
        let mut c = srv.client().await;
        let model = linear();
        let x = sample(2 * FEATURES, 5);
        let body = json!({"inputs": [{"name": "input", "shape": [2, FEATURES], "datatype": "FP32", "data": x}],
                          "parameters": {"method": "input_x_gradient", "target": [2, 0]}});
        for path in ["/v2/models/linear/explain", "/v2/models/linear/versions/1/explain"] {
            let r = c.post_json(path, &[], &body).await.unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json();
            let a = output_f32(&v, "attributions");
            assert_eq!(v["outputs"][0]["shape"], json!([2, FEATURES]));
            assert_eq!(v["outputs"][1]["data"], json!([2, 0]));
            for (row, t) in [(0usize, 2usize), (1, 0)] {
                for j in 0..FEATURES {
                    let want = x[row * FEATURES + j] as f64 * model.layers[0].weight[[t, j]] as f64;
                    assert!((a[row * FEATURES + j] - want).abs() < 1e-6);
                }
            }
        }
        // Integrated gradients of a linear model equal input × weight for any step count.
        let ig = json!({"inputs": [{"name": "input", "shape": [1, FEATURES], "datatype": "FP32", "data": &x[..FEATURES]}],
                        "parameters": {"method": "integrated_gradients", "n_steps": 4, "target": 1}});
        let r = c.post_json("/v2/models/linear/explain", &[], &ig).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let a = output_f32(&r.json(), "attributions");
        for j in 0..FEATURES {
            let want = x[j] as f64 * model.layers[0].weight[[1, j]] as f64;
            assert!((a[j] - want).abs() < 1e-5);
        }
        srv.shutdown().await;
    });
}

#[test]
fn bad_inputs_get_json_4xx_and_the_server_keeps_serving() {
    rt().block_on(async {
        let mut cfg = config();
        cfg.max_body_bytes = 64 * 1024;
        let srv = TestServer::start(cfg).await;
        let mut c = srv.client().await;
        let good = infer_body("input", &[1, 3, 4], &sample(FEATURES, 2));
        let p = "/v2/models/toy/infer";
        let strs = vec!["x"; 12];
        let halves = vec![0.5f32; 12];

        let r = c.request("POST", p, &[("Content-Type", "application/json")], b"{\"inputs\": [").await.unwrap();
        assert_error(r.status, &r.json(), 400, &["JSON"]);
        let r = c.post_json(p, &[], &json!({"inputs": 3})).await.unwrap();
        assert_error(r.status, &r.json(), 400, &["JSON"]);

        let cases: Vec<(Value, u16, Vec<&str>)> = vec![
            (infer_body("input", &[1, 12], &sample(12, 1)), 400, vec!["shape", "'input'", "[-1, 3, 4]"]),
            (infer_body("input", &[1, 4, 3], &sample(12, 1)), 400, vec!["shape", "dimension 1"]),
            (infer_body("input", &[2, 3, 4], &sample(12, 1)), 400, vec!["24 elements", "12"]),
            (json!({"inputs": [{"name": "input", "shape": [1, 3, 4], "datatype": "BYTES", "data": ["a"]}]}), 400, vec!["datatype", "BYTES", "FP32"]),
            (json!({"inputs": [{"name": "input", "shape": [1, 3, 4], "datatype": "FP99", "data": [1]}]}), 400, vec!["unknown datatype 'FP99'"]),
            (json!({"inputs": [{"name": "input", "shape": [1, 3, 4], "datatype": "FP32", "data": strs}]}), 400, vec!["datatype", "a string"]),
            (json!({"inputs": [{"name": "input", "shape": [1, 3, 4], "datatype": "INT32", "data": halves}]}), 400, vec!["integer", "INT32"]),
            (json!({"inputs": [{"name": "pixels", "shape": [1, 3, 4], "datatype": "FP32", "data": halves}]}), 400, vec!["unknown input 'pixels'", "'input'"]),
            (json!({"inputs": [{"name": "input", "shape": [1, 3, 4], "datatype": "FP32", "data": [0.5, "NaN", 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]}]}), 400, vec!["non-finite", "NaN", "index 1"]),
            (json!({"inputs": [{"name": "input", "shape": [1, 3, 4], "datatype": "FP32", "data": halves}], "outputs": [{"name": "logits"}]}), 400, vec!["unknown output 'logits'"]),
        ];
        for (body, status, needles) in &cases {
            let r = c.post_json(p, &[], body).await.unwrap();
            assert_error(r.status, &r.json(), *status, needles);
        }
        // NaN inside a binary tensor.
        let mut x = sample(FEATURES, 4);
        x[5] = f32::NAN;
        let (body, n) = binary_request(&x, &[1, 3, 4], Value::Null);
        let len = n.to_string();
        let r = c.request("POST", p, &[("Inference-Header-Content-Length", len.as_str())], &body).await.unwrap();
        assert_error(r.status, &r.json(), 400, &["non-finite", "index 5"]);

        let r = c.post_json("/v2/models/nope/infer", &[], &good).await.unwrap();
        assert_error(r.status, &r.json(), 404, &["unknown model 'nope'"]);
        let r = c.post_json("/v2/models/toy/versions/3/infer", &[], &good).await.unwrap();
        assert_error(r.status, &r.json(), 404, &["version '3'", "toy"]);
        let r = c.get("/v2/models/nope", &[]).await.unwrap();
        assert_error(r.status, &r.json(), 404, &["nope"]);
        let r = c.get("/v2/nothing/here", &[]).await.unwrap();
        assert_error(r.status, &r.json(), 404, &["/v2/nothing/here"]);
        let r = c.get("/v2/models/toy/infer", &[]).await.unwrap();
        assert_error(r.status, &r.json(), 405, &["GET"]);

        let e = |params: Value| json!({"inputs": [{"name": "input", "shape": [1, 3, 4], "datatype": "FP32", "data": halves}], "parameters": params});
        let r = c.post_json("/v2/models/toy/explain", &[], &e(json!({"method": "lime"}))).await.unwrap();
        assert_error(r.status, &r.json(), 400, &["unknown method 'lime'", "saliency"]);
        let r = c.post_json("/v2/models/toy/explain", &[], &e(json!({"method": "saliency", "target": 9}))).await.unwrap();
        assert_error(r.status, &r.json(), 400, &["target", "9", "5 classes"]);
        let r = c.post_json("/v2/models/toy/explain", &[], &e(json!({"method": "integrated_gradients", "n_steps": -1}))).await.unwrap();
        assert_error(r.status, &r.json(), 400, &["n_steps"]);

        let big = vec![b' '; 100 * 1024];
        let r = c.request("POST", p, &[], &big).await.unwrap();
        assert_error(r.status, &r.json(), 413, &["too large", "65536"]);

        // Still serving, and the failures were counted by status.
        let mut c = srv.client().await;
        let r = c.post_json(p, &[], &good).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let m = c.get("/metrics", &[]).await.unwrap().text();
        assert!(m.contains("glassbox_requests_total{model=\"toy\",endpoint=\"infer\",status=\"400\"}"), "{m}");
        assert!(m.contains("glassbox_requests_total{model=\"_unknown\",endpoint=\"infer\",status=\"404\"} 1"), "{m}");
        srv.shutdown().await;
    });
}

#[test]
fn bearer_token_auth_on_and_off() {
    rt().block_on(async {
        let body = infer_body("input", &[1, 3, 4], &sample(FEATURES, 9));
        // Off: no header needed.
        let srv = TestServer::start(config()).await;
        let mut c = srv.client().await;
        assert_eq!(
            c.post_json("/v2/models/toy/infer", &[], &body)
                .await
                .unwrap()
                .status,
            200
        );
        srv.shutdown().await;

        let mut cfg = config();
        cfg.token = Some("s3cret".into());
        let srv = TestServer::start(cfg).await;
        let mut c = srv.client().await;
        for path in ["/v2/health/live", "/v2", "/metrics", "/v2/models/toy"] {
            let r = c.get(path, &[]).await.unwrap();
            assert_error(r.status, &r.json(), 401, &["Authorization"]);
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        }
        let r = c
            .post_json(
                "/v2/models/toy/infer",
                &[("Authorization", "Bearer wrong")],
                &body,
            )
            .await
            .unwrap();
        assert_error(r.status, &r.json(), 401, &["invalid bearer token"]);
        let r = c
            .post_json("/v2/repository/models/toy/unload", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 401);
        let ok = [("Authorization", "Bearer s3cret")];
        assert_eq!(
            c.post_json("/v2/models/toy/infer", &ok, &body)
                .await
                .unwrap()
                .status,
            200
        );
        assert_eq!(c.get("/metrics", &ok).await.unwrap().status, 200);
        srv.shutdown().await;

        let mut cfg = config();
        cfg.token = Some("s3cret".into());
        cfg.public_health = true;
        let srv = TestServer::start(cfg).await;
        let mut c = srv.client().await;
        assert_eq!(c.get("/v2/health/ready", &[]).await.unwrap().status, 200);
        assert_eq!(c.get("/v2", &[]).await.unwrap().status, 401);
        srv.shutdown().await;
    });
}

#[test]
fn slow_requests_time_out_with_504() {
    rt().block_on(async {
        let slow = Instrumented::new(toy(), Duration::from_millis(400));
        let mut cfg = ServerConfig::default().with_model("slow", 1, slow);
        cfg.request_timeout = Duration::from_millis(100);
        let srv = TestServer::start(cfg).await;
        let mut c = srv.client().await;
        let body = infer_body("input", &[1, 3, 4], &sample(FEATURES, 9));
        let r = c
            .post_json("/v2/models/slow/infer", &[], &body)
            .await
            .unwrap();
        assert_error(r.status, &r.json(), 504, &["timed out", "100 ms"]);
        let r = c.get("/v2/health/live", &[]).await.unwrap();
        assert_eq!(r.status, 200);
        srv.shutdown().await;
    });
}
