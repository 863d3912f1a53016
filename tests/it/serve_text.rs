//! Text models over the Open Inference Protocol, end to end on loopback: the tiny BERT
//! classifier and tiny GPT-2 of `tests/reference/transformers`, loaded through the bundle
//! loader from their Hugging Face directories. Probabilities are checked against
//! transformers' logits (softmax) and `TextClassifier::predict_proba`; LIG scores against
//! Captum; greedy generation against transformers' greedy text.

use crate::serve_support;

use glassbox::serve::ServeBundles;
use glassbox::text::TextClassifier;
use glassbox::TextGenerator;
use glassbox_hf::{Decoding, GenerateOptions};
use glassbox_serve::{ExplainLimits, ServerConfig};
use glassbox_testkit::{json_f64, reference_json, reference_path};
use serde_json::{json, Value};
use serve_support::*;

fn config() -> ServerConfig {
    let bert = reference_path("transformers/bert_tiny");
    let gpt = reference_path("transformers/gpt2_tiny");
    ServerConfig::default()
        .with_bundle("bert", bert)
        .unwrap()
        .with_bundle("gpt", gpt)
        .unwrap()
}

fn texts() -> Vec<String> {
    let r = reference_json("transformers/bert_tiny/reference.json");
    r["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A Triton binary-extension request body with one BYTES input.
fn binary_body(input: &str, shape: &[usize], elements: &[&[u8]]) -> (Vec<u8>, String) {
    let mut bin = Vec::new();
    for e in elements {
        bin.extend_from_slice(&(e.len() as u32).to_le_bytes());
        bin.extend_from_slice(e);
    }
    let head = json!({"inputs": [{"name": input, "shape": shape, "datatype": "BYTES",
        "parameters": {"binary_data_size": bin.len()}}]})
    .to_string();
    let len = head.len().to_string();
    let mut body = head.into_bytes();
    body.extend_from_slice(&bin);
    (body, len)
}

#[test]
fn text_infer_json_and_binary_match_transformers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = TestServer::start(config()).await;
        let mut c = s.client().await;
        let texts = texts();
        let n = texts.len();
        let meta = c.get("/v2/models/bert", &[]).await.unwrap().json();
        assert_eq!(meta["inputs"][0]["datatype"], "BYTES");
        assert_eq!(meta["explain_methods"], json!(["lig", "occlusion"]));

        let req = json!({"inputs": [{"name": "text", "shape": [n], "datatype": "BYTES", "data": texts}]});
        let r = c.post_json("/v2/models/bert/infer", &[], &req).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let body = r.json();
        let probs = f64s(&body["outputs"][0]["data"]);
        assert_eq!(body["outputs"][0]["shape"], json!([n, 3]));

        // Independent reference: softmax of transformers' logits.
        let reference = reference_json("transformers/bert_tiny/reference.json");
        let logits = json_f64(&reference["logits"]);
        let expected: Vec<f64> = logits.chunks(3).flat_map(softmax).collect();
        glassbox_testkit::assert_close("probabilities vs transformers", &probs, &expected, 1e-4);
        // And the library's own classifier, element for element.
        let clf = TextClassifier::load(reference_path("transformers/bert_tiny")).unwrap();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let own: Vec<f64> = clf
            .predict_proba(&refs)
            .unwrap()
            .concat()
            .iter()
            .map(|&p| f64::from(p))
            .collect();
        glassbox_testkit::assert_close("probabilities vs predict_proba", &probs, &own, 1e-6);
        let classes: Vec<i64> = body["outputs"][1]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        for (i, &k) in classes.iter().enumerate() {
            let row = &expected[i * 3..i * 3 + 3];
            let best = (0..3).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            assert_eq!(k as usize, best);
            assert_eq!(body["outputs"][2]["data"][i], json!(clf.labels()[best]));
        }

        // The same texts in Triton's binary form, shape [n, 1].
        let elements: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
        let (bin, len) = binary_body("text", &[n, 1], &elements);
        let h = [("Inference-Header-Content-Length", len.as_str())];
        let r = c.request("POST", "/v2/models/bert/infer", &h, &bin).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(f64s(&r.json()["outputs"][0]["data"]), probs);

        // Invalid UTF-8 in element 1: a 400 naming the input and the element.
        let (bin, len) = binary_body("text", &[2], &[b"fine", &[0x66, 0xc3, 0x28]]);
        let h = [("Inference-Header-Content-Length", len.as_str())];
        let r = c.request("POST", "/v2/models/bert/infer", &h, &bin).await.unwrap();
        assert_eq!(r.status, 400);
        assert!(r.text().contains("'text'") && r.text().contains("element 1 is not valid UTF-8"), "{}", r.text());

        // Over-length: a 400 naming the input and the limit, unless truncation is asked for.
        let long = "word ".repeat(200);
        let req = json!({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [long]}]});
        let r = c.post_json("/v2/models/bert/infer", &[], &req).await.unwrap();
        assert_eq!(r.status, 400);
        let e = r.text();
        assert!(e.contains("'text'") && e.contains("limit of 64 tokens") && e.contains("truncation"), "{e}");
        let mut req = req;
        req["parameters"] = json!({"truncation": true});
        let r = c.post_json("/v2/models/bert/infer", &[], &req).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());

        // Numbers to a text model, text to a wrong shape: typed 400s.
        let req = json!({"inputs": [{"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]}]});
        let r = c.post_json("/v2/models/bert/infer", &[], &req).await.unwrap();
        assert_eq!(r.status, 400);
        assert!(r.text().contains("BYTES"), "{}", r.text());
        let req = json!({"inputs": [{"name": "text", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}]});
        let r = c.post_json("/v2/models/bert/infer", &[], &req).await.unwrap();
        assert_eq!(r.status, 400);
        assert!(r.text().contains("[n] or [n, 1]"), "{}", r.text());
        s.shutdown().await;
    });
}

fn char_slice(text: &str, (a, b): (usize, usize)) -> String {
    text.chars().skip(a).take(b - a).collect()
}

#[test]
fn text_explain_returns_tokens_offsets_and_captum_scores() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut cfg = config();
        cfg.explain = ExplainLimits {
            max_rows: 2,
            max_evaluations: 64,
            ..ExplainLimits::default()
        };
        let s = TestServer::start(cfg).await;
        let mut c = s.client().await;
        let reference = reference_json("transformers/bert_tiny/reference.json");
        let case = &reference["layer_integrated_gradients"][0];
        let text = case["text"].as_str().unwrap();
        let target = case["target"].as_u64().unwrap();
        let req = json!({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [text]}],
            "parameters": {"method": "lig", "target": target, "n_steps": 50}});
        let r = c.post_json("/v2/models/bert/explain", &[], &req).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let e = &r.json()["explanations"][0];
        assert_eq!(e["method"], "lig");
        assert_eq!(e["target"], json!(target));
        let scores = f64s(&e["scores"]);
        let expected = json_f64(&case["token_scores"]);
        let scale = expected.iter().fold(0f64, |m, v| m.max(v.abs()));
        let rel: Vec<f64> = scores.iter().map(|v| v / scale).collect();
        let rel_expected: Vec<f64> = expected.iter().map(|v| v / scale).collect();
        glassbox_testkit::assert_close("LIG scores vs Captum (relative)", &rel, &rel_expected, 1e-4);
        assert!((e["delta"].as_f64().unwrap() - json_f64(&case["delta"])[0]).abs() < 1e-4);
        assert_eq!(e["baseline"][0], "[CLS]");
        assert_eq!(e["baseline"][1], "[PAD]");
        check_offsets(text, e);

        // Occlusion on both models, targets predicted; offsets index the text.
        for (model, input) in [("bert", "text"), ("gpt", "text_input")] {
            let texts = ["Free money!!! Click here", "Caf\u{e9} prices in \u{6771}\u{4eac} rose"];
            let req = json!({"inputs": [{"name": input, "shape": [2], "datatype": "BYTES", "data": texts}],
                "parameters": {"method": "occlusion"}});
            let r = c
                .post_json(&format!("/v2/models/{model}/explain"), &[], &req)
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{model}: {}", r.text());
            let body = r.json();
            for (i, t) in texts.iter().enumerate() {
                let e = &body["explanations"][i];
                assert_eq!(e["method"], "occlusion");
                assert!(e["delta"].is_null());
                check_offsets(t, e);
            }
        }

        // Budgets: steps above the evaluation limit, too many rows, unknown options.
        let ask = |params: Value, n: usize| {
            json!({"inputs": [{"name": "text", "shape": [n], "datatype": "BYTES", "data": vec!["hi"; n]}],
                "parameters": params})
        };
        for (req, needle) in [
            (ask(json!({"method": "lig", "n_steps": 100}), 1), "n_steps = 100 exceeds the server's limit of 64 (set by --explain-max-evaluations)"),
            (ask(json!({"method": "lig"}), 3), "rows = 3 exceeds the server's limit of 2"),
            (ask(json!({"method": "occlusion", "window": 2}), 1), "'window'"),
            (ask(json!({"method": "shap"}), 1), "unknown method 'shap'"),
        ] {
            let r = c.post_json("/v2/models/bert/explain", &[], &req).await.unwrap();
            assert_eq!(r.status, 400, "{}", r.text());
            assert!(r.text().contains(needle), "{needle}: {}", r.text());
        }
        let m = c.get("/metrics", &[]).await.unwrap().text();
        assert!(m.contains("glassbox_explanation_duration_seconds_count{model=\"bert\",method=\"lig\"} 1"), "{m}");
        s.shutdown().await;
    });
}

/// Every non-special token's offsets index the text, in order; special tokens are (0, 0).
fn check_offsets(text: &str, e: &Value) {
    let tokens = e["tokens"].as_array().unwrap();
    let offsets = e["offsets"].as_array().unwrap();
    assert_eq!(tokens.len(), offsets.len());
    assert_eq!(tokens.len(), e["scores"].as_array().unwrap().len());
    let n_chars = text.chars().count();
    let mut last = 0;
    let mut covered = 0;
    for (t, o) in tokens.iter().zip(offsets) {
        let (a, b) = (
            o[0].as_u64().unwrap() as usize,
            o[1].as_u64().unwrap() as usize,
        );
        if a == b {
            continue;
        }
        // Byte-level BPE splits one character into several tokens with the same offsets.
        assert!(
            a >= last && b <= n_chars && a < b,
            "{t} at {a}..{b} in {text:?}"
        );
        let piece = char_slice(text, (a, b));
        let t = t
            .as_str()
            .unwrap()
            .trim_start_matches("##")
            .replace('\u{120}', " ");
        assert!(
            // BERT's tokenizer lowercases and strips accents; GPT-2's marks spaces as 'Ġ'.
            piece.trim().to_lowercase() == t.trim().to_lowercase()
                || !piece.is_ascii()
                || !t.is_ascii()
                || t == "[UNK]",
            "token {t:?} vs text {piece:?}"
        );
        covered += 1;
        last = a;
    }
    assert!(covered > 0);
}

#[test]
fn generate_matches_transformers_greedy_and_streams_the_same_text() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = TestServer::start(config()).await;
        let mut c = s.client().await;
        let reference = reference_json("transformers/gpt2_tiny/reference.json");
        let gpt = TextGenerator::from_dir(reference_path("transformers/gpt2_tiny")).unwrap();
        for case in reference["cases"].as_array().unwrap() {
            let prompt = case["prompt"].as_str().unwrap();
            let req = json!({"text_input": prompt, "parameters": {"max_new_tokens": 20}});
            let r = c.post_json("/v2/models/gpt/generate", &[], &req).await.unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            let body = r.json();
            assert_eq!(body["model_name"], "gpt");
            assert_eq!(body["model_version"], "1");
            let text = body["text_output"].as_str().unwrap().to_string();
            assert_eq!(text, case["greedy_text"].as_str().unwrap(), "{prompt}");
            let own = gpt
                .generate(prompt, &GenerateOptions { max_new_tokens: 20, ..GenerateOptions::default() })
                .unwrap();
            assert_eq!(text, own.text);

            let r = c.post_json("/v2/models/gpt/generate_stream", &[], &req).await.unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(r.header("content-type"), Some("text/event-stream"));
            let events = sse_events(&r.text());
            assert_eq!(events.len(), 21, "one event per token and a last one");
            let streamed: String = events.iter().map(|e| e["text_output"].as_str().unwrap()).collect();
            assert_eq!(streamed, text);
            assert_eq!(events[20]["details"]["finish_reason"], "length");

            // A stop string from the middle of the greedy text cuts it, streamed or not.
            let cut = text.char_indices().nth(8).unwrap().0;
            let stop: String = text[cut..].chars().take(3).collect();
            let at = text.find(&stop).unwrap();
            let req = json!({"text_input": prompt, "parameters": {"max_new_tokens": 20, "stop": [stop]}});
            let r = c.post_json("/v2/models/gpt/generate", &[], &req).await.unwrap();
            let body = r.json();
            assert_eq!(body["text_output"], json!(text[..at]), "stop {stop:?}");
            assert_eq!(body["details"]["finish_reason"], "stop");
            let r = c.post_json("/v2/models/gpt/generate_stream", &[], &req).await.unwrap();
            let streamed: String = sse_events(&r.text())
                .iter()
                .map(|e| e["text_output"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(streamed, text[..at]);
        }

        // Seeded sampling: the same seed gives the same text, as the library's sampler.
        let req = json!({"text_input": "The meeting", "parameters": {"max_new_tokens": 12, "temperature": 0.8, "top_k": 40, "seed": 7}});
        let a = c.post_json("/v2/models/gpt/generate", &[], &req).await.unwrap().json();
        let b = c.post_json("/v2/models/gpt/generate", &[], &req).await.unwrap().json();
        assert_eq!(a["text_output"], b["text_output"]);
        let opts = GenerateOptions {
            max_new_tokens: 12,
            decoding: Decoding::Sample { temperature: 0.8, top_k: Some(40), top_p: None, seed: 7 },
            stop_ids: gpt.eos_id().into_iter().collect(),
            ..GenerateOptions::default()
        };
        let own = gpt.generate("The meeting", &opts).unwrap();
        if own.ids.last() != gpt.eos_id().as_ref() {
            assert_eq!(a["text_output"], json!(own.text));
        }

        // Typed 400s naming the field.
        for (req, needle) in [
            (json!({"text_input": "Hi", "parameters": {"max_tokens": 3}}), "unknown parameter 'max_tokens'"),
            (json!({"text_input": "Hi", "parameters": {"max_new_tokens": 1000}}), "'max_new_tokens' = 1000 exceeds the server's limit of 256"),
            (json!({"text_input": "Hi", "parameters": {"max_new_tokens": 200}}), "limit of 64"),
            (json!({"text_input": ""}), "'text_input' is empty"),
        ] {
            let r = c.post_json("/v2/models/gpt/generate", &[], &req).await.unwrap();
            assert_eq!(r.status, 400, "{}", r.text());
            assert!(r.text().contains(needle), "{needle}: {}", r.text());
        }
        let r = c.post_json("/v2/models/bert/generate", &[], &json!({"text_input": "Hi"})).await.unwrap();
        assert_eq!(r.status, 400);
        assert!(r.text().contains("does not generate"), "{}", r.text());

        // /infer on the generator: greedy continuation as BYTES text_output.
        let req = json!({"inputs": [{"name": "text_input", "shape": [1, 1], "datatype": "BYTES", "data": ["The meeting is moved to"]}]});
        let r = c.post_json("/v2/models/gpt/infer", &[], &req).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let greedy16: String = reference["cases"][0]["greedy_text"].as_str().unwrap().to_string();
        let out = r.json()["outputs"][0]["data"][0].as_str().unwrap().to_string();
        assert!(greedy16.starts_with(out.trim_end_matches('\u{fffd}')), "{out:?}");

        let m = c.get("/metrics", &[]).await.unwrap().text();
        for needle in [
            "glassbox_time_to_first_token_seconds_count{model=\"gpt\"}",
            "glassbox_token_latency_seconds_count{model=\"gpt\"}",
            "glassbox_generated_tokens_total{model=\"gpt\"}",
        ] {
            assert!(m.contains(needle), "{needle} missing");
        }
        s.shutdown().await;
    });
}

/// The JSON of every `data:` line of an event stream (error events fail the test).
pub fn sse_events(body: &str) -> Vec<Value> {
    assert!(!body.contains("event: error"), "{body}");
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}
