//! A printable per-class report like scikit-learn's `classification_report`.

use crate::classification::{
    accuracy, precision_recall_fscore, precision_recall_fscore_support, Average, ZeroDivision,
};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Precision, recall, F1 and support of one row of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    /// Row name (the label, or `"macro avg"` / `"weighted avg"`).
    pub name: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1 score.
    pub f1: f64,
    /// Number of true instances.
    pub support: u64,
}

/// Per-class scores plus accuracy and macro / weighted averages. `Display` prints the
/// same layout as scikit-learn (with `digits` decimals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// One row per label, in sorted-label order.
    pub classes: Vec<ReportRow>,
    /// Accuracy (micro average).
    pub accuracy: f64,
    /// Unweighted mean over labels.
    pub macro_avg: ReportRow,
    /// Support-weighted mean over labels.
    pub weighted_avg: ReportRow,
    /// Decimals shown by `Display` (default 2).
    pub digits: usize,
}

/// Builds the report over the sorted union of labels (`zero_division = 0`).
pub fn classification_report<T: Ord + Clone + fmt::Debug + fmt::Display>(
    y_true: &[T],
    y_pred: &[T],
) -> Result<ClassificationReport> {
    let s = precision_recall_fscore_support(y_true, y_pred, 1.0, None, ZeroDivision::Zero)?;
    let classes = (0..s.labels.len())
        .map(|i| ReportRow {
            name: s.labels[i].to_string(),
            precision: s.precision[i],
            recall: s.recall[i],
            f1: s.f_score[i],
            support: s.support[i],
        })
        .collect();
    let n = y_true.len() as u64;
    let avg = |name: &str, a: &Average<T>| -> Result<ReportRow> {
        let (p, r, f) = precision_recall_fscore(y_true, y_pred, 1.0, a, ZeroDivision::Zero)?;
        Ok(ReportRow {
            name: name.into(),
            precision: p,
            recall: r,
            f1: f,
            support: n,
        })
    };
    Ok(ClassificationReport {
        classes,
        accuracy: accuracy(y_true, y_pred)?,
        macro_avg: avg("macro avg", &Average::Macro)?,
        weighted_avg: avg("weighted avg", &Average::Weighted)?,
        digits: 2,
    })
}

impl ClassificationReport {
    /// Shows `digits` decimals when printed (scikit-learn's `digits=`).
    pub fn with_digits(mut self, digits: usize) -> Self {
        self.digits = digits;
        self
    }

    /// Renames the class rows, in sorted-label order (scikit-learn's `target_names=`).
    pub fn with_target_names(mut self, names: &[&str]) -> Result<Self> {
        if names.len() != self.classes.len() {
            return Err(crate::error::MetricsError::LengthMismatch {
                metric: "classification_report",
                what: "target_names",
                expected: self.classes.len(),
                found: names.len(),
            });
        }
        for (row, name) in self.classes.iter_mut().zip(names) {
            row.name = name.to_string();
        }
        Ok(self)
    }
}

impl fmt::Display for ClassificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.digits;
        let width = self
            .classes
            .iter()
            .map(|r| r.name.chars().count())
            .chain(std::iter::once("weighted avg".len()))
            .max()
            .unwrap_or(12)
            .max(d);
        writeln!(
            f,
            "{:>width$}  {:>9} {:>9} {:>9} {:>9}\n",
            "", "precision", "recall", "f1-score", "support"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, r: &ReportRow| {
            writeln!(
                f,
                "{:>width$}  {:>9.d$} {:>9.d$} {:>9.d$} {:>9}",
                r.name, r.precision, r.recall, r.f1, r.support
            )
        };
        for r in &self.classes {
            row(f, r)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:>width$}  {:>9} {:>9} {:>9.d$} {:>9}",
            "accuracy", "", "", self.accuracy, self.macro_avg.support
        )?;
        row(f, &self.macro_avg)?;
        row(f, &self.weighted_avg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_sklearn() {
        // sklearn: classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1],
        //                                target_names=["0", "1", "2"]) prints exactly this.
        let expected = "              precision    recall  f1-score   support

           0       0.50      1.00      0.67         1
           1       0.00      0.00      0.00         1
           2       1.00      0.67      0.80         3

    accuracy                           0.60         5
   macro avg       0.50      0.56      0.49         5
weighted avg       0.70      0.60      0.61         5
";
        let r = classification_report(&[0, 1, 2, 2, 2], &[0, 0, 2, 2, 1]).unwrap();
        assert_eq!(r.to_string(), expected);
        // target_names and digits, as in the scikit-learn docs example.
        let named = r
            .with_target_names(&["class 0", "class 1", "class 2"])
            .unwrap()
            .with_digits(3);
        let text = named.to_string();
        assert!(
            text.contains("     class 2      1.000     0.667     0.800         3"),
            "{text}"
        );
        assert!(classification_report(&[0, 1], &[0, 1])
            .unwrap()
            .with_target_names(&["a"])
            .is_err());
    }
}
