//! Trains the two small models and fills every section of a [`Report`] with their numbers.

use std::path::Path;
use std::time::Instant;

use glassbox_report::*;

use super::explain::*;
use super::fit::*;

const SIDE: usize = 8;

fn tabular(name: &str) -> Table {
    read_csv(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join("tabular")
            .join(name),
    )
}

fn take(t: &Table, idx: &[usize]) -> (Vec<Vec<f64>>, Vec<usize>) {
    (
        idx.iter().map(|&i| t.x[i].clone()).collect(),
        idx.iter().map(|&i| t.y[i]).collect(),
    )
}

/// Step-decay learning rate: 0.5, halved every 10 epochs.
fn lr_at(epoch: usize) -> f64 {
    0.5 * 0.5f64.powi(((epoch - 1) / 10) as i32)
}

fn train(
    x: &[Vec<f64>],
    y: &[usize],
    epochs: usize,
    rng: &mut Rng,
    mut on_epoch: impl FnMut(usize, &Softmax),
) -> Softmax {
    let mut m = Softmax::zeros(10, x[0].len());
    let mut idx: Vec<usize> = (0..x.len()).collect();
    for e in 1..=epochs {
        m.epoch(x, y, &mut idx, 32, lr_at(e), rng);
        on_epoch(e, &m);
    }
    m
}

fn confusion(m: &Softmax, x: &[Vec<f64>], y: &[usize], k: usize) -> Vec<Vec<u64>> {
    let mut cm = vec![vec![0u64; k]; k];
    for (xi, &yi) in x.iter().zip(y) {
        cm[yi][m.predict(xi)] += 1;
    }
    cm
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

/// Everything about the digits model: training, evaluation, CV, image explanations, checks.
fn digits(report: &mut Report) {
    let mut t = tabular("digits.csv");
    for row in &mut t.x {
        for v in row.iter_mut() {
            *v /= 16.0;
        }
    }
    let classes: Vec<String> = (0..10).map(|c| c.to_string()).collect();
    let mut rng = Rng::new(7);
    let mut order: Vec<usize> = (0..t.y.len()).collect();
    rng.shuffle(&mut order);
    let n = order.len();
    let (tr, rest) = order.split_at(n * 6 / 10);
    let (va, te) = rest.split_at(n * 2 / 10);
    let (xtr, ytr) = take(&t, tr);
    let (xva, yva) = take(&t, va);
    let (xte, yte) = take(&t, te);

    let epochs = 30;
    let mut history = Vec::new();
    let start = Instant::now();
    let model = train(&xtr, &ytr, epochs, &mut rng, |e, m| {
        let (a, b) = (m.evaluate(&xtr, &ytr), m.evaluate(&xva, &yva));
        history.push(EpochRecord {
            epoch: e,
            train_loss: Some(a.loss),
            val_loss: Some(b.loss),
            train_accuracy: Some(a.accuracy),
            val_accuracy: Some(b.accuracy),
            learning_rate: Some(lr_at(e)),
        });
    });
    let secs = start.elapsed().as_secs_f64();
    assert!(
        history[epochs - 1].train_loss < history[0].train_loss,
        "training loss must fall"
    );

    // Evaluation, by direct loops.
    let cm = confusion(&model, &xte, &yte, 10);
    let total: u64 = cm.iter().flatten().sum();
    assert_eq!(total as usize, yte.len());
    let pass = model.evaluate(&xte, &yte);
    let trace: u64 = (0..10).map(|c| cm[c][c]).sum();
    assert!(
        (trace as f64 / total as f64 - pass.accuracy).abs() < 1e-12,
        "confusion trace disagrees with accuracy"
    );
    assert!(
        pass.accuracy > 0.9,
        "softmax regression on digits should exceed 90%, got {}",
        pass.accuracy
    );
    let pc = per_class(&cm);
    let macro_of =
        |f: fn(&(f64, f64, f64, u64)) -> f64| pc.iter().map(f).sum::<f64>() / pc.len() as f64;
    let probs: Vec<Vec<f64>> = xte.iter().map(|x| model.proba(x)).collect();
    let auc = (0..10)
        .map(|c| {
            roc_auc(
                &probs.iter().map(|p| p[c]).collect::<Vec<_>>(),
                &yte.iter().map(|&y| y == c).collect::<Vec<_>>(),
            )
        })
        .sum::<f64>()
        / 10.0;
    report.test_metrics = Some(TestMetrics {
        n_samples: Some(yte.len() as u64),
        accuracy: Some(pass.accuracy),
        balanced_accuracy: Some(macro_of(|c| c.1)),
        precision_macro: Some(macro_of(|c| c.0)),
        recall_macro: Some(macro_of(|c| c.1)),
        f1_macro: Some(macro_of(|c| c.2)),
        log_loss: Some(pass.loss),
        roc_auc: Some(auc),
    });
    report.per_class = pc
        .iter()
        .enumerate()
        .map(|(c, &(precision, recall, f1, support))| ClassMetrics {
            class: classes[c].clone(),
            precision,
            recall,
            f1,
            support,
        })
        .collect();
    report.confusion = Some(ConfusionMatrix {
        classes: classes.clone(),
        counts: cm,
    });
    report.history = Some(TrainingHistory { epochs: history });
    report.dataset = Some(DatasetSummary {
        name: "digits.csv (8×8 handwritten digits, UCI)".into(),
        input_shape: vec![1, SIDE, SIDE],
        classes: classes.clone(),
        n_train: Some(xtr.len() as u64),
        n_val: Some(xva.len() as u64),
        n_test: Some(xte.len() as u64),
        extra: vec![("Preprocessing".into(), "pixels ÷ 16 → [0, 1]".into())],
    });
    report.model = Some(ModelSummary {
        architecture: "Flatten(1×8×8) → Linear(64 → 10) → Softmax".into(),
        n_parameters: model.n_params() as u64,
        training_time_secs: Some(secs),
        optimizer: Some("mini-batch SGD, batch 32, lr 0.5 halved every 10 epochs".into()),
        extra: vec![("Loss".into(), "cross-entropy".into())],
    });

    // 5-fold cross-validation on all samples.
    let mut folds_acc = Vec::new();
    let mut folds_f1 = Vec::new();
    for f in 0..5 {
        let test_idx: Vec<usize> = order
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| i % 5 == f)
            .map(|(_, v)| v)
            .collect();
        let train_idx: Vec<usize> = order
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| i % 5 != f)
            .map(|(_, v)| v)
            .collect();
        let (xa, ya) = take(&t, &train_idx);
        let (xb, yb) = take(&t, &test_idx);
        let m = train(&xa, &ya, 15, &mut rng, |_, _| {});
        folds_acc.push(m.evaluate(&xb, &yb).accuracy);
        folds_f1.push(
            per_class(&confusion(&m, &xb, &yb, 10))
                .iter()
                .map(|c| c.2)
                .sum::<f64>()
                / 10.0,
        );
    }
    assert!(
        folds_acc.iter().all(|a| *a > 0.85),
        "cv folds {folds_acc:?}"
    );
    report.cross_validation = Some(CrossValidation {
        description: Some(
            "5-fold cross-validation on all 1797 digits (shuffled, seed 7), 15 epochs per fold"
                .into(),
        ),
        metrics: vec![
            CvMetric {
                name: "accuracy".into(),
                fold_scores: folds_acc,
            },
            CvMetric {
                name: "macro F1".into(),
                fold_scores: folds_f1,
            },
        ],
    });

    // Image explanations: three correct predictions and the first mistake.
    let mut chosen: Vec<usize> = (0..xte.len())
        .filter(|&i| model.predict(&xte[i]) == yte[i])
        .take(3)
        .collect();
    chosen.extend((0..xte.len()).find(|&i| model.predict(&xte[i]) != yte[i]));
    for &i in &chosen {
        let x = &xte[i];
        let c = model.predict(x);
        let (ig, gap) = integrated_gradients(&model, x, c, 64);
        assert!(gap < 5e-3, "IG completeness gap {gap} too large");
        let occ = occlusion(&model, x, c);
        let sal = pooled_saliency(&model, x, c, SIDE);
        report.image_explanations.push(ImageExplanation {
            label: format!("test sample #{i}"),
            image: GrayImage {
                width: SIDE,
                height: SIDE,
                pixels: to_f32(x),
                value_range: Some((0.0, 1.0)),
                invert: true,
            },
            predicted: classes[c].clone(),
            actual: Some(classes[yte[i]].clone()),
            confidence: Some(model.proba(x)[c]),
            attributions: vec![
                AttributionMap {
                    method: "Integrated Gradients".into(),
                    width: SIDE,
                    height: SIDE,
                    values: to_f32(&ig),
                    colormap: Some(Colormap::Diverging),
                    note: Some(format!("completeness δ = {gap:.1e}")),
                },
                AttributionMap {
                    method: "Occlusion (1×1)".into(),
                    width: SIDE,
                    height: SIDE,
                    values: to_f32(&occ),
                    colormap: Some(Colormap::Diverging),
                    note: None,
                },
                AttributionMap {
                    method: "Saliency |∂p/∂x|, 2×2 max".into(),
                    width: SIDE / 2,
                    height: SIDE / 2,
                    values: to_f32(&sal),
                    colormap: Some(Colormap::Sequential),
                    note: None,
                },
            ],
        });
    }

    // Randomisation sanity check: IG of the trained model vs a randomly initialised one.
    let random_model = Softmax::random(10, SIDE * SIDE, 1.0, &mut rng);
    let rhos: Vec<f64> = (0..30)
        .map(|i| {
            let c = model.predict(&xte[i]);
            spearman(
                &integrated_gradients(&model, &xte[i], c, 32).0,
                &integrated_gradients(&random_model, &xte[i], c, 32).0,
            )
        })
        .collect();
    let rho = rhos.iter().sum::<f64>() / rhos.len() as f64;
    let threshold = 0.5;

    // Deletion and insertion curves, averaged over 40 test digits.
    let points = 17;
    let mut curves = [
        [vec![0.0; points], vec![0.0; points]],
        [vec![0.0; points], vec![0.0; points]],
    ];
    let n_curve = 40;
    for x in &xte[..n_curve] {
        let c = model.predict(x);
        let ig_order = ranking(&integrated_gradients(&model, x, c, 32).0);
        let mut random_order: Vec<usize> = (0..x.len()).collect();
        rng.shuffle(&mut random_order);
        for (k, insert) in [false, true].into_iter().enumerate() {
            for (s, ord) in [&ig_order, &random_order].into_iter().enumerate() {
                for (acc, v) in curves[k][s]
                    .iter_mut()
                    .zip(perturbation_curve(&model, x, c, ord, insert, points))
                {
                    *acc += v / n_curve as f64;
                }
            }
        }
    }
    let fractions: Vec<f64> = (0..points)
        .map(|i| ((i * SIDE * SIDE) / (points - 1)) as f64 / (SIDE * SIDE) as f64)
        .collect();
    let auc = |v: &[f64]| {
        (1..points)
            .map(|i| (fractions[i] - fractions[i - 1]) * (v[i] + v[i - 1]) / 2.0)
            .sum::<f64>()
    };
    assert!(
        auc(&curves[0][0]) < auc(&curves[0][1]),
        "IG deletion must beat random"
    );
    let curve = |k: usize, kind: CurveKind| PerturbationCurve {
        kind,
        score_label: "mean p(predicted class)".into(),
        series: vec![
            CurveSeries {
                name: "Integrated Gradients".into(),
                fractions: fractions.clone(),
                scores: curves[k][0].clone(),
                auc: Some(auc(&curves[k][0])),
            },
            CurveSeries {
                name: "random ranking".into(),
                fractions: fractions.clone(),
                scores: curves[k][1].clone(),
                auc: Some(auc(&curves[k][1])),
            },
        ],
    };
    report.checks = Some(ExplanationChecks {
        sanity: vec![SanityCheck {
            method: "Integrated Gradients".into(),
            spearman: rho,
            threshold,
            passed: rho.abs() < threshold,
            detail: Some(format!(
                "mean over {} test digits, signed attributions",
                rhos.len()
            )),
        }],
        curves: vec![
            curve(0, CurveKind::Deletion),
            curve(1, CurveKind::Insertion),
        ],
    });
}

/// The iris model: feature importances and surrogate rules.
fn iris(report: &mut Report) {
    let t = tabular("iris.csv");
    let names = ["setosa", "versicolor", "virginica"];
    let mut rng = Rng::new(11);
    let mut order: Vec<usize> = (0..t.y.len()).collect();
    rng.shuffle(&mut order);
    let (tr, te) = order.split_at(105);
    let (xtr_raw, ytr) = take(&t, tr);
    let (xte_raw, yte) = take(&t, te);
    let d = t.features.len();
    let mean: Vec<f64> = (0..d)
        .map(|j| xtr_raw.iter().map(|r| r[j]).sum::<f64>() / xtr_raw.len() as f64)
        .collect();
    let std: Vec<f64> = (0..d)
        .map(|j| {
            (xtr_raw
                .iter()
                .map(|r| (r[j] - mean[j]).powi(2))
                .sum::<f64>()
                / xtr_raw.len() as f64)
                .sqrt()
        })
        .collect();
    let scale = |x: &[Vec<f64>]| -> Vec<Vec<f64>> {
        x.iter()
            .map(|r| (0..d).map(|j| (r[j] - mean[j]) / std[j]).collect())
            .collect()
    };
    let (xtr, xte) = (scale(&xtr_raw), scale(&xte_raw));
    let mut m = Softmax::zeros(3, d);
    let mut idx: Vec<usize> = (0..xtr.len()).collect();
    for _ in 0..200 {
        m.epoch(&xtr, &ytr, &mut idx, 16, 0.1, &mut rng);
    }
    let acc = m.evaluate(&xte, &yte).accuracy;
    assert!(acc > 0.85, "iris accuracy {acc}");

    let shap = linear_shap_mean_abs(&m, &xte);
    let perm = permutation_importance(&m, &xte, &yte, 20, &mut rng);
    report.tabular_attributions = vec![
        FeatureChart {
            title: "SHAP: mean |value|".into(),
            description: Some(format!(
                "Exact linear SHAP of the iris softmax regression (test accuracy {:.1}%), on the logit, averaged over the {} test rows and the 3 classes.",
                acc * 100.0,
                xte.len()
            )),
            value_label: "mean |SHAP value| (logit)".into(),
            features: t.features.iter().zip(&shap).map(|(n, v)| FeatureValue { name: n.clone(), value: *v, error: None }).collect(),
            max_features: None,
        },
        FeatureChart {
            title: "Permutation importance".into(),
            description: Some("Drop in test accuracy when one feature's column is shuffled; mean ± std over 20 shuffles.".into()),
            value_label: "accuracy drop".into(),
            features: t.features.iter().zip(&perm).map(|(n, (v, e))| FeatureValue { name: n.clone(), value: *v, error: Some(*e) }).collect(),
            max_features: None,
        },
    ];

    // Depth-2 surrogate tree on raw features, fitted to the model's own predictions.
    let model_tr: Vec<usize> = xtr.iter().map(|x| m.predict(x)).collect();
    let model_te: Vec<usize> = xte.iter().map(|x| m.predict(x)).collect();
    let tree = fit_tree(&xtr_raw, &model_tr, 3, 2);
    let agree = xte_raw
        .iter()
        .zip(&model_te)
        .filter(|(x, &p)| tree.predict(x) == p)
        .count();
    let fidelity = agree as f64 / xte.len() as f64;
    let mut rules = Vec::new();
    let mut covered_total = 0;
    for (text, conds, class) in tree.rules(&t.features) {
        let covered: Vec<usize> = (0..xte_raw.len())
            .filter(|&i| conds.iter().all(|&(j, th, le)| (xte_raw[i][j] <= th) == le))
            .collect();
        covered_total += covered.len();
        let hits = covered.iter().filter(|&&i| model_te[i] == class).count();
        rules.push(Rule {
            text: format!("IF {} THEN {}", text.join(" AND "), names[class]),
            coverage: covered.len() as f64 / xte_raw.len() as f64,
            accuracy: if covered.is_empty() {
                0.0
            } else {
                hits as f64 / covered.len() as f64
            },
        });
    }
    assert_eq!(
        covered_total,
        xte_raw.len(),
        "tree leaves must partition the test set"
    );
    assert!(fidelity > 0.8, "surrogate fidelity {fidelity}");
    report.rules = Some(RuleSet {
        surrogate: Some("CART decision tree, depth 2, on the iris model's predictions".into()),
        fidelity,
        fidelity_data: Some(format!("the iris test set (n = {})", xte.len())),
        rules,
    });
}

/// A report with every section filled from real computations.
pub fn build_report() -> Report {
    let mut report = Report {
        title: "Digits classifier — training, evaluation and explanations".into(),
        subtitle: Some("Produced by `cargo test --test it report_chromium`: every number is computed in the test.".into()),
        footer: Some("glassbox report test fixture".into()),
        ..Default::default()
    };
    digits(&mut report);
    iris(&mut report);
    report
}
