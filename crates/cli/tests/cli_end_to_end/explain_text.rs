//! `glassbox explain --model DIR --text … --method lig`: token scores of a BERT classifier
//! and of a GPT-2's next token against Captum 0.9's LayerIntegratedGradients
//! (`tests/reference/transformers/{bert_tiny,gpt2_tiny}/reference.json`), words, and the
//! usage errors of the text path.

use glassbox_testkit::{json_f64, reference_json, reference_path};
use serde_json::Value;

use super::{fails, json, ok};

fn dir(name: &str) -> String {
    reference_path(&format!("transformers/{name}"))
        .display()
        .to_string()
}

fn scores(out: &Value) -> Vec<f64> {
    out["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_f64().unwrap())
        .collect()
}

/// `max |a − e| ≤ 1e-4 · max |e|`.
#[track_caller]
fn close_to_captum(what: &str, actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{what}: token count");
    let scale = expected.iter().fold(0f64, |m, e| m.max(e.abs()));
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-4 * scale,
            "{what}: token {i} scores {a}, Captum {e} (max |score| {scale})"
        );
    }
}

fn lig(model: &str, text: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "explain", "--model", model, "--text", text, "--method", "lig", "--json",
    ];
    args.extend_from_slice(extra);
    json(&args)
}

#[test]
fn bert_classifier_scores_match_captum() {
    let reference = reference_json("transformers/bert_tiny/reference.json");
    let bert = dir("bert_tiny");
    for case in reference["layer_integrated_gradients"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let out = lig(&bert, text, &[]);
        assert_eq!(out["method"], "lig");
        assert_eq!(out["task"], "classification");
        assert_eq!(out["layer"], "bert.embeddings");
        assert_eq!(out["steps"], 50);
        assert_eq!(out["target_index"], case["target"]);
        close_to_captum(text, &scores(&out), &json_f64(&case["token_scores"]));
        let delta = out["convergence_delta"].as_f64().unwrap();
        assert!(
            (delta - case["delta"].as_f64().unwrap()).abs() < 1e-4,
            "{delta}"
        );
        // Offsets point into the text: the first real token starts the text.
        let first = &out["tokens"][1];
        assert_eq!(first["special"], false);
        assert_eq!(first["start"], 0);
        assert_eq!(out["tokens"][0]["token"], "[CLS]");
    }
}

#[test]
fn gpt2_next_token_scores_match_captum() {
    let reference = reference_json("transformers/gpt2_tiny/reference.json");
    let gpt = dir("gpt2_tiny");
    for case in reference["cases"].as_array().unwrap() {
        let prompt = case["prompt"].as_str().unwrap();
        let captum = &case["next_token_layer_ig"];
        let out = lig(&gpt, prompt, &[]);
        assert_eq!(out["task"], "next_token");
        assert_eq!(out["layer"], "transformer.wte");
        assert_eq!(out["target_index"], captum["target"]);
        close_to_captum(prompt, &scores(&out), &json_f64(&captum["token_scores"]));
        let delta = out["convergence_delta"].as_f64().unwrap();
        assert!((delta - captum["delta"].as_f64().unwrap()).abs() < 1e-4);
        // An explicit --target gives the same result as the default (the greedy token).
        let target = captum["target"].to_string();
        let again = lig(&gpt, prompt, &["--target", &target]);
        assert_eq!(scores(&again), scores(&out));
    }
}

#[test]
fn words_carry_offsets_and_keep_the_sum() {
    let bert = dir("bert_tiny");
    let text = "Free money!!! Click here to claim your prize";
    let out = lig(&bert, text, &["--words", "sum", "--steps", "20"]);
    assert_eq!(out["steps"], 20);
    assert_eq!(out["word_aggregation"], "sum");
    let chars: Vec<char> = text.chars().collect();
    let words = out["words"].as_array().unwrap();
    let names: Vec<&str> = words.iter().map(|w| w["word"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["Free", "money", "!!!", "Click", "here", "to", "claim", "your", "prize"]
    );
    for w in words {
        let (s, e) = (
            w["start"].as_u64().unwrap() as usize,
            w["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            chars[s..e].iter().collect::<String>(),
            w["word"].as_str().unwrap()
        );
    }
    let word_sum: f64 = words.iter().map(|w| w["score"].as_f64().unwrap()).sum();
    let special_sum: f64 = out["unaligned_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["score"].as_f64().unwrap())
        .sum();
    let token_sum: f64 = scores(&out).iter().sum();
    assert!((word_sum + special_sum - token_sum).abs() < 1e-9);
    // The plain-text form names the target, the delta and every token.
    let plain = ok(&[
        "explain",
        "--model",
        &bert,
        "--text",
        "Free money",
        "--method",
        "lig",
    ]);
    assert!(plain.starts_with("lig of class 'LABEL_"), "{plain}");
    assert!(
        plain.contains("convergence delta") && plain.contains("[CLS]"),
        "{plain}"
    );
}

#[test]
fn text_usage_errors_are_named() {
    let bert = dir("bert_tiny");
    fails(
        &["explain", "--model", &bert, "--text", "x", "--method", "ig"],
        2,
        &[
            "'--method'",
            "'ig'",
            "lig, occlusion, shap, lime or rollout",
        ],
    );
    fails(
        &[
            "explain", "--model", &bert, "--text", "x", "--method", "lig", "--target", "7",
        ],
        2,
        &["'--target'", "3 outputs"],
    );
    fails(
        &[
            "explain", "--model", &bert, "--text", "x", "--method", "lig", "--steps", "0",
        ],
        2,
        &["'--steps'"],
    );
    fails(
        &["explain", "--model", &bert, "--method", "lig"],
        2,
        &["--data", "--text"],
    );
    let long = "word ".repeat(200);
    fails(
        &[
            "explain", "--model", &bert, "--text", &long, "--method", "lig",
        ],
        1,
        &["64"],
    );
    let minilm_like = dir("tokenizers");
    fails(
        &[
            "explain",
            "--model",
            &minilm_like,
            "--text",
            "x",
            "--method",
            "lig",
        ],
        1,
        &["tokenizers"],
    );
}
