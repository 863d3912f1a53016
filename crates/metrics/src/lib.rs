//! # glassbox-metrics
//!
//! Metrics that agree with scikit-learn (1.9) to floating-point precision, and K-fold
//! cross-validation of any estimator.
//!
//! - **Classification**: [`accuracy`], [`balanced_accuracy`], [`confusion_matrix`],
//!   precision / recall / F-beta with [`Average::Binary`], `Micro`, `Macro`, `Weighted` and a
//!   [`ZeroDivision`] policy, [`matthews_corrcoef`], [`log_loss`] / [`log_loss_binary`], [`top_k_accuracy`], and a
//!   printable [`classification_report`].
//! - **Ranking**: [`roc_curve`] (with `drop_intermediate`), [`roc_auc_score`],
//!   [`roc_auc_ovr`] (macro / weighted), [`precision_recall_curve`], [`average_precision`], [`auc`].
//! - **Regression**: [`mean_squared_error`], [`root_mean_squared_error`],
//!   [`mean_absolute_error`], [`median_absolute_error`], [`r2_score`], [`explained_variance_score`].
//! - **Cross-validation**: the [`Estimator`] trait and [`cross_validate`] over folds from
//!   `glassbox_data::split`, in parallel if asked, returning [`CvScores`] (mean ± std).
//!
//! Labels are any `Ord + Clone` type; unless given, the label set is the sorted union of the
//! inputs, as in scikit-learn. Sample weights are not supported. Invalid input returns a
//! [`MetricsError`] naming the metric and the offending row or label.
//!
//! ```
//! use glassbox_metrics::{accuracy, f1_score, roc_auc_score, Average};
//!
//! let y_true = [0, 1, 1, 0, 1];
//! let y_pred = [0, 1, 0, 0, 1];
//! assert_eq!(accuracy(&y_true, &y_pred)?, 0.8);
//! // Class 1: precision 1, recall 2/3 -> F1 0.8.
//! assert!((f1_score(&y_true, &y_pred, &Average::Binary(1))? - 0.8).abs() < 1e-12);
//! let scores = [0.1, 0.9, 0.4, 0.3, 0.8];
//! assert_eq!(roc_auc_score(&y_true, &scores)?, 1.0);
//! # Ok::<(), glassbox_metrics::MetricsError>(())
//! ```

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod classification;
pub mod cv;
mod error;
mod labels;
mod probabilistic;
mod ranking;
mod regression;
mod report;

pub use classification::{
    accuracy, balanced_accuracy, confusion_matrix, f1_score, fbeta_score, matthews_corrcoef,
    precision_recall_fscore, precision_recall_fscore_labels, precision_recall_fscore_support,
    precision_score, recall_score, Average, ClassScores, ConfusionMatrix, ZeroDivision,
};
pub use cv::{cross_validate, CvScores, CvSplit, Estimator};
pub use error::{MetricsError, Result};
pub use labels::unique_labels;
pub use probabilistic::{log_loss, log_loss_binary, top_k_accuracy};
pub use ranking::{
    auc, average_precision, precision_recall_curve, roc_auc_ovr, roc_auc_score, roc_curve,
    OvrAverage, PrCurve, RocCurve,
};
pub use regression::{
    explained_variance_score, mean_absolute_error, mean_squared_error, median_absolute_error,
    r2_score, root_mean_squared_error,
};
pub use report::{classification_report, ClassificationReport, ReportRow};
