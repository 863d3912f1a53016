//! `glassbox explain --model DIR --text … --method occlusion|shap|lime|rollout`: shapes,
//! offsets into the text, the JSON fields, Kernel SHAP's efficiency, which methods a GPT-2
//! takes, the usage errors, and the text page written by `--out`. (That occlusion equals
//! the direct drop and Kernel SHAP the brute-force Shapley values on bert_tiny is tested in
//! the library: `glassbox/tests/it/text_perturb.rs`.)

use glassbox_testkit::reference_path;
use serde_json::Value;

use super::{fails, json, ok, tmp};

const TEXT: &str = "Free money!!! Click here";

fn dir(name: &str) -> String {
    reference_path(&format!("transformers/{name}"))
        .display()
        .to_string()
}

fn explain(model: &str, method: &str, text: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "explain", "--model", model, "--text", text, "--method", method, "--json",
    ];
    args.extend_from_slice(extra);
    json(&args)
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

/// Every non-special token's span lies in the text, in order, without overlap; special
/// tokens score 0 for perturbation and attention methods; each token carries its
/// feature's score and the features cover exactly the non-special tokens.
#[track_caller]
fn check_tokens_and_features(out: &Value, text: &str) {
    let n_chars = text.chars().count();
    let tokens = out["tokens"].as_array().unwrap();
    let mut prev_end = 0;
    let mut real = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if t["special"].as_bool().unwrap() {
            assert_eq!(t["score"].as_f64().unwrap(), 0.0, "special token {i}");
            continue;
        }
        let (s, e) = (usize_of(&t["start"]), usize_of(&t["end"]));
        assert!(
            s >= prev_end && s < e && e <= n_chars,
            "token {i}: {s}..{e}"
        );
        prev_end = e;
        real.push(i);
    }
    let mut covered: Vec<usize> = Vec::new();
    for f in out["features"].as_array().unwrap() {
        let score = f["score"].as_f64().unwrap();
        assert!(score.is_finite());
        for p in f["tokens"].as_array().unwrap() {
            let p = usize_of(p);
            assert_eq!(tokens[p]["score"].as_f64().unwrap(), score, "token {p}");
            covered.push(p);
        }
    }
    covered.sort_unstable();
    assert_eq!(covered, real);
}

#[test]
fn perturbation_and_attention_methods_give_tokens_offsets_and_scores() {
    let bert = dir("bert_tiny");
    let lig = explain(&bert, "lig", TEXT, &[]);
    let n_tokens = lig["tokens"].as_array().unwrap().len();
    for (method, family) in [
        ("occlusion", "perturbation"),
        ("shap", "perturbation"),
        ("lime", "perturbation"),
        ("rollout", "attention"),
    ] {
        let out = explain(&bert, method, TEXT, &["--seed", "3"]);
        assert_eq!(out["method"], method);
        assert_eq!(out["family"], family);
        assert_eq!(out["task"], "classification");
        assert_eq!(out["text"], TEXT);
        assert_eq!(out["granularity"], "tokens");
        // The same class as LIG (the predicted one) and the same tokens.
        assert_eq!(out["target_index"], lig["target_index"], "{method}");
        assert_eq!(out["tokens"].as_array().unwrap().len(), n_tokens);
        check_tokens_and_features(&out, TEXT);
        assert!(usize_of(&out["evaluations"]) >= 1);
        if method == "rollout" {
            assert!(out.get("output").is_none() && out.get("removal").is_none());
            // Rollout is a product of row-stochastic matrices: non-negative.
            assert!(out["features"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["score"].as_f64().unwrap() >= 0.0));
        } else {
            let p = out["output"].as_f64().unwrap();
            assert!(p > 0.0 && p < 1.0, "{method}: probability {p}");
            assert_eq!(out["removal"], "delete");
            assert_eq!(out["seed"], 3);
        }
        if method == "shap" {
            // Efficiency: the scores add up to f(x) − f(all removed).
            assert!(out["efficiency_gap"].as_f64().unwrap().abs() < 1e-6);
        } else {
            assert!(out.get("efficiency_gap").is_none());
        }
    }
    // The plain form names the method, the class and the delta where there is one.
    let plain = ok(&[
        "explain", "--model", &bert, "--text", TEXT, "--method", "shap",
    ]);
    assert!(
        plain.starts_with("shap (perturbation) of class 'LABEL_"),
        "{plain}"
    );
    assert!(
        plain.contains("efficiency gap") && plain.contains("[CLS]"),
        "{plain}"
    );
}

#[test]
fn words_are_removed_whole_and_named_as_lig_names_them() {
    let bert = dir("bert_tiny");
    let out = explain(&bert, "occlusion", TEXT, &["--words", "sum"]);
    assert_eq!(out["granularity"], "words");
    let words: Vec<&str> = out["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["word"].as_str().unwrap())
        .collect();
    assert_eq!(words, ["Free", "money", "!!!", "Click", "here"]);
    assert_eq!(out["features"].as_array().unwrap().len(), 5);
    check_tokens_and_features(&out, TEXT);
    let lig = explain(&bert, "lig", TEXT, &["--words", "sum", "--steps", "8"]);
    let lig_words: Vec<&str> = lig["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["word"].as_str().unwrap())
        .collect();
    assert_eq!(lig_words, words);
    // Each word's score is its feature's score, and its span is the word's characters.
    let chars: Vec<char> = TEXT.chars().collect();
    for (w, f) in out["words"]
        .as_array()
        .unwrap()
        .iter()
        .zip(out["features"].as_array().unwrap())
    {
        assert_eq!(w["score"], f["score"]);
        let (s, e) = (usize_of(&w["start"]), usize_of(&w["end"]));
        assert_eq!(
            chars[s..e].iter().collect::<String>(),
            w["word"].as_str().unwrap()
        );
    }
}

#[test]
fn gpt2_takes_every_method_but_rollout() {
    let gpt = dir("gpt2_tiny");
    let text = "Hello world, this is";
    let lig = explain(&gpt, "lig", text, &[]);
    for method in ["occlusion", "shap", "lime"] {
        let out = explain(&gpt, method, text, &[]);
        assert_eq!(out["task"], "next_token");
        assert_eq!(out["target_index"], lig["target_index"], "{method}");
        assert_eq!(out["removal"], "replace with <|endoftext|>");
        check_tokens_and_features(&out, text);
    }
    fails(
        &[
            "explain", "--model", &gpt, "--text", text, "--method", "rollout",
        ],
        2,
        &[
            "'rollout'",
            "'--method'",
            "GPT2LMHeadModel",
            "lig, occlusion, shap or lime",
        ],
    );
}

#[test]
fn text_method_usage_errors_name_the_flag() {
    let bert = dir("bert_tiny");
    let base = ["explain", "--model", &bert, "--text", TEXT];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |extra: &[&str], code: i32, needles: &[&str]| {
        let args = with(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&args, code, needles);
    };
    run(
        &["--method", "shap", "--steps", "5"],
        2,
        &["'--steps'", "lig"],
    );
    run(
        &["--method", "lime", "--target", "9"],
        2,
        &["'--target'", "3 outputs"],
    );
    run(
        &["--method", "occlusion", "--faithfulness", "x.json"],
        2,
        &["'--faithfulness'", "'--out'"],
    );
    let bad = tmp("not-a-table.json");
    std::fs::write(&bad, "{\"rows\": 3}").unwrap();
    let page = tmp("bad-table.html");
    run(
        &[
            "--method",
            "occlusion",
            "--out",
            page.to_str().unwrap(),
            "--faithfulness",
            bad.to_str().unwrap(),
        ],
        2,
        &["'--faithfulness'", "not-a-table.json"],
    );
    // rollout is a text method: a bundle's explanation refuses it by name.
    fails(
        &[
            "explain", "--model", &bert, "--data", "x.csv", "--method", "rollout",
        ],
        2,
        &["'rollout'", "--text"],
    );
}

#[test]
fn out_writes_the_text_page_with_every_method_and_the_faithfulness_table() {
    let bert = dir("bert_tiny");
    let page = tmp("text-page.html");
    let printed = ok(&[
        "explain",
        "--model",
        &bert,
        "--text",
        TEXT,
        "--method",
        "lig",
        "--steps",
        "16",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert!(printed.starts_with("lig of class"), "{printed}");
    let html = std::fs::read_to_string(&page).unwrap();
    for m in ["lig", "occlusion", "kernel_shap", "lime", "rollout"] {
        assert!(
            html.contains(&format!("role=\"tabpanel\" data-tx-method=\"{m}\"")),
            "panel {m}"
        );
        assert!(
            html.contains(&format!("data-tx-method=\"{m}\" aria-selected=")),
            "button {m}"
        );
        assert!(
            html.contains(&format!("<tr><td>{m}</td>")),
            "faithfulness row {m}"
        );
    }
    assert!(html.contains("<tr class=\"baseline\"><td>random</td>"));
    assert!(html.contains("16 Gauss–Legendre points"));
    // Self-contained: no address but SVG's namespace, and a policy forbidding the network.
    let addresses = html.matches("http:").count() + html.matches("https:").count();
    assert_eq!(
        addresses,
        html.matches("http://www.w3.org/2000/svg").count()
    );
    assert!(html.contains("default-src 'none'"));
    // A precomputed table replaces the one measured on the text.
    let table = tmp("table.json");
    std::fs::write(
        &table,
        r#"{"rows": [{"method": "lig", "comprehensiveness": 0.123456, "sufficiency": 0.01,
            "deletion_auc": 0.2, "insertion_auc": 0.7, "texts": 100, "seconds_per_text": 0.5},
            {"method": "random", "comprehensiveness": 0.02, "sufficiency": 0.3,
            "deletion_auc": 0.5, "insertion_auc": 0.4, "texts": 100, "seconds_per_text": 0.0}],
            "note": "100 held-out mails"}"#,
    )
    .unwrap();
    let dir_out = tmp("text-page-dir");
    ok(&[
        "explain",
        "--model",
        &bert,
        "--text",
        TEXT,
        "--method",
        "rollout",
        "--out",
        dir_out.to_str().unwrap(),
        "--faithfulness",
        table.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(dir_out.join("explanation.html")).unwrap();
    assert!(
        html.contains("<tr><td>lig</td><td>0.1235</td>"),
        "table from the file"
    );
    assert!(html.contains("100 held-out mails"));
    assert_eq!(
        html.matches("<tr").count() - html.matches("<tr class").count(),
        2
    );
}
