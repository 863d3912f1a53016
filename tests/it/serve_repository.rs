//! Model repository tests of `glassbox-serve`: serving a model directory with versions,
//! index/load/unload, and load/unload under concurrent traffic without dropping in-flight
//! requests.

use crate::serve_support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use glassbox_serve::toy::{toy_loader, MlpClassifier};
use glassbox_serve::{ModelLoader, ServerConfig};
use serde_json::{json, Value};
use serve_support::*;

/// `dir/alpha.json` (version 1) and `dir/beta/{1,2}/model.json`.
fn model_dir(tag: &str) -> (PathBuf, Vec<MlpClassifier>) {
    let dir = std::env::temp_dir().join(format!("gb-serve-repo-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("beta/1")).unwrap();
    std::fs::create_dir_all(dir.join("beta/2")).unwrap();
    let alpha = MlpClassifier::random(&[6], &[5], 3, 1);
    let beta1 = MlpClassifier::random(&[6], &[5], 3, 2);
    let beta2 = MlpClassifier::random(&[6], &[], 3, 3);
    alpha.save(&dir.join("alpha.json")).unwrap();
    beta1.save(&dir.join("beta/1/model.json")).unwrap();
    beta2.save(&dir.join("beta/2/model.json")).unwrap();
    std::fs::write(dir.join(".hidden"), b"ignored").unwrap();
    (dir, vec![alpha, beta1, beta2])
}

fn dir_config(dir: &Path) -> ServerConfig {
    let loader: Arc<dyn ModelLoader> = Arc::new(toy_loader);
    ServerConfig {
        model_dir: Some(dir.to_path_buf()),
        loader: Some(loader),
        ..ServerConfig::default()
    }
}

fn probs_of(v: &Value) -> Vec<f64> {
    output_f32(v, "probabilities")
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
}

#[test]
fn model_directory_versions_index_load_unload() {
    let (dir, models) = model_dir("dir");
    rt().block_on(async {
        let srv = TestServer::start(dir_config(&dir)).await;
        let mut c = srv.client().await;
        let x = sample(6, 4);
        let body = infer_body("input", &[1, 6], &x);

        let r = c
            .post_json("/v2/repository/index", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            r.json(),
            json!([{"name": "alpha", "version": "1", "state": "READY", "reason": ""},
                   {"name": "beta", "version": "1", "state": "READY", "reason": ""},
                   {"name": "beta", "version": "2", "state": "READY", "reason": ""}])
        );
        for (path, m) in [
            ("/v2/models/alpha/infer", &models[0]),
            ("/v2/models/beta/versions/1/infer", &models[1]),
            ("/v2/models/beta/infer", &models[2]),
        ] {
            let r = c.post_json(path, &[], &body).await.unwrap();
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            assert!(
                close(&probs_of(&r.json()), &naive_probabilities(m, &x)),
                "{path}"
            );
        }

        // Unload one version: the default falls back to the highest remaining one.
        let r = c
            .post_json(
                "/v2/repository/models/beta/unload",
                &[],
                &json!({"parameters": {"version": "2"}}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let r = c
            .post_json("/v2/models/beta/infer", &[], &body)
            .await
            .unwrap();
        assert_eq!(r.json()["model_version"], "1");
        let r = c
            .post_json("/v2/models/beta/versions/2/infer", &[], &body)
            .await
            .unwrap();
        assert_eq!(r.status, 404);
        assert!(r.json()["error"]
            .as_str()
            .unwrap()
            .contains("loaded versions: 1"));

        // Unload the whole model, then load it back from disk.
        let r = c
            .post_json("/v2/repository/models/alpha/unload", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let r = c
            .post_json("/v2/models/alpha/infer", &[], &body)
            .await
            .unwrap();
        assert_eq!(r.status, 400);
        assert!(r.json()["error"].as_str().unwrap().contains("not loaded"));
        let r = c.get("/v2/models/alpha/ready", &[]).await.unwrap();
        assert_eq!((r.status, r.json()["ready"].clone()), (400, json!(false)));
        let r = c
            .post_json("/v2/repository/index", &[], &json!({"ready": true}))
            .await
            .unwrap();
        let names: Vec<String> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{}:{}", e["name"], e["version"]))
            .collect();
        assert_eq!(names, ["\"beta\":\"1\""]);
        let r = c
            .post_json("/v2/repository/index", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(
            r.json()[0],
            json!({"name": "alpha", "state": "UNAVAILABLE", "reason": "unloaded"})
        );

        // A new model dropped into the directory is picked up by load; a replaced bundle is
        // re-read on reload.
        let gamma = MlpClassifier::random(&[6], &[4], 3, 99);
        gamma.save(&dir.join("gamma.json")).unwrap();
        let r = c
            .request("POST", "/v2/repository/models/gamma/load", &[], b"")
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let r = c
            .post_json("/v2/models/gamma/infer", &[], &body)
            .await
            .unwrap();
        assert!(close(
            &probs_of(&r.json()),
            &naive_probabilities(&gamma, &x)
        ));
        let r = c
            .post_json("/v2/repository/models/alpha/load", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let r = c
            .post_json("/v2/models/alpha/infer", &[], &body)
            .await
            .unwrap();
        assert!(close(
            &probs_of(&r.json()),
            &naive_probabilities(&models[0], &x)
        ));

        // Errors: unknown model, broken bundle, bad name, bad version parameter.
        let r = c
            .post_json("/v2/repository/models/nope/load", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 404);
        std::fs::write(dir.join("broken.json"), b"{not json").unwrap();
        let r = c
            .post_json("/v2/repository/models/broken/load", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 500);
        assert!(r.json()["error"].as_str().unwrap().contains("broken.json"));
        let r = c
            .post_json("/v2/repository/index", &[], &json!({}))
            .await
            .unwrap();
        let broken = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "broken")
            .cloned()
            .unwrap();
        assert_eq!(broken["state"], "UNAVAILABLE");
        assert!(broken["reason"].as_str().unwrap().contains("broken.json"));

        // A hostile version dropped into a served model's directory: the reload fails, the
        // loaded versions keep serving, and the index says why beside them; a good load
        // clears it.
        std::fs::create_dir_all(dir.join("beta/3")).unwrap();
        std::fs::write(dir.join("beta/3/model.json"), br#"{"layers": "hostile"}"#).unwrap();
        let r = c
            .post_json("/v2/repository/models/beta/load", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 500);
        let path_named = |s: &str| s.contains("beta/3");
        assert!(
            path_named(r.json()["error"].as_str().unwrap()),
            "{}",
            r.json()
        );
        // Version 2 was unloaded above; version 1 still serves.
        let r = c
            .post_json("/v2/models/beta/versions/1/infer", &[], &body)
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.json());
        let beta_rows = |v: Value| -> Vec<Value> {
            v.as_array()
                .unwrap()
                .iter()
                .filter(|e| e["name"] == "beta")
                .cloned()
                .collect()
        };
        let r = c
            .post_json("/v2/repository/index", &[], &json!({}))
            .await
            .unwrap();
        let rows = beta_rows(r.json());
        assert_eq!(rows.len(), 1, "{rows:?}");
        for row in &rows {
            assert_eq!(row["state"], "READY");
            let reason = row["reason"].as_str().unwrap();
            assert!(
                reason.contains("the last load failed") && path_named(reason),
                "{reason}"
            );
        }
        std::fs::remove_dir_all(dir.join("beta/3")).unwrap();
        let r = c
            .post_json("/v2/repository/models/beta/load", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let r = c
            .post_json("/v2/repository/index", &[], &json!({}))
            .await
            .unwrap();
        assert!(beta_rows(r.json()).iter().all(|e| e["reason"] == ""));
        let r = c
            .post_json("/v2/repository/models/..%2Fetc/load", &[], &json!({}))
            .await
            .unwrap();
        assert!(r.status == 400 || r.status == 404, "{}", r.status);
        let r = c
            .post_json(
                "/v2/repository/models/beta/load",
                &[],
                &json!({"parameters": {"version": "x"}}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 400);
        let r = c
            .request("POST", "/v2/repository/models/beta/load", &[], b"[1")
            .await
            .unwrap();
        assert_eq!(r.status, 400);
        srv.shutdown().await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn startup_fails_on_a_broken_bundle() {
    let (dir, _) = model_dir("broken");
    std::fs::write(dir.join("zeta.json"), b"{}").unwrap();
    rt().block_on(async {
        let err = glassbox_serve::bind(ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..dir_config(&dir)
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("zeta.json"), "{err}");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_and_unload_under_traffic_drop_no_request() {
    let (dir, models) = model_dir("traffic");
    rt().block_on(async {
        let mut cfg = dir_config(&dir);
        cfg.batching.max_delay = Duration::from_millis(1);
        let srv = Arc::new(TestServer::start(cfg).await);
        let x = sample(6, 8);
        let want1 = naive_probabilities(&models[1], &x);
        let want2 = naive_probabilities(&models[2], &x);
        let stop = Arc::new(AtomicBool::new(false));

        // Churn: unload/load version 2 and reload the whole model, a bounded number of times.
        let churn = {
            let srv = srv.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut c = srv.client().await;
                for i in 0..30 {
                    let (path, body) = match i % 3 {
                        0 => (
                            "/v2/repository/models/beta/unload",
                            json!({"parameters": {"version": 2}}),
                        ),
                        1 => (
                            "/v2/repository/models/beta/load",
                            json!({"parameters": {"version": 2}}),
                        ),
                        _ => ("/v2/repository/models/beta/load", json!({})),
                    };
                    let r = c.post_json(path, &[], &body).await.unwrap();
                    assert_eq!(r.status, 200, "{path}: {}", r.text());
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
                stop.store(true, Ordering::Relaxed);
            })
        };

        // Traffic: 8 connections alternate between version 1 (always loaded) and version 2
        // (coming and going), bounded to 400 requests each.
        let mut workers = Vec::new();
        for w in 0..8 {
            let srv = srv.clone();
            let stop = stop.clone();
            let (x, want1, want2) = (x.clone(), want1.clone(), want2.clone());
            workers.push(tokio::spawn(async move {
                let mut c = srv.client().await;
                let body = infer_body("input", &[1, 6], &x);
                let (mut ok1, mut ok2, mut gone2) = (0u32, 0u32, 0u32);
                for i in 0..400 {
                    if stop.load(Ordering::Relaxed) && i > 20 {
                        break;
                    }
                    let v2 = (i + w) % 2 == 0;
                    let path = if v2 {
                        "/v2/models/beta/versions/2/infer"
                    } else {
                        "/v2/models/beta/versions/1/infer"
                    };
                    let r = c
                        .post_json(path, &[], &body)
                        .await
                        .expect("connection stays up");
                    match (v2, r.status) {
                        (false, 200) => {
                            assert!(close(&probs_of(&r.json()), &want1));
                            ok1 += 1;
                        }
                        (true, 200) => {
                            assert!(close(&probs_of(&r.json()), &want2));
                            ok2 += 1;
                        }
                        (true, 404) => {
                            assert!(r.json()["error"].as_str().unwrap().contains("version '2'"));
                            gone2 += 1;
                        }
                        (_, s) => panic!("{path} answered {s}: {}", r.text()),
                    }
                }
                (ok1, ok2, gone2)
            }));
        }
        churn.await.unwrap();
        let (mut ok1, mut ok2) = (0, 0);
        for w in workers {
            let (a, b, _) = w.await.unwrap();
            ok1 += a;
            ok2 += b;
        }
        assert!(
            ok1 > 0 && ok2 > 0,
            "traffic reached both versions ({ok1}, {ok2})"
        );
        // Every version-1 request succeeded (asserted above) and the server still answers.
        let mut c = srv.client().await;
        let r = c
            .get("/v2/models/beta/versions/2/ready", &[])
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        Arc::try_unwrap(srv)
            .ok()
            .expect("sole owner")
            .shutdown()
            .await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unload_waits_for_in_flight_requests() {
    rt().block_on(async {
        let slow = Instrumented::new(
            MlpClassifier::random(&[6], &[], 3, 5),
            Duration::from_millis(150),
        );
        let mut cfg = ServerConfig::default().with_model("slow", 1, slow.clone());
        cfg.batching.enabled = false;
        cfg.compute_threads = 2;
        let srv = Arc::new(TestServer::start(cfg).await);
        let x = sample(6, 1);
        let want = naive_probabilities(&slow.inner, &x);
        let mut inflight = Vec::new();
        for _ in 0..6 {
            let srv = srv.clone();
            let x = x.clone();
            inflight.push(tokio::spawn(async move {
                let mut c = srv.client().await;
                c.post_json(
                    "/v2/models/slow/infer",
                    &[],
                    &infer_body("input", &[1, 6], &x),
                )
                .await
                .unwrap()
            }));
        }
        // Unload only once all six requests are accepted: each is either queued or started.
        let mut c = srv.client().await;
        let t0 = std::time::Instant::now();
        loop {
            let text = c.get("/metrics", &[]).await.unwrap().text();
            let queued: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("glassbox_queue_depth{model=\"slow\",version=\"1\"} "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if queued + slow.batches.lock().unwrap().len() >= 6 {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "requests never arrived"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let r = c
            .post_json("/v2/repository/models/slow/unload", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        // New requests see the model gone; the accepted ones all complete.
        let r = c
            .post_json(
                "/v2/models/slow/infer",
                &[],
                &infer_body("input", &[1, 6], &x),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 400);
        for h in inflight {
            let r = h.await.unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            assert!(close(&probs_of(&r.json()), &want));
        }
        // In-memory models can be loaded back.
        let r = c
            .post_json("/v2/repository/models/slow/load", &[], &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            c.get("/v2/models/slow/ready", &[]).await.unwrap().status,
            200
        );
        Arc::try_unwrap(srv)
            .ok()
            .expect("sole owner")
            .shutdown()
            .await;
    });
}
