//! Every value of `tests/reference/sklearn/metrics.json` (scikit-learn 1.9.1) to 1e-6.

use glassbox_metrics::*;
use ndarray::Array2;
use serde_json::Value;

const TOL: f64 = 1e-6;

fn reference() -> Value {
    glassbox_testkit::reference_json("sklearn/metrics.json")
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(floats).collect();
    let (n, m) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, m), rows.into_iter().flatten().collect()).unwrap()
}

fn close(name: &str, got: f64, want: &Value) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{name}: reference is not a number"));
    glassbox_testkit::assert_close(name, &[got], &[want], TOL);
}

fn check_label_metrics(case: &Value, y: &[i64], p: &[i64]) {
    close("accuracy", accuracy(y, p).unwrap(), &case["accuracy"]);
    close(
        "balanced_accuracy",
        balanced_accuracy(y, p).unwrap(),
        &case["balanced_accuracy"],
    );
    close(
        "mcc",
        matthews_corrcoef(y, p).unwrap(),
        &case["matthews_corrcoef"],
    );
    let cm = confusion_matrix(y, p, None).unwrap();
    let want: Vec<Vec<i64>> = case["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(ints)
        .collect();
    for (i, row) in want.iter().enumerate() {
        for (j, &c) in row.iter().enumerate() {
            assert_eq!(cm.counts[[i, j]] as i64, c, "confusion_matrix[{i}][{j}]");
        }
    }
    for (name, avg) in [
        ("micro", Average::Micro),
        ("macro", Average::Macro),
        ("weighted", Average::Weighted),
    ] {
        close(
            &format!("precision_{name}"),
            precision_score(y, p, &avg).unwrap(),
            &case[format!("precision_{name}")],
        );
        close(
            &format!("recall_{name}"),
            recall_score(y, p, &avg).unwrap(),
            &case[format!("recall_{name}")],
        );
        close(
            &format!("f1_{name}"),
            f1_score(y, p, &avg).unwrap(),
            &case[format!("f1_{name}")],
        );
    }
}

#[test]
fn binary_case() {
    let r = reference();
    let c = &r["binary"];
    let (y, p) = (ints(&c["y_true"]), ints(&c["y_pred"]));
    let proba = matrix(&c["proba"]);
    check_label_metrics(c, &y, &p);
    let avg = Average::Binary(1);
    close(
        "precision_binary",
        precision_score(&y, &p, &avg).unwrap(),
        &c["precision_binary"],
    );
    close(
        "recall_binary",
        recall_score(&y, &p, &avg).unwrap(),
        &c["recall_binary"],
    );
    close(
        "f1_binary",
        f1_score(&y, &p, &avg).unwrap(),
        &c["f1_binary"],
    );
    close(
        "log_loss",
        log_loss(&y, proba.view(), None, true).unwrap(),
        &c["log_loss"],
    );
    let pos: Vec<f64> = proba.column(1).to_vec();
    close(
        "log_loss (1-D)",
        log_loss_binary(&y, &pos, None, true).unwrap(),
        &c["log_loss"],
    );
    close("roc_auc", roc_auc_score(&y, &pos).unwrap(), &c["roc_auc"]);
    close(
        "average_precision",
        average_precision(&y, &pos, &1).unwrap(),
        &c["average_precision"],
    );
    assert!(c["top_2_accuracy"].is_null());
    // With two classes every sample is in the top 2.
    assert_eq!(top_k_accuracy(&y, proba.view(), 2, None).unwrap(), 1.0);

    let roc = roc_curve(&y, &pos, &1, true).unwrap();
    let want = &c["roc_curve"];
    let (fpr, tpr, thr) = (
        floats(&want["fpr"]),
        floats(&want["tpr"]),
        floats(&want["thresholds"]),
    );
    glassbox_testkit::assert_close("roc_curve fpr", &roc.fpr, &fpr, TOL);
    glassbox_testkit::assert_close("roc_curve tpr", &roc.tpr, &tpr, TOL);
    assert_eq!(roc.thresholds.len(), thr.len(), "roc_curve thresholds");
    for (i, (&got, &want)) in roc.thresholds.iter().zip(&thr).enumerate() {
        if want >= 1e308 {
            // JSON cannot hold +inf; the reference writes it as 1e308.
            assert!(got.is_infinite() && got > 0.0, "thresholds[{i}]");
        } else {
            glassbox_testkit::assert_close(&format!("thresholds[{i}]"), &[got], &[want], TOL);
        }
    }
    // The area under the reported curve is the AUC.
    close(
        "auc(roc_curve)",
        auc(&roc.fpr, &roc.tpr).unwrap(),
        &c["roc_auc"],
    );
}

#[test]
fn multiclass_case() {
    let r = reference();
    let c = &r["multiclass"];
    let (y, p) = (ints(&c["y_true"]), ints(&c["y_pred"]));
    let proba = matrix(&c["proba"]);
    assert_eq!(proba.ncols() as u64, c["n_classes"].as_u64().unwrap());
    check_label_metrics(c, &y, &p);
    close(
        "log_loss",
        log_loss(&y, proba.view(), None, true).unwrap(),
        &c["log_loss"],
    );
    close(
        "top_2_accuracy",
        top_k_accuracy(&y, proba.view(), 2, None).unwrap(),
        &c["top_2_accuracy"],
    );
    close(
        "roc_auc_ovr_macro",
        roc_auc_ovr(&y, proba.view(), OvrAverage::Macro).unwrap(),
        &c["roc_auc_ovr_macro"],
    );
    close(
        "roc_auc_ovr_weighted",
        roc_auc_ovr(&y, proba.view(), OvrAverage::Weighted).unwrap(),
        &c["roc_auc_ovr_weighted"],
    );
    let e = precision_score(&y, &p, &Average::Binary(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("multiclass"), "{e}");
}

#[test]
fn regression_case() {
    let r = reference();
    let c = &r["regression"];
    let (y, p) = (floats(&c["y_true"]), floats(&c["y_pred"]));
    close("mse", mean_squared_error(&y, &p).unwrap(), &c["mse"]);
    close("rmse", root_mean_squared_error(&y, &p).unwrap(), &c["rmse"]);
    close("mae", mean_absolute_error(&y, &p).unwrap(), &c["mae"]);
    close("r2", r2_score(&y, &p).unwrap(), &c["r2"]);
    close(
        "explained_variance",
        explained_variance_score(&y, &p).unwrap(),
        &c["explained_variance"],
    );
    close(
        "median_absolute_error",
        median_absolute_error(&y, &p).unwrap(),
        &c["median_absolute_error"],
    );
}
