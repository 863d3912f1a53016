//! Evaluation of a classifier or regressor in one call, with the fields the `glassbox
//! evaluate --json` command prints and the HTML report shows.

use glassbox_metrics::{
    accuracy, balanced_accuracy, confusion_matrix, log_loss, mean_absolute_error,
    mean_squared_error, precision_recall_fscore, precision_recall_fscore_support, r2_score,
    roc_auc_ovr, roc_auc_score, Average, OvrAverage, ZeroDivision,
};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Per-class precision, recall, F1 and support.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// Class name.
    pub class: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Number of true instances.
    pub support: u64,
}

/// Classification metrics (scikit-learn definitions; macro averages over the labels present
/// in truth or prediction; `zero_division = 0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Accuracy.
    pub accuracy: f64,
    /// Balanced accuracy.
    pub balanced_accuracy: f64,
    /// Macro precision.
    pub precision_macro: f64,
    /// Macro recall.
    pub recall_macro: f64,
    /// Macro F1.
    pub f1_macro: f64,
    /// Cross-entropy of the predicted probabilities.
    pub log_loss: Option<f64>,
    /// ROC-AUC (binary) or one-vs-rest macro ROC-AUC; `None` when a class is absent.
    pub roc_auc: Option<f64>,
    /// Confusion matrix over all classes (rows = truth, columns = prediction).
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Number of samples.
    pub n_samples: usize,
    /// Class names in output order.
    pub classes: Vec<String>,
    /// Per-class scores over all classes.
    pub per_class: Vec<ClassScore>,
}

/// Regression metrics in the target's units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Number of samples.
    pub n_samples: usize,
}

/// Index of each row's largest probability ([`glassbox_data::convert::argmax_rows`]).
pub fn argmax_rows(p: &Array2<f64>) -> Vec<usize> {
    glassbox_data::convert::argmax_rows(p.view())
}

/// Metrics of class probabilities `proba` (`[n, classes]`) against true class indices.
pub fn classification_metrics(
    y_true: &[usize],
    proba: &Array2<f64>,
    classes: &[String],
) -> Result<ClassificationMetrics> {
    let y_pred = argmax_rows(proba);
    let all: Vec<usize> = (0..classes.len()).collect();
    let (p, r, f) =
        precision_recall_fscore(y_true, &y_pred, 1.0, &Average::Macro, ZeroDivision::Zero)?;
    let support =
        precision_recall_fscore_support(y_true, &y_pred, 1.0, Some(&all), ZeroDivision::Zero)?;
    let per_class = all
        .iter()
        .map(|&i| ClassScore {
            class: classes[i].clone(),
            precision: support.precision[i],
            recall: support.recall[i],
            f1: support.f_score[i],
            support: support.support[i],
        })
        .collect();
    let cm = confusion_matrix(y_true, &y_pred, Some(&all))?;
    let log_loss = log_loss(y_true, proba.view(), Some(&all), true).ok();
    let roc_auc = if classes.len() == 2 {
        roc_auc_score(
            y_true,
            proba
                .column(1)
                .as_slice()
                .unwrap_or(&proba.column(1).to_vec()),
        )
        .ok()
    } else {
        roc_auc_ovr(y_true, proba.view(), OvrAverage::Macro).ok()
    };
    Ok(ClassificationMetrics {
        accuracy: accuracy(y_true, &y_pred)?,
        balanced_accuracy: balanced_accuracy(y_true, &y_pred)?,
        precision_macro: p,
        recall_macro: r,
        f1_macro: f,
        log_loss,
        roc_auc,
        confusion_matrix: cm.counts.rows().into_iter().map(|r| r.to_vec()).collect(),
        n_samples: y_true.len(),
        classes: classes.to_vec(),
        per_class,
    })
}

/// Regression metrics of predictions against truth.
pub fn regression_metrics(y_true: &[f64], y_pred: &[f64]) -> Result<RegressionMetrics> {
    let mse = mean_squared_error(y_true, y_pred)?;
    Ok(RegressionMetrics {
        mse,
        rmse: mse.sqrt(),
        mae: mean_absolute_error(y_true, y_pred)?,
        r2: r2_score(y_true, y_pred)?,
        n_samples: y_true.len(),
    })
}

impl ClassificationMetrics {
    /// The report crate's test-metrics, confusion matrix and per-class rows.
    #[allow(clippy::needless_update)] // robust to fields the report crate may add
    pub fn to_report(
        &self,
    ) -> (
        glassbox_report::TestMetrics,
        glassbox_report::ConfusionMatrix,
        Vec<glassbox_report::ClassMetrics>,
    ) {
        (
            glassbox_report::TestMetrics {
                n_samples: Some(self.n_samples as u64),
                accuracy: Some(self.accuracy),
                balanced_accuracy: Some(self.balanced_accuracy),
                precision_macro: Some(self.precision_macro),
                recall_macro: Some(self.recall_macro),
                f1_macro: Some(self.f1_macro),
                log_loss: self.log_loss,
                roc_auc: self.roc_auc,
                ..Default::default()
            },
            glassbox_report::ConfusionMatrix {
                classes: self.classes.clone(),
                counts: self.confusion_matrix.clone(),
            },
            self.per_class
                .iter()
                .map(|c| glassbox_report::ClassMetrics {
                    class: c.class.clone(),
                    precision: c.precision,
                    recall: c.recall,
                    f1: c.f1,
                    support: c.support,
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn metrics_match_hand_counts() {
        let p = array![[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]];
        let m = classification_metrics(&[0, 1, 1, 0], &p, &["a".into(), "b".into()]).unwrap();
        // Predictions 0, 1, 0, 1: two right.
        assert_eq!(m.accuracy, 0.5);
        assert_eq!(m.confusion_matrix, vec![vec![1, 1], vec![1, 1]]);
        // Scores of class b: 0.1, 0.8, 0.4, 0.7 with positives {0.8, 0.4}: 3 of 4 pairs ordered.
        assert!((m.roc_auc.unwrap() - 0.75).abs() < 1e-12);
        let ll = -(0.9f64.ln() + 0.8f64.ln() + 0.4f64.ln() + 0.3f64.ln()) / 4.0;
        assert!((m.log_loss.unwrap() - ll).abs() < 1e-9);
        let r = regression_metrics(&[1.0, 2.0, 3.0], &[1.0, 2.0, 5.0]).unwrap();
        assert!((r.mse - 4.0 / 3.0).abs() < 1e-12 && (r.mae - 2.0 / 3.0).abs() < 1e-12);
    }
}
