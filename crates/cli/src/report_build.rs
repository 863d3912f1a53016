//! Filling the HTML report of the demo: sample explanations, explanation checks, rules.

use glassbox::eval::ClassificationMetrics;
use glassbox::explain::checks::{deletion_curve, randomisation_check, CurveConfig};
use glassbox::explain::global::{
    accuracy_scorer, permutation_importance, PermutationImportanceConfig,
};
use glassbox::explain::perturbation::{occlusion, Baseline, OcclusionConfig};
use glassbox::explain::shapley::{Background, KernelShap, KernelShapConfig};
use glassbox::explain::surrogate::{GlobalSurrogate, LabelRule, TreeConfig};
use glassbox::gradient::{grad_cam, integrated_gradients};
use glassbox::metrics::CvScores;
use glassbox::nn::Module;
use glassbox::report::{
    AttributionMap, Colormap, CrossValidation, CurveKind, CurveSeries, CvMetric, DatasetSummary,
    ExplanationChecks, FeatureChart, FeatureValue, GrayImage, ImageExplanation, ModelSummary,
    PerturbationCurve, Report, Rule, RuleSet, SanityCheck,
};
use glassbox::{Architecture, History, Network};
use ndarray::{s, Array1, Array2, Axis};

use crate::error::CliResult;

/// Threshold of the randomisation sanity check (mean |Spearman| must be below it).
pub const SANITY_THRESHOLD: f64 = 0.5;
/// Number of test images whose deletion curves are averaged.
pub const CURVE_SAMPLES: usize = 24;

/// Sample explanations, permutation importance and checks.
#[derive(Debug)]
pub struct Explained {
    /// Per-image attribution maps.
    pub images: Vec<ImageExplanation>,
    /// Pixel importance chart.
    pub importance: FeatureChart,
    /// Sanity checks and deletion curves.
    pub checks: ExplanationChecks,
}

fn pick_samples(y_test: &[usize], pred: &[usize], n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for class in 0..10 {
        if let Some(i) = (0..y_test.len()).find(|&i| y_test[i] == class && pred[i] == class) {
            out.push(i);
        }
        if out.len() == n {
            break;
        }
    }
    if let Some(wrong) = (0..y_test.len()).find(|&i| y_test[i] != pred[i]) {
        if out.len() == n {
            out.pop();
        }
        out.push(wrong);
    }
    out
}

fn map(
    method: &str,
    v: &[f64],
    note: Option<String>,
    colormap: Option<Colormap>,
) -> AttributionMap {
    AttributionMap {
        method: method.into(),
        width: 8,
        height: 8,
        values: v.iter().map(|&x| x as f32).collect(),
        colormap,
        note,
    }
}

fn mean_curve(curves: &[(Array1<f64>, Array1<f64>)], name: &str) -> CurveSeries {
    let n = curves.len() as f64;
    let fractions = curves[0].0.to_vec();
    let mut scores = vec![0.0; fractions.len()];
    for (_, s) in curves {
        for (acc, v) in scores.iter_mut().zip(s) {
            *acc += v / n;
        }
    }
    CurveSeries {
        name: name.into(),
        fractions,
        scores,
        auc: None,
    }
}

/// Explains sample test images with four methods and runs the checks.
#[allow(clippy::too_many_arguments)]
pub fn explain_samples(
    net: &Network,
    arch: &Architecture,
    x_train: &Array2<f64>,
    x_test: &Array2<f64>,
    y_test: &[usize],
    proba: &Array2<f64>,
    classes: &[String],
    seed: u64,
) -> CliResult<Explained> {
    let pred = glassbox::eval::argmax_rows(proba);
    let f = net.proba_predictor();
    let layer = arch.gradcam_layer().unwrap_or_default();
    let samples = pick_samples(y_test, &pred, 6);
    let xs = x_test.select(Axis(0), &samples);
    let targets: Vec<usize> = samples.iter().map(|&i| pred[i]).collect();
    let zero = Array2::zeros((1, 64));
    let ig = integrated_gradients(net, xs.view(), zero.view(), &targets)?;
    let cam = grad_cam(net, xs.view(), &targets, &layer)?;
    let occ_cfg = OcclusionConfig {
        sample_shape: vec![1, 8, 8],
        window: vec![1, 2, 2],
        strides: vec![1, 1, 1],
        baseline: Baseline::Scalar(0.0),
        max_batch_rows: 0,
    };
    let shap_cfg = KernelShapConfig {
        n_samples: Some(2048),
        seed,
        ..KernelShapConfig::default()
    };
    let kernel = KernelShap::new(&f, Background::new(zero.clone())?, shap_cfg)?;
    let mut images = Vec::new();
    for (k, &i) in samples.iter().enumerate() {
        let row = xs.slice(s![k..k + 1, ..]);
        let t = targets[k];
        let shap = kernel.explain(row)?.for_output(t)?;
        images.push(ImageExplanation {
            label: format!("test image #{i}"),
            image: GrayImage {
                width: 8,
                height: 8,
                pixels: row.iter().map(|&v| v as f32).collect(),
                value_range: Some((0.0, 1.0)),
                invert: true,
            },
            predicted: classes[t].clone(),
            actual: Some(classes[y_test[i]].clone()),
            confidence: Some(proba[[i, t]]),
            attributions: vec![
                map(
                    "Integrated Gradients",
                    ig.attributions
                        .row(k)
                        .as_slice()
                        .unwrap_or(&ig.attributions.row(k).to_vec()),
                    Some(format!(
                        "δ = {:.1e}, f(x) − f(0) = {:.3}",
                        ig.convergence_delta[k], ig.output_difference[k]
                    )),
                    None,
                ),
                map(
                    "Grad-CAM",
                    &cam.row(k).to_vec(),
                    Some(format!("layer {layer}")),
                    Some(Colormap::Sequential),
                ),
                map(
                    "Kernel SHAP",
                    &shap.row(0).to_vec(),
                    Some("2048 coalitions".into()),
                    None,
                ),
            ],
        });
    }

    // Randomisation sanity check: same method on a re-initialised network.
    let random_net = arch.build(seed.wrapping_add(9_999))?;
    let ig_rand = integrated_gradients(&random_net, xs.view(), zero.view(), &targets)?;
    let cam_rand = grad_cam(&random_net, xs.view(), &targets, &layer)?;
    let mut sanity = Vec::new();
    for (name, a, b, absolute) in [
        (
            "Integrated Gradients (signed)",
            &ig.attributions,
            &ig_rand.attributions,
            false,
        ),
        (
            "Integrated Gradients (|value|)",
            &ig.attributions,
            &ig_rand.attributions,
            true,
        ),
        ("Grad-CAM", &cam, &cam_rand, true),
    ] {
        let rho = randomisation_check(a.view(), b.view(), absolute)?;
        let finite: Vec<f64> = rho.iter().copied().filter(|v| v.is_finite()).collect();
        let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
        sanity.push(SanityCheck {
            method: name.into(),
            spearman: mean,
            threshold: SANITY_THRESHOLD,
            passed: mean.abs() < SANITY_THRESHOLD,
            detail: Some(format!(
                "mean over {} images of Spearman({}trained, {}re-initialised); |IG| with a zero baseline is dominated by the input's ink, so it can stay correlated",
                finite.len(),
                if absolute { "|" } else { "" },
                if absolute { "|" } else { "" }
            )),
        });
    }

    // Deletion curves on more test images: IG, occlusion and a random ranking.
    let m = CURVE_SAMPLES.min(x_test.nrows());
    let xc = x_test.slice(s![0..m, ..]).to_owned();
    let tc: Vec<usize> = pred[..m].to_vec();
    let ig_c = integrated_gradients(net, xc.view(), zero.view(), &tc)?.attributions;
    let mut rng = glassbox::explain::rng::Rng::new(seed ^ 0xdead);
    let rand_c = Array2::from_shape_fn((m, 64), |_| rng.uniform());
    let cfg = CurveConfig {
        steps: 16,
        ..CurveConfig::default()
    };
    let mut series = Vec::new();
    for (name, attrs) in [
        ("Integrated Gradients", Some(&ig_c)),
        ("Occlusion 2×2", None),
        ("random ranking", Some(&rand_c)),
    ] {
        let mut curves = Vec::new();
        for (r, &t) in tc.iter().enumerate() {
            let row = xc.slice(s![r..r + 1, ..]);
            let a = match attrs {
                Some(a) => a.slice(s![r..r + 1, ..]).to_owned(),
                None => occlusion(&f, row, t, &occ_cfg)?,
            };
            let c = deletion_curve(&f, row, a.view(), t, &cfg)?;
            curves.push((c[0].fractions.clone(), c[0].scores.clone()));
        }
        series.push(mean_curve(&curves, name));
    }
    let checks = ExplanationChecks {
        sanity,
        curves: vec![PerturbationCurve {
            kind: CurveKind::Deletion,
            score_label: format!("p(predicted class), mean over {m} test images"),
            series,
        }],
    };

    // Global pixel importance.
    let pi = permutation_importance(
        &f,
        x_test.view(),
        accuracy_scorer(y_test.to_vec()),
        &PermutationImportanceConfig {
            n_repeats: 3,
            seed,
            ..PermutationImportanceConfig::default()
        },
    )?;
    let importance = FeatureChart {
        title: "Permutation importance of pixels".into(),
        description: Some("Drop in test accuracy when one pixel's values are shuffled across images (mean ± std over 3 repeats).".into()),
        value_label: "accuracy drop".into(),
        features: (0..64)
            .map(|j| FeatureValue {
                name: format!("pixel ({}, {})", j / 8, j % 8),
                value: pi.mean[j],
                error: Some(pi.std[j]),
            })
            .collect(),
        max_features: Some(15),
    };
    let _ = x_train;
    Ok(Explained {
        images,
        importance,
        checks,
    })
}

/// Fits a depth-limited surrogate tree to the model's predictions and returns its rules.
pub fn rules_section(
    net: &Network,
    x_train: &Array2<f64>,
    x_test: &Array2<f64>,
    features: &[String],
    classes: &[String],
) -> CliResult<RuleSet> {
    let f = net.proba_predictor();
    let cfg = TreeConfig {
        max_depth: Some(6),
        min_samples_leaf: 5,
        ..TreeConfig::default()
    };
    let surrogate = GlobalSurrogate::fit(&f, x_train.view(), LabelRule::Argmax, &cfg)?;
    let fidelity = surrogate.fidelity(&f, x_test.view())?;
    let mut rs = surrogate.rules(&f, x_train.view())?;
    rs.feature_names = Some(features.to_vec());
    rs.class_names = Some(classes.to_vec());
    let text = rs.to_string();
    let mut rules: Vec<Rule> = text
        .lines()
        .zip(&rs.rules)
        .map(|(line, r)| Rule {
            text: line.split("  (coverage").next().unwrap_or(line).to_string(),
            coverage: r.coverage,
            accuracy: r.accuracy,
        })
        .collect();
    rules.sort_by(|a, b| b.coverage.total_cmp(&a.coverage));
    Ok(RuleSet {
        surrogate: Some(format!(
            "decision tree (depth {}, min 5 samples per leaf)",
            surrogate.tree.depth()
        )),
        fidelity,
        fidelity_data: Some(format!("test set (n = {})", x_test.nrows())),
        rules,
    })
}

/// Everything the demo report shows.
#[derive(Debug)]
pub struct DemoReport<'a> {
    /// The data file.
    pub data_path: String,
    /// The architecture.
    pub arch: &'a Architecture,
    /// The trained network.
    pub net: &'a Network,
    /// Training history.
    pub history: &'a History,
    /// Training time.
    pub train_secs: f64,
    /// Training images.
    pub n_train: usize,
    /// Test images.
    pub n_test: usize,
    /// Test metrics.
    pub metrics: &'a ClassificationMetrics,
    /// Cross-validation accuracy.
    pub cv: Option<&'a CvScores>,
    /// Explanations and checks.
    pub explained: Explained,
    /// Surrogate rules.
    pub rules: RuleSet,
    /// Test rows.
    pub x_test: &'a Array2<f64>,
    /// Test labels.
    pub y_test: &'a [usize],
    /// Pixel names.
    pub pixels: &'a [String],
}

impl DemoReport<'_> {
    /// Assembles the report.
    pub fn build(self) -> CliResult<Report> {
        let (test_metrics, confusion, per_class) = self.metrics.to_report();
        let _ = (self.x_test, self.y_test, self.pixels);
        Ok(Report {
            title: "glassbox demo: a CNN on handwritten digits".into(),
            subtitle: Some(format!(
                "Trained, evaluated and explained on the CPU by `glassbox demo` — test accuracy {:.2}%",
                100.0 * self.metrics.accuracy
            )),
            footer: Some("Generated by glassbox (train → evaluate → explain). Attributions explain the predicted class.".into()),
            dataset: Some(DatasetSummary {
                name: "UCI handwritten digits (8×8, 17 gray levels)".into(),
                input_shape: vec![1, 8, 8],
                classes: self.metrics.classes.clone(),
                n_train: Some(self.n_train as u64),
                n_val: None,
                n_test: Some(self.n_test as u64),
                extra: vec![("file".into(), self.data_path.clone())],
            }),
            model: Some(ModelSummary {
                architecture: self.arch.describe(),
                n_parameters: self.net.num_parameters() as u64,
                training_time_secs: Some(self.train_secs),
                optimizer: Some("Adam (lr 0.002), batch 32, early stopping on validation loss (patience 4)".into()),
                extra: vec![
                    ("epochs run".into(), self.history.epochs.len().to_string()),
                    ("weights kept from epoch".into(), self.history.best_epoch.to_string()),
                ],
            }),
            history: Some(self.history.to_report()),
            test_metrics: Some(test_metrics),
            confusion: Some(confusion),
            per_class,
            cross_validation: self.cv.map(|cv| CrossValidation {
                description: Some(format!(
                    "Stratified {}-fold cross-validation of the same CNN on the training split (8 epochs per fold).",
                    cv.scores.len()
                )),
                metrics: vec![CvMetric { name: "accuracy".into(), fold_scores: cv.scores.clone() }],
            }),
            image_explanations: self.explained.images,
            tabular_attributions: vec![self.explained.importance],
            rules: Some(self.rules),
            checks: Some(self.explained.checks),
            text_explanations: None,
            faithfulness: None,
        })
    }
}
