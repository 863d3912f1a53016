//! Hugging Face model directories through the `glassbox` binary: `predict --text` and
//! `evaluate --text-column` with a BertForSequenceClassification, `embed` with
//! all-MiniLM-L6-v2, `generate` with a GPT-2 — each compared with the values transformers
//! and sentence-transformers produced (tests/reference/transformers, ../shared/models) —
//! and the usage errors of models of the wrong kind and of bad flags.

use std::path::PathBuf;

use glassbox_testkit::{assert_close, json_f64, reference_json, reference_path, shared_file};
use serde_json::Value;

use super::{fails, json, ok, tmp};

fn dir(name: &str) -> String {
    reference_path(&format!("transformers/{name}"))
        .display()
        .to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// Row-wise softmax in f64 (independent of the model code).
fn softmax_rows(logits: &[f64], width: usize) -> Vec<f64> {
    logits
        .chunks(width)
        .flat_map(|row| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / s)
        })
        .collect()
}

fn argmax(row: &[f64]) -> usize {
    (0..row.len()).fold(0, |b, i| if row[i] > row[b] { i } else { b })
}

/// A CSV with a quoted `body` column holding `texts` and a `label` column.
fn text_csv(name: &str, texts: &[String], labels: &[String]) -> PathBuf {
    let mut s = String::from("id,body,label\n");
    for (i, (t, l)) in texts.iter().zip(labels).enumerate() {
        s += &format!("{i},\"{}\",{l}\n", t.replace('"', "\"\""));
    }
    let p = tmp(name);
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn predict_and_evaluate_a_bert_text_classifier() {
    let r = reference_json("transformers/bert_tiny/reference.json");
    let texts = strings(&r["texts"]);
    let want = softmax_rows(&json_f64(&r["logits"]), 3);
    let want_labels: Vec<String> = want
        .chunks(3)
        .map(|p| format!("LABEL_{}", argmax(p)))
        .collect();
    let bert = dir("bert_tiny");

    // --text, repeated, with --json: probabilities equal transformers' softmax(logits).
    let mut args = vec!["predict", "--model", &bert, "--json"];
    for t in &texts {
        args.extend(["--text", t.as_str()]);
    }
    let v = json(&args);
    assert_eq!(strings(&v["classes"]), ["LABEL_0", "LABEL_1", "LABEL_2"]);
    let rows = v["predictions"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let probs: Vec<f64> = rows
        .iter()
        .flat_map(|r| json_f64(&r["probabilities"]))
        .collect();
    assert_close("predict --text probabilities", &probs, &want, 1e-4);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["label"].as_str(), Some(want_labels[i].as_str()));
        assert_eq!(row["text"].as_str(), Some(texts[i].as_str()));
    }

    // --data --text-column: the same labels in CSV, with probability columns.
    let csv = text_csv("bert_texts.csv", &texts, &want_labels);
    let out = ok(&[
        "predict",
        "--model",
        &bert,
        "--data",
        csv.to_str().unwrap(),
        "--text-column",
        "body",
        "--proba",
    ]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("row,prediction,proba_LABEL_0,proba_LABEL_1,proba_LABEL_2")
    );
    let got: Vec<(String, Vec<f64>)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[1].to_string(),
                f[2..].iter().map(|x| x.parse().unwrap()).collect(),
            )
        })
        .collect();
    assert_eq!(got.len(), 4);
    for (i, (label, p)) in got.iter().enumerate() {
        assert_eq!(label, &want_labels[i]);
        assert_close(
            "predict --data probabilities",
            p,
            &want[i * 3..i * 3 + 3],
            1e-5,
        );
    }

    // evaluate: the reference's own predicted labels as truth, then one label flipped.
    let mut truth = want_labels.clone();
    truth[0] = if truth[0] == "LABEL_0" {
        "LABEL_1"
    } else {
        "LABEL_0"
    }
    .to_string();
    let csv = text_csv("bert_eval.csv", &texts, &truth);
    let v = json(&[
        "evaluate",
        "--model",
        &bert,
        "--data",
        csv.to_str().unwrap(),
        "--text-column",
        "body",
        "--target",
        "label",
        "--json",
    ]);
    assert_eq!(v["n_samples"].as_u64(), Some(4));
    assert!(
        (v["accuracy"].as_f64().unwrap() - 0.75).abs() < 1e-12,
        "{v}"
    );
    // A label outside id2label names the row, value and column.
    let bad = text_csv("bert_bad.csv", &texts[..1], &["spam".to_string()]);
    fails(
        &[
            "evaluate",
            "--model",
            &bert,
            "--data",
            bad.to_str().unwrap(),
            "--text-column",
            "body",
            "--target",
            "label",
        ],
        1,
        &["bert_bad.csv", "row 1", "'spam'", "'label'", "LABEL_0"],
    );
}

#[test]
fn over_long_texts_fail_with_the_limit_unless_truncated() {
    let bert = dir("bert_tiny");
    let long = "money ".repeat(200);
    fails(
        &["predict", "--model", &bert, "--text", "hi", "--text", &long],
        1,
        &["tokenizer.json", "text 1", "limit of 64", "--truncate"],
    );
    let v = json(&[
        "predict",
        "--model",
        &bert,
        "--text",
        &long,
        "--truncate",
        "--json",
    ]);
    let p = json_f64(&v["predictions"][0]["probabilities"]);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{p:?}");
}

#[test]
fn embed_all_minilm_matches_sentence_transformers() {
    let Some(weights) = shared_file("models/all-MiniLM-L6-v2/model.safetensors") else {
        return;
    };
    let model = weights.parent().unwrap().to_str().unwrap().to_string();
    let refs: Value = serde_json::from_str(
        &std::fs::read_to_string(weights.with_file_name("reference.json")).unwrap(),
    )
    .unwrap();
    let sentences = strings(&refs["sentences"]);
    let mut args = vec!["embed", "--model", model.as_str(), "--json"];
    for s in &sentences {
        args.extend(["--text", s.as_str()]);
    }
    let v = json(&args);
    assert_eq!(v["dim"].as_u64(), Some(384));
    assert_eq!(v["normalized"].as_bool(), Some(true));
    let got: Vec<f64> = v["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(json_f64)
        .collect();
    assert_close("embed --json", &got, &json_f64(&refs["embeddings"]), 1e-4);
}

#[test]
fn generate_reproduces_gpt2_greedy_ids_and_samples_by_seed() {
    let r = reference_json("transformers/gpt2_tiny/reference.json");
    let gpt = dir("gpt2_tiny");
    for case in r["cases"].as_array().unwrap() {
        let prompt = case["prompt"].as_str().unwrap();
        let v = json(&[
            "generate",
            "--model",
            &gpt,
            "--prompt",
            prompt,
            "--max-new-tokens",
            "20",
            "--json",
        ]);
        assert_eq!(ids(&v["prompt_ids"]), ids(&case["input_ids"]), "{prompt}");
        assert_eq!(ids(&v["ids"]), ids(&case["greedy_ids"]), "{prompt}");
        assert_eq!(v["text"], case["greedy_text"], "{prompt}");
        assert_eq!(v["stop"]["reason"], "max_new_tokens");
    }
    // Plain output is the text alone.
    let case = &r["cases"][1];
    let prompt = case["prompt"].as_str().unwrap();
    let text = ok(&[
        "generate",
        "--model",
        &gpt,
        "--prompt",
        prompt,
        "--max-new-tokens",
        "20",
    ]);
    assert_eq!(text.strip_suffix('\n'), case["greedy_text"].as_str());
    // A stop string ends the text before it.
    let greedy = case["greedy_text"].as_str().unwrap();
    let stop = "wor";
    let at = greedy.find(stop).unwrap();
    let v = json(&[
        "generate", "--model", &gpt, "--prompt", prompt, "--stop", stop, "--json",
    ]);
    assert_eq!(v["text"].as_str(), Some(&greedy[..at]));
    assert_eq!(v["stop"]["string"], stop);
    // Seeded sampling: the same seed gives the same ids; they are valid token ids.
    let sample = |seed: &str| {
        json(&[
            "generate",
            "--model",
            &gpt,
            "--prompt",
            prompt,
            "--temperature",
            "0.8",
            "--top-k",
            "50",
            "--top-p",
            "0.95",
            "--seed",
            seed,
            "--ignore-eos",
            "--json",
        ])
    };
    let (a, b) = (sample("7"), sample("7"));
    assert_eq!(a["ids"], b["ids"]);
    assert_eq!(a["decoding"]["method"], "sample");
    assert_eq!(ids(&a["ids"]).len(), 20);
    assert!(ids(&a["ids"]).iter().all(|&i| i < 600));
}

#[test]
fn models_of_the_wrong_kind_and_bad_flags_are_usage_errors() {
    let bert = dir("bert_tiny");
    let gpt = dir("gpt2_tiny");
    fails(
        &["embed", "--model", &gpt, "--text", "x"],
        2,
        &[
            "--model",
            "gpt2_tiny",
            "cannot embed texts",
            "GPT2LMHeadModel",
            "glassbox generate",
        ],
    );
    fails(
        &["generate", "--model", &bert, "--prompt", "x"],
        2,
        &[
            "--model",
            "BertForSequenceClassification",
            "glassbox predict --text",
        ],
    );
    fails(
        &["predict", "--model", &gpt, "--text", "x"],
        2,
        &["cannot classify texts", "GPT2LMHeadModel"],
    );
    let wine = super::data("wine.csv");
    fails(
        &[
            "explain",
            "--model",
            &bert,
            "--data",
            wine.to_str().unwrap(),
            "--method",
            "shap",
        ],
        2,
        &[
            "'glassbox explain'",
            "BertForSequenceClassification",
            "not support",
        ],
    );
    fails(
        &[
            "serve",
            "--model",
            &format!("t={bert}"),
            "--generate-max-new-tokens",
            "0",
        ],
        2,
        &["'--generate-max-new-tokens'", "at least 1"],
    );
    fails(
        &["predict", "--model", &bert],
        2,
        &["--text", "--text-column"],
    );
    fails(
        &[
            "predict",
            "--model",
            &bert,
            "--data",
            wine.to_str().unwrap(),
        ],
        2,
        &["--text-column"],
    );
    fails(
        &[
            "predict",
            "--model",
            &bert,
            "--data",
            wine.to_str().unwrap(),
            "--text-column",
            "nosuch",
        ],
        2,
        &["'nosuch'", "--text-column", "wine.csv"],
    );
    fails(
        &[
            "evaluate",
            "--model",
            &bert,
            "--data",
            wine.to_str().unwrap(),
            "--text-column",
            "a",
        ],
        2,
        &["--target"],
    );
    for (flag, value) in [
        ("--temperature", "0"),
        ("--top-p", "1.5"),
        ("--top-k", "0"),
        ("--max-new-tokens", "0"),
        ("--max-new-tokens", "60"),
        ("--stop", ""),
    ] {
        fails(
            &[
                "generate",
                "--model",
                &gpt,
                "--prompt",
                "Click here to claim",
                flag,
                value,
            ],
            2,
            &[flag],
        );
    }
    fails(
        &[
            "generate",
            "--model",
            &gpt,
            "--prompt",
            &"claim ".repeat(40),
        ],
        1,
        &["limit of 64"],
    );

    // Directories that are not models, or hold an architecture glassbox does not load.
    let empty = tmp("empty_model_dir");
    std::fs::create_dir_all(&empty).unwrap();
    fails(
        &["predict", "--model", empty.to_str().unwrap(), "--text", "x"],
        1,
        &["empty_model_dir", "config.json is missing"],
    );
    let t5 = tmp("t5_model_dir");
    std::fs::create_dir_all(&t5).unwrap();
    std::fs::write(
        t5.join("config.json"),
        r#"{"architectures":["T5ForConditionalGeneration"]}"#,
    )
    .unwrap();
    fails(
        &["generate", "--model", t5.to_str().unwrap(), "--prompt", "x"],
        1,
        &[
            "config.json",
            "`architectures`",
            "T5ForConditionalGeneration",
            "GPT2LMHeadModel",
        ],
    );
    let no_weights = tmp("no_weights_dir");
    std::fs::create_dir_all(&no_weights).unwrap();
    std::fs::copy(
        reference_path("transformers/gpt2_tiny/config.json"),
        no_weights.join("config.json"),
    )
    .unwrap();
    fails(
        &[
            "generate",
            "--model",
            no_weights.to_str().unwrap(),
            "--prompt",
            "x",
        ],
        1,
        &["no_weights_dir", "model.safetensors"],
    );
}
