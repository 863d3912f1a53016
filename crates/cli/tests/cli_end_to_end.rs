//! End-to-end tests of the `glassbox` binary on real data: breast_cancer, wine, a CSV with
//! missing values and a categorical column derived from iris, the demo, and the error paths
//! (missing file, unknown target column, model of another architecture, usage errors), and
//! Hugging Face model directories (`hf_models`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Hugging Face model directories (`predict --text`, `embed`, `generate`).
#[path = "cli_end_to_end/hf_models.rs"]
mod hf_models;

/// `explain --text --method lig` against Captum.
#[path = "cli_end_to_end/explain_text.rs"]
mod explain_text;

/// `explain --text --method occlusion|shap|lime|rollout` and the text page (`--out`).
#[path = "cli_end_to_end/explain_text_methods.rs"]
mod explain_text_methods;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/tabular")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassbox-cli-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the glassbox binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "glassbox {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("stdout is one JSON object")
}

/// Asserts a one-line error on stderr containing `needles`, the exit code, and no panic.
fn fails(args: &[&str], code: i32, needles: &[&str]) {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "glassbox {args:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

fn train(csv: &Path, target: &str, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--target",
        target,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--epochs",
        "40",
        "--lr",
        "0.003",
    ];
    args.extend_from_slice(extra);
    ok(&args);
}

/// Reads a CSV's column as strings (a direct parse, independent of the data crate).
fn csv_column(path: &Path, column: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let j = header.iter().position(|h| *h == column).unwrap();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').nth(j).unwrap().to_string())
        .collect()
}

fn check_classification_json(v: &Value, n: usize, classes: &[&str]) {
    for key in [
        "accuracy",
        "balanced_accuracy",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "log_loss",
        "roc_auc",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing in {v}"));
        assert!(x.is_finite() && x >= 0.0, "{key} = {x}");
        if key != "log_loss" {
            assert!(x <= 1.0, "{key} = {x}");
        }
    }
    assert_eq!(v["n_samples"].as_u64(), Some(n as u64));
    let got: Vec<&str> = v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(got, classes);
    let cm: Vec<Vec<u64>> = serde_json::from_value(v["confusion_matrix"].clone()).unwrap();
    assert_eq!(cm.len(), classes.len());
    let total: u64 = cm.iter().flatten().sum();
    let diag: u64 = (0..cm.len()).map(|i| cm[i][i]).sum();
    assert_eq!(total, n as u64);
    assert!((v["accuracy"].as_f64().unwrap() - diag as f64 / n as f64).abs() < 1e-12);
    // Balanced accuracy: mean per-class recall from the matrix.
    let bal = (0..cm.len())
        .map(|i| cm[i][i] as f64 / cm[i].iter().sum::<u64>() as f64)
        .sum::<f64>()
        / cm.len() as f64;
    assert!((v["balanced_accuracy"].as_f64().unwrap() - bal).abs() < 1e-12);
}

#[test]
fn breast_cancer_train_evaluate_cv_predict_and_shap() {
    let csv = data("breast_cancer.csv");
    let model = tmp("bc.gbx");
    train(&csv, "target", &model, &[]);
    let m = model.to_str().unwrap();
    let v = json(&[
        "evaluate",
        "--model",
        m,
        "--data",
        csv.to_str().unwrap(),
        "--cv",
        "5",
        "--json",
    ]);
    check_classification_json(&v, 569, &["0", "1"]);
    let cv = &v["cv"];
    let scores: Vec<f64> = serde_json::from_value(cv["scores"].clone()).unwrap();
    assert_eq!(scores.len(), 5);
    let mean = scores.iter().sum::<f64>() / 5.0;
    let std = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
    assert!((cv["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert!((cv["std"].as_f64().unwrap() - std).abs() < 1e-12);
    assert!(mean >= 0.94, "5-fold CV accuracy {mean}");

    // predict agrees with evaluate: accuracy recomputed from the CSV's labels.
    let pred = ok(&[
        "predict",
        "--model",
        m,
        "--data",
        csv.to_str().unwrap(),
        "--proba",
    ]);
    let truth = csv_column(&csv, "target");
    let mut lines = pred.lines();
    assert_eq!(lines.next(), Some("row,prediction,proba_0,proba_1"));
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 569);
    let truth_norm: Vec<String> = truth
        .iter()
        .map(|t| format!("{}", t.parse::<f64>().unwrap()))
        .collect();
    let right = rows
        .iter()
        .zip(&truth_norm)
        .filter(|(r, t)| &r[1] == *t)
        .count();
    assert!((right as f64 / 569.0 - v["accuracy"].as_f64().unwrap()).abs() < 1e-12);
    for r in &rows {
        let p: f64 = r[2].parse::<f64>().unwrap() + r[3].parse::<f64>().unwrap();
        assert!((p - 1.0).abs() < 2e-6);
    }

    // Kernel SHAP rows satisfy efficiency: Σ φ + base_value = model output.
    let e = json(&[
        "explain",
        "--model",
        m,
        "--data",
        csv.to_str().unwrap(),
        "--method",
        "shap",
        "--rows",
        "0,5-6",
        "--json",
    ]);
    assert_eq!(e["method"], "shap");
    assert_eq!(e["feature_names"].as_array().unwrap().len(), 30);
    let rows = e["rows"].as_array().unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["row"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 5, 6]
    );
    for (r, line) in rows.iter().zip([0usize, 5, 6]) {
        let phi: Vec<f64> = serde_json::from_value(r["attributions"].clone()).unwrap();
        assert_eq!(phi.len(), 30);
        let total = phi.iter().sum::<f64>() + r["base_value"].as_f64().unwrap();
        let output = r["output"].as_f64().unwrap();
        assert!(
            (total - output).abs() < 1e-4,
            "efficiency: {total} vs {output}"
        );
        // The explained output is the predicted class's probability as `predict` prints it.
        let t = r["target_index"].as_u64().unwrap() as usize;
        let p: f64 = pred
            .lines()
            .nth(line + 1)
            .unwrap()
            .split(',')
            .nth(2 + t)
            .unwrap()
            .parse()
            .unwrap();
        assert!((p - output).abs() < 1e-5);
        assert_eq!(r["target"], r["prediction"]);
    }
}

#[test]
fn wine_multiclass_evaluate_and_integrated_gradients() {
    let csv = data("wine.csv");
    let model = tmp("wine.gbx");
    train(
        &csv,
        "target",
        &model,
        &["--model", "mlp:32", "--optimizer", "adamw"],
    );
    let m = model.to_str().unwrap();
    let v = json(&[
        "evaluate",
        "--model",
        m,
        "--data",
        csv.to_str().unwrap(),
        "--json",
    ]);
    check_classification_json(&v, 178, &["0", "1", "2"]);
    assert!(v["accuracy"].as_f64().unwrap() > 0.9);
    let e = json(&[
        "explain",
        "--model",
        m,
        "--data",
        csv.to_str().unwrap(),
        "--method",
        "ig",
        "--rows",
        "0,100",
        "--json",
    ]);
    assert_eq!(e["method"], "ig");
    for r in e["rows"].as_array().unwrap() {
        let a: Vec<f64> = serde_json::from_value(r["attributions"].clone()).unwrap();
        assert_eq!(a.len(), 13);
        let d = r["convergence_delta"]
            .as_f64()
            .expect("IG rows carry convergence_delta");
        let diff = r["output_difference"].as_f64().expect("and f(x) - f(0)");
        // The adaptive rule: complete to 1e-4 of f(x) - f(baseline) (1e-3 asked).
        assert!(
            d.abs() <= 1e-3 * diff.abs(),
            "delta {d} for f(x) - f(0) = {diff}"
        );
        let sum: f64 = a.iter().sum();
        assert!(
            (sum - diff - d).abs() < 1e-6 * (1.0 + diff.abs()),
            "{sum} {diff} {d}"
        );
        assert!(r.get("base_value").is_none());
    }
    let rules = ok(&[
        "explain",
        "--model",
        m,
        "--data",
        csv.to_str().unwrap(),
        "--method",
        "rules",
    ]);
    assert!(
        rules.contains("IF ") && rules.contains("fidelity"),
        "{rules}"
    );
}

/// iris with a categorical column (petal size) and missing values in numeric and
/// categorical columns, species names as the target.
fn messy_iris() -> PathBuf {
    let src = std::fs::read_to_string(data("iris.csv")).unwrap();
    let names = ["setosa", "versicolor", "virginica"];
    let mut out =
        String::from("sepal_length,sepal_width,petal_length,petal_width,petal_size,species\n");
    for (i, line) in src.lines().skip(1).filter(|l| !l.is_empty()).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let pl: f64 = f[2].parse().unwrap();
        let size = if pl < 2.5 {
            "small"
        } else if pl < 5.0 {
            "medium"
        } else {
            "large"
        };
        let blank = |k: usize, s: &str| {
            if (i + k) % 13 == 0 {
                String::new()
            } else {
                s.to_string()
            }
        };
        out += &format!(
            "{},{},{},{},{},{}\n",
            blank(0, f[0]),
            blank(3, f[1]),
            blank(6, f[2]),
            f[3],
            blank(9, size),
            names[f[4].parse::<usize>().unwrap()]
        );
    }
    let path = tmp("iris_messy.csv");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn missing_values_and_a_categorical_column() {
    let csv = messy_iris();
    let model = tmp("iris.gbx");
    train(
        &csv,
        "species",
        &model,
        &["--model", "mlp:16", "--batch-size", "16"],
    );
    let m = model.to_str().unwrap();
    let v = json(&[
        "evaluate",
        "--model",
        m,
        "--data",
        csv.to_str().unwrap(),
        "--json",
    ]);
    check_classification_json(&v, 150, &["setosa", "versicolor", "virginica"]);
    assert!(v["accuracy"].as_f64().unwrap() > 0.85, "{}", v["accuracy"]);
    let e = json(&[
        "explain",
        "--model",
        m,
        "--data",
        csv.to_str().unwrap(),
        "--method",
        "shap",
        "--rows",
        "0-2",
        "--json",
    ]);
    let names: Vec<String> = serde_json::from_value(e["feature_names"].clone()).unwrap();
    assert_eq!(
        names.len(),
        4 + 4,
        "4 numeric + one-hot of small/medium/large/missing: {names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.contains("petal_size") && n.contains("medium")),
        "{names:?}"
    );
    for r in e["rows"].as_array().unwrap() {
        let phi: Vec<f64> = serde_json::from_value(r["attributions"].clone()).unwrap();
        let total = phi.iter().sum::<f64>() + r["base_value"].as_f64().unwrap();
        assert!((total - r["output"].as_f64().unwrap()).abs() < 1e-4);
    }
    // An unseen category and a blank at prediction time are handled, not fatal.
    let new = tmp("iris_new.csv");
    std::fs::write(&new, "sepal_length,sepal_width,petal_length,petal_width,petal_size\n5.1,,1.4,0.2,tiny\n6.5,3.0,5.5,2.0,large\n").unwrap();
    let p = ok(&["predict", "--model", m, "--data", new.to_str().unwrap()]);
    assert_eq!(p.lines().count(), 3, "{p}");
    assert!(p.lines().nth(2).unwrap().ends_with("virginica"), "{p}");
}

#[test]
fn errors_are_one_line_with_the_right_exit_code() {
    let wine = data("wine.csv");
    let w = wine.to_str().unwrap();
    fails(
        &["train", "--data", "no/such/file.csv", "--target", "y"],
        1,
        &["no/such/file.csv"],
    );
    fails(
        &["train", "--data", w, "--target", "cultivar"],
        1,
        &["wine.csv", "'cultivar'"],
    );
    fails(
        &["train", "--data", w, "--target", "target", "--epochs", "0"],
        2,
        &["--epochs"],
    );
    fails(
        &[
            "train", "--data", w, "--target", "target", "--model", "resnet",
        ],
        2,
        &["--model", "resnet"],
    );
    fails(
        &[
            "train",
            "--data",
            w,
            "--target",
            "target",
            "--val-split",
            "1.5",
        ],
        2,
        &["--val-split"],
    );
    fails(
        &["evaluate", "--model", "missing.gbx", "--data", w],
        1,
        &["missing.gbx"],
    );
    fails(
        &["evaluate", "--model", w, "--data", w],
        1,
        &["wine.csv", "GBXBUNDL"],
    );
    let out = run(&[
        "explain", "--model", "m.gbx", "--data", w, "--method", "bogus",
    ]);
    assert_eq!(out.status.code(), Some(2));

    // A model file whose weights belong to another architecture.
    use glassbox::{Bundle, BundleMeta, History, ModelSpec, Preprocessing, Task};
    let cnn = ModelSpec::Cnn(vec![4]).resolve(&[1, 4, 4], 2).unwrap();
    let mlp = ModelSpec::Mlp(vec![8]).resolve(&[16], 2).unwrap();
    let net = cnn.build(0).unwrap();
    let mut meta = BundleMeta {
        architecture: cnn,
        task: Task::Classification {
            classes: vec!["a".into(), "b".into()],
        },
        target: Some("target".into()),
        feature_names: (0..16).map(|i| format!("f{i}")).collect(),
        preprocessing: Preprocessing::Pixels { scale: 1.0 },
        history: History::default(),
        metrics: Default::default(),
        metadata: Default::default(),
    };
    let mut bundle = Bundle::new(&net, meta.clone()).unwrap();
    meta.architecture = mlp;
    bundle.meta = meta;
    let path = tmp("other_arch.gbx");
    bundle.save(&path).unwrap();
    fails(
        &["evaluate", "--model", path.to_str().unwrap(), "--data", w],
        1,
        &["other_arch.gbx", "MLP"],
    );
    // A bare weights file (no architecture) is named as such.
    let bare = tmp("weights.bin");
    glassbox::nn::save(&net, &bare).unwrap();
    fails(
        &["predict", "--model", bare.to_str().unwrap(), "--data", w],
        1,
        &["weights.bin", "GBXMODEL"],
    );
    // A corrupted bundle.
    let good = tmp("corrupt.gbx");
    Bundle::new(
        &net,
        BundleMeta {
            architecture: ModelSpec::Cnn(vec![4]).resolve(&[1, 4, 4], 2).unwrap(),
            ..bundle.meta.clone()
        },
    )
    .unwrap()
    .save(&good)
    .unwrap();
    let mut bytes = std::fs::read(&good).unwrap();
    let k = bytes.len() - 3;
    bytes[k] ^= 0x55;
    std::fs::write(&good, bytes).unwrap();
    fails(
        &["evaluate", "--model", good.to_str().unwrap(), "--data", w],
        1,
        &["corrupt.gbx", "checksum"],
    );
}

#[test]
fn demo_trains_explains_and_writes_the_report() {
    let out = tmp("demo");
    let stdout = ok(&[
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "8",
        "--cv",
        "0",
    ]);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("test accuracy:"))
        .expect("accuracy printed");
    let pct: f64 = line["test accuracy:".len()..]
        .trim()
        .split('%')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pct >= 95.0, "{line}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for id in ["training", "evaluation", "rules"] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
    assert!(html.contains("Integrated Gradients") && html.contains("Grad-CAM"));
    let bundle = glassbox::Bundle::load(out.join("model.gbx")).unwrap();
    assert_eq!(bundle.meta.architecture.kind(), "cnn");
    assert!(stdout.contains("report.html"));

    // The demo's own report, rendered in headless Chromium: every image loads, no console
    // message appears, and a screenshot is kept beside the report as an artefact.
    let Some(browser) = glassbox_testkit::chromium::chromium() else {
        return;
    };
    let page = out.join("report.html");
    let n_img = html.matches("<img ").count();
    let seen = browser.render(&page, &["--dump-dom".into()]);
    assert_eq!(
        seen.html_attr("data-images-total"),
        Some(n_img.to_string().as_str()),
        "the report's self-check did not run"
    );
    assert_eq!(seen.html_attr("data-images-failed"), Some("0"));
    assert_eq!(seen.html_attr("data-check"), Some("ok"));
    assert!(seen.console().is_empty(), "console: {:?}", seen.console());
    let shot = out.join("report.png");
    browser.render(
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,5000".into(),
        ],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(
        glassbox_testkit::chromium::png_size(&png).map(|s| s.0),
        Some(1280),
        "the screenshot is a 1280-wide PNG"
    );
    println!("demo report screenshot: {}", shot.display());
}

/// Writes every `step`-th mail of SpamAssassin (body and label) to a small CSV.
fn spam_slice(step: usize) -> Option<PathBuf> {
    use glassbox::data::{read_csv, ColumnType, CsvOptions};
    let path = glassbox_testkit::shared_file("data/text/spam_assassin.csv.gz")?;
    let opts = CsvOptions::default()
        .with_type("body", ColumnType::Text)
        .with_type("label", ColumnType::Categorical);
    let table = read_csv(&path, &opts).unwrap();
    let col = |name: &str| table.column(name).unwrap().as_strings().unwrap().to_vec();
    let (body, label) = (col("body"), col("label"));
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut csv = String::from("body,label\n");
    for i in (0..body.len()).step_by(step) {
        let b = body[i].clone().unwrap_or_default();
        csv.push_str(&format!("{},{}\n", quote(&b), label[i].as_deref().unwrap()));
    }
    let out = tmp("spam_slice.csv");
    std::fs::write(&out, csv).unwrap();
    Some(out)
}

#[test]
fn train_text_writes_a_hugging_face_directory() {
    let Some(csv) = spam_slice(20) else { return };
    let out = tmp("spam-bert");
    let c = csv.to_str().unwrap();
    let o = out.to_str().unwrap();
    let stdout = ok(&[
        "train",
        "--data",
        c,
        "--text-column",
        "body",
        "--target",
        "label",
        "--model",
        "transformer:layers=1,hidden=32,heads=2,max_len=64,vocab=1000",
        "--epochs",
        "1",
        "--out",
        o,
        "--quiet",
    ]);
    assert!(
        stdout.contains("saved") && stdout.contains("val_accuracy"),
        "{stdout}"
    );
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"][0], "BertForSequenceClassification");
    assert_eq!(config["id2label"]["1"], "spam");
    assert_eq!(config["num_hidden_layers"], 1);
    assert_eq!(config["max_position_embeddings"], 64);
    // The directory loads as a Hugging Face model and classifies (no accuracy claim).
    let clf = glassbox::text::TextClassifier::load(&out).unwrap();
    let p = clf
        .predict_proba(&["Dear friend, claim your FREE prize now!!!", ""])
        .unwrap();
    assert!(p
        .iter()
        .all(|r| r.len() == 2 && (r.iter().sum::<f32>() - 1.0).abs() < 1e-5));
    // No temporary directory is left next to it.
    let leftovers = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count();
    assert_eq!(leftovers, 0);

    // Errors name the flag or column at fault.
    let base = [
        "train", "--data", c, "--target", "label", "--out", o, "--quiet",
    ];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    fails(
        &with(&["--text-column", "text", "--model", "transformer"]),
        1,
        &["text"],
    );
    fails(
        &with(&["--text-column", "body", "--model", "mlp:16"]),
        2,
        &["--model"],
    );
    fails(
        &with(&["--text-column", "body", "--model", "transformer:hidden=30"]),
        2,
        &["--model", "heads"],
    );
    fails(&with(&["--model", "transformer"]), 2, &["--text-column"]);
}
