//! `glassbox evaluate`: metrics of a bundle on a labelled data file, optionally with K-fold
//! cross-validation of its architecture and training settings.

use std::path::{Path, PathBuf};

use clap::Args;
use glassbox::data::split::{KFold, StratifiedKFold};
use glassbox::eval::{classification_metrics, regression_metrics};
use glassbox::metrics::CvScores;
use glassbox::tabular::{encode_known_target, fit_table, transform_table};
use glassbox::{to_f32, to_f64, Bundle, Network, Preprocessing, Targets, Task};
use ndarray::{Array2, Axis};
use serde_json::{json, Value};

use crate::error::{failure, usage, CliResult};
use crate::input::{load_table, prepare};
use crate::train::{fit_rows, n_outputs, subset_targets, Hyper};

/// Flags of `glassbox evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Model bundle written by `glassbox train` or `glassbox demo`, or a Hugging Face
    /// directory holding a text classifier (`BertForSequenceClassification`).
    #[arg(long, value_parser = crate::path_arg)]
    pub model: PathBuf,
    /// Labelled data (CSV with the target column, or IDX images with labels beside them;
    /// for a text model, a CSV or .csv.gz with `--text-column` and `--target`).
    #[arg(long, value_parser = crate::path_arg)]
    pub data: PathBuf,
    /// The column of `--data` holding the texts (text models).
    #[arg(long, value_name = "COLUMN")]
    pub text_column: Option<String>,
    /// The column of `--data` holding the true labels, named as the model's `id2label`
    /// (text models; a bundle knows its target column).
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Cut texts longer than the model's limit instead of failing on them (text models).
    #[arg(long)]
    pub truncate: bool,
    /// Also cross-validate: retrain the bundle's architecture with its training settings on K folds.
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The training settings stored in a bundle.
pub fn stored_hyper(bundle: &Bundle, path: &Path) -> CliResult<Hyper> {
    let s = bundle.meta.metadata.get("hyper").ok_or_else(|| {
        failure(format!(
            "{}: bundle has no stored training settings",
            path.display()
        ))
    })?;
    serde_json::from_str(s).map_err(|e| {
        failure(format!(
            "{}: stored training settings are invalid: {e}",
            path.display()
        ))
    })
}

/// De-standardised regression predictions.
pub fn regression_values(out: &Array2<f64>, task: &Task) -> Vec<f64> {
    let (mean, std) = match task {
        Task::Regression { mean, std } => (*mean, *std),
        Task::Classification { .. } => (0.0, 1.0),
    };
    out.column(0).iter().map(|v| v * std + mean).collect()
}

fn metrics_json(
    bundle: &Bundle,
    net: &Network,
    x: &Array2<f64>,
    targets: &Targets,
) -> CliResult<Value> {
    let x = to_f32(x.view());
    Ok(match (targets, &bundle.meta.task) {
        (Targets::Classes { labels, .. }, Task::Classification { classes }) => {
            let p = to_f64(net.predict_proba(&x)?.view());
            let m = classification_metrics(labels, &p, classes)?;
            serde_json::to_value(m).expect("metrics serialise")
        }
        (Targets::Values(v), task @ Task::Regression { mean, std }) => {
            let truth: Vec<f64> = v.iter().map(|&t| t as f64 * std + mean).collect();
            let out = to_f64(net.predict_outputs(&x)?.view());
            let m = regression_metrics(&truth, &regression_values(&out, task))?;
            serde_json::to_value(m).expect("metrics serialise")
        }
        _ => return Err(failure("targets do not match the model's task")),
    })
}

fn fold_score(bundle: &Bundle, net: &Network, x: &Array2<f64>, t: &Targets) -> CliResult<f64> {
    let x = to_f32(x.view());
    Ok(match t {
        Targets::Classes { labels, .. } => {
            let pred = net.predict(&x)?;
            glassbox::metrics::accuracy(labels, &pred)?
        }
        Targets::Values(v) => {
            let truth: Vec<f64> = v.iter().map(|&t| t as f64).collect();
            let pred: Vec<f64> = net.predict_outputs(&x)?.column(0).mapv(f64::from).to_vec();
            let _ = bundle;
            glassbox::metrics::r2_score(&truth, &pred)?
        }
    })
}

fn cross_validate(
    bundle: &Bundle,
    path: &Path,
    data: &Path,
    k: usize,
    targets: &Targets,
) -> CliResult<(String, CvScores)> {
    let h = stored_hyper(bundle, path)?;
    let n = match targets {
        Targets::Classes { labels, .. } => labels.len(),
        Targets::Values(v) => v.len(),
    };
    let folds = match targets {
        Targets::Classes { labels, .. } => {
            StratifiedKFold::new(k).shuffled(h.seed).split(labels)?
        }
        Targets::Values(_) => KFold::new(k).shuffled(h.seed).split(n)?,
    };
    let metric = match targets {
        Targets::Classes { .. } => "accuracy",
        Targets::Values(_) => "r2",
    };
    let outputs = n_outputs(&bundle.meta.task);
    let mut scores = Vec::new();
    for (i, fold) in folds.iter().enumerate() {
        let (x_train, t_train, x_test, t_test) = match &bundle.meta.preprocessing {
            Preprocessing::Table { .. } => {
                let table = load_table(data)?;
                let target = bundle
                    .meta
                    .target
                    .as_deref()
                    .ok_or_else(|| failure("bundle has no target column"))?;
                let train_table = table.select_rows(&fold.train)?;
                let test_table = table.select_rows(&fold.test)?;
                let set = fit_table(&train_table, target)?;
                let x_test = transform_table(&test_table, &set.preprocessing)?;
                let t_test = encode_known_target(&test_table, target, &set.task)?;
                (set.x, set.targets, x_test, t_test)
            }
            Preprocessing::Pixels { .. } => {
                let x = prepare(bundle, data)?.x;
                (
                    x.select(Axis(0), &fold.train),
                    subset_targets(targets, &fold.train),
                    x.select(Axis(0), &fold.test),
                    subset_targets(targets, &fold.test),
                )
            }
        };
        let shape = if matches!(bundle.meta.preprocessing, Preprocessing::Table { .. }) {
            vec![x_train.ncols()]
        } else {
            bundle.meta.architecture.input_shape()
        };
        let arch = h.spec.resolve(&shape, outputs)?;
        let (net, _) = fit_rows(&arch, &x_train, &t_train, &h, true)?;
        let s = fold_score(bundle, &net, &x_test, &t_test)?;
        eprintln!("fold {}/{k}: {metric} {s:.4}", i + 1);
        scores.push(s);
    }
    Ok((metric.to_string(), CvScores::from_scores(scores)))
}

/// Runs `glassbox evaluate`.
pub fn run(a: EvaluateArgs) -> CliResult<()> {
    if let Some(k) = a.cv {
        if k < 2 {
            return Err(usage(format!(
                "invalid value '{k}' for '--cv': must be at least 2"
            )));
        }
    }
    let model = crate::models::open_model(&a.model)?;
    if !matches!(model.loaded(), glassbox::LoadedModel::Bundle(_)) {
        let report = crate::text_eval::evaluate(&model, &a)?;
        return print_report(&report, a.json);
    }
    for (flag, given) in [
        ("--text-column", a.text_column.is_some()),
        ("--target", a.target.is_some()),
        ("--truncate", a.truncate),
    ] {
        if given {
            return Err(usage(format!(
                "'{flag}' is for text models (Hugging Face directories); {} is a glassbox \
                 bundle, which knows its target column",
                a.model.display()
            )));
        }
    }
    let (bundle, net) = model.into_bundle()?.into_parts();
    let prepared = prepare(&bundle, &a.data)?;
    let targets = prepared.targets.ok_or_else(|| {
        failure(format!(
            "{}: no target column '{}' to evaluate against",
            a.data.display(),
            bundle.meta.target.as_deref().unwrap_or("labels")
        ))
    })?;
    if let Some(k) = a.cv {
        let n = prepared.x.nrows();
        if k > n {
            return Err(usage(format!(
                "invalid value '{k}' for '--cv': {} has only {n} rows, so at most {n} folds",
                a.data.display()
            )));
        }
    }
    let mut report = metrics_json(&bundle, &net, &prepared.x, &targets)?;
    if let Some(k) = a.cv {
        let (metric, cv) = cross_validate(&bundle, &a.model, &a.data, k, &targets)?;
        report["cv"] = json!({
            "k": k,
            "metric": metric,
            "scores": cv.scores,
            "mean": cv.mean,
            "std": cv.std,
        });
    }
    print_report(&report, a.json)
}

/// Prints an evaluation report: the JSON object, or one metric per line.
pub fn print_report(report: &Value, json: bool) -> CliResult<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report).expect("json"));
        return Ok(());
    }
    let obj = report.as_object().expect("object");
    for key in [
        "n_samples",
        "accuracy",
        "balanced_accuracy",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "log_loss",
        "roc_auc",
        "mse",
        "rmse",
        "mae",
        "r2",
    ] {
        if let Some(v) = obj.get(key) {
            match v.as_f64() {
                Some(f) if key != "n_samples" => println!("{key:<18} {f:.4}"),
                _ => println!("{key:<18} {v}"),
            }
        }
    }
    if let Some(cm) = obj.get("confusion_matrix") {
        println!(
            "confusion matrix (rows = truth, columns = prediction; classes {}):",
            obj["classes"]
        );
        for row in cm.as_array().into_iter().flatten() {
            println!("  {row}");
        }
    }
    if let Some(cv) = obj.get("cv") {
        println!(
            "cross-validation ({} folds): {} {:.4} ± {:.4}",
            cv["k"],
            cv["metric"].as_str().unwrap_or(""),
            cv["mean"].as_f64().unwrap_or(f64::NAN),
            cv["std"].as_f64().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
