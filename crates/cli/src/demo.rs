//! `glassbox demo`: train a small CNN on the bundled 8×8 digits with a live progress bar,
//! evaluate it, explain sample predictions (Integrated Gradients, Grad-CAM, occlusion,
//! Kernel SHAP), run explanation checks (randomisation sanity check, deletion curves),
//! extract surrogate rules, save the bundle and write `DIR/report.html`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use glassbox::data::split::stratified_train_test_split;
use glassbox::eval::classification_metrics;
use glassbox::metrics::CvScores;
use glassbox::{to_f32, to_f64, Bundle, ModelSpec, OptimizerKind, Targets};
use ndarray::Axis;

use crate::error::{failure, CliResult};
use crate::input::{data_dir, load_table};
use crate::report_build::{explain_samples, rules_section, DemoReport};
use crate::train::{fit_rows, subset_targets, Hyper};

/// Flags of `glassbox demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder for `report.html` and `model.gbx`.
    #[arg(long, default_value = "glassbox-demo", value_parser = crate::path_arg)]
    pub out: PathBuf,
    /// Folder of the bundled data (default: `./data` or the repository's `data/`).
    #[arg(long, value_parser = crate::path_arg)]
    pub data_dir: Option<PathBuf>,
    /// Maximum training epochs.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Folds of the cross-validation summary (0 to skip).
    #[arg(long, default_value_t = 3)]
    pub cv: usize,
    /// Seed of initialisation, splits and shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Runs `glassbox demo`.
pub fn run(a: DemoArgs) -> CliResult<()> {
    let started = Instant::now();
    let dir = data_dir(a.data_dir.as_deref())?;
    let path = dir.join("tabular").join("digits.csv");
    let table = load_table(&path)?;
    let pixels: Vec<String> = table
        .column_names()
        .into_iter()
        .filter(|c| *c != "target")
        .map(str::to_string)
        .collect();
    let refs: Vec<&str> = pixels.iter().map(String::as_str).collect();
    if pixels.len() != 64 {
        return Err(failure(format!(
            "{}: expected 64 pixel columns, found {}",
            path.display(),
            pixels.len()
        )));
    }
    let x = table.to_array(&refs)?.mapv(|v| v / 16.0);
    let labels: Vec<usize> = table
        .to_array(&["target"])?
        .column(0)
        .iter()
        .map(|&v| v as usize)
        .collect();
    let classes: Vec<String> = (0..10).map(|c| c.to_string()).collect();
    let targets = Targets::Classes {
        labels: labels.clone(),
        n_classes: 10,
    };
    let (train_idx, test_idx) = stratified_train_test_split(&labels, 0.2, a.seed)?;
    let x_train = x.select(Axis(0), &train_idx);
    let x_test = x.select(Axis(0), &test_idx);
    let y_test: Vec<usize> = test_idx.iter().map(|&i| labels[i]).collect();

    let h = Hyper {
        spec: ModelSpec::Cnn(vec![16, 32]),
        epochs: a.epochs.max(1),
        batch_size: 32,
        lr: 2e-3,
        optimizer: OptimizerKind::Adam,
        val_split: 0.1,
        patience: 4,
        seed: a.seed,
    };
    let arch = h.spec.resolve(&[1, 8, 8], 10)?;
    eprintln!(
        "glassbox demo: {} on {} ({} train, {} test images)",
        arch.describe(),
        path.display(),
        train_idx.len(),
        test_idx.len()
    );
    let train_started = Instant::now();
    let (net, history) = fit_rows(
        &arch,
        &x_train,
        &subset_targets(&targets, &train_idx),
        &h,
        false,
    )?;
    let train_secs = train_started.elapsed().as_secs_f64();

    let proba = to_f64(net.predict_proba(&to_f32(x_test.view()))?.view());
    let metrics = classification_metrics(&y_test, &proba, &classes)?;
    println!(
        "test accuracy: {:.2}% ({} of {} digits), macro F1 {:.4}",
        100.0 * metrics.accuracy,
        (metrics.accuracy * y_test.len() as f64).round(),
        y_test.len(),
        metrics.f1_macro
    );

    let cv = if a.cv >= 2 {
        eprintln!(
            "cross-validation: {}-fold on the training split (8 epochs each)",
            a.cv
        );
        let folds = glassbox::data::split::StratifiedKFold::new(a.cv)
            .shuffled(a.seed)
            .split(&train_idx.iter().map(|&i| labels[i]).collect::<Vec<_>>())?;
        let mut scores = Vec::new();
        let cv_h = Hyper {
            epochs: 8,
            val_split: 0.0,
            ..h.clone()
        };
        let t_train = subset_targets(&targets, &train_idx);
        for (k, fold) in folds.iter().enumerate() {
            let (net_k, _) = fit_rows(
                &arch,
                &x_train.select(Axis(0), &fold.train),
                &subset_targets(&t_train, &fold.train),
                &cv_h,
                true,
            )?;
            let predicted = net_k.predict(&to_f32(x_train.select(Axis(0), &fold.test).view()))?;
            let truth: Vec<usize> = fold.test.iter().map(|&i| labels[train_idx[i]]).collect();
            let s = glassbox::metrics::accuracy(&truth, &predicted)?;
            eprintln!("  fold {}/{}: accuracy {:.4}", k + 1, a.cv, s);
            scores.push(s);
        }
        let cv = CvScores::from_scores(scores);
        println!(
            "cross-validation accuracy: {:.4} ± {:.4} ({} folds)",
            cv.mean, cv.std, a.cv
        );
        Some(cv)
    } else {
        None
    };

    eprintln!(
        "explaining sample predictions (Integrated Gradients, Grad-CAM, Kernel SHAP; occlusion in the deletion curves)..."
    );
    let explained = explain_samples(
        &net, &arch, &x_train, &x_test, &y_test, &proba, &classes, a.seed,
    )?;
    for c in &explained.checks.sanity {
        println!(
            "sanity check ({}): Spearman(trained, randomised) = {:.3} → {}",
            c.method,
            c.spearman,
            if c.passed { "passed" } else { "FAILED" }
        );
    }
    for curve in &explained.checks.curves {
        for s in &curve.series {
            println!("deletion AUC ({}): {:.4}", s.name, s.area());
        }
    }
    let rules = rules_section(&net, &x_train, &x_test, &pixels, &classes)?;
    println!(
        "surrogate rules: {} rules, fidelity {:.1}% on the test set",
        rules.rules.len(),
        100.0 * rules.fidelity
    );

    std::fs::create_dir_all(&a.out)
        .map_err(|e| failure(format!("{}: cannot create folder: {e}", a.out.display())))?;
    let model_path = a.out.join("model.gbx");
    let mut bundle = Bundle::from_images(&net, classes.clone(), 16.0)?
        .with_target("target")
        .with_history(history.clone())
        .with_metric("test_accuracy", metrics.accuracy)
        .with_metric("test_f1_macro", metrics.f1_macro)
        .with_metadata("data", path.display().to_string())
        .with_metadata(
            "hyper",
            serde_json::to_string(&h).expect("settings serialise"),
        );
    if let Some(cv) = &cv {
        bundle = bundle
            .with_metric("cv_accuracy_mean", cv.mean)
            .with_metric("cv_accuracy_std", cv.std);
    }
    bundle.save(&model_path)?;

    let report = DemoReport {
        data_path: path.display().to_string(),
        arch: &arch,
        net: &net,
        history: &history,
        train_secs,
        n_train: train_idx.len(),
        n_test: test_idx.len(),
        metrics: &metrics,
        cv: cv.as_ref(),
        explained,
        rules,
        x_test: &x_test,
        y_test: &y_test,
        pixels: &pixels,
    }
    .build()?;
    let report_path = report.write_html(a.out.join("report.html"))?;
    println!("model bundle: {}", model_path.display());
    println!("report: {}", report_path.display());
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
