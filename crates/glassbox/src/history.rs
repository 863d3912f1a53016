//! Per-epoch training metrics.

use serde::{Deserialize, Serialize};

/// Metrics of one epoch (1-based). Validation fields are `None` without a validation set;
/// accuracies are `None` for regression.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (sample-weighted).
    pub train_loss: f64,
    /// Training accuracy over the epoch (classification).
    pub train_accuracy: Option<f64>,
    /// Validation loss after the epoch.
    pub val_loss: Option<f64>,
    /// Validation accuracy after the epoch (classification).
    pub val_accuracy: Option<f64>,
    /// Learning rate used during the epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// The metric history of a training run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One entry per completed epoch, in order.
    pub epochs: Vec<EpochMetrics>,
    /// The epoch whose weights were kept (best validation loss with early stopping,
    /// otherwise the last one); 0 before training.
    pub best_epoch: usize,
    /// Whether early stopping ended the run before the epoch budget.
    pub stopped_early: bool,
}

impl History {
    /// The last epoch's metrics.
    pub fn last(&self) -> Option<&EpochMetrics> {
        self.epochs.last()
    }

    /// The metrics of the kept epoch.
    pub fn best(&self) -> Option<&EpochMetrics> {
        self.epochs.iter().find(|e| e.epoch == self.best_epoch)
    }

    /// Converts to the HTML report's history.
    #[allow(clippy::needless_update)] // robust to fields the report crate may add
    pub fn to_report(&self) -> glassbox_report::TrainingHistory {
        glassbox_report::TrainingHistory {
            epochs: self
                .epochs
                .iter()
                .map(|e| glassbox_report::EpochRecord {
                    epoch: e.epoch,
                    train_loss: Some(e.train_loss),
                    val_loss: e.val_loss,
                    train_accuracy: e.train_accuracy,
                    val_accuracy: e.val_accuracy,
                    learning_rate: Some(e.learning_rate),
                })
                .collect(),
            ..Default::default()
        }
    }
}
