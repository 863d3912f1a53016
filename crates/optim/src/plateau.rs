//! Reduce the learning rate when a monitored metric stops improving, as PyTorch's
//! `ReduceLROnPlateau`.

use serde::{Deserialize, Serialize};

use crate::error::{OptimError, Result};

/// Whether smaller or larger values of the monitored metric are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlateauMode {
    /// Lower is better (a loss).
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How `threshold` is compared: relative to the best value or as an absolute margin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThresholdMode {
    /// Improvement means beating `best * (1 ∓ threshold)`.
    Rel,
    /// Improvement means beating `best ∓ threshold`.
    Abs,
}

/// `ReduceLROnPlateau`: after more than `patience` epochs without improvement the rate is
/// multiplied by `factor` (not below `min_lr`), then `cooldown` epochs are ignored.
/// The whole state (best value, counters, current rate) serialises.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReduceLrOnPlateau {
    /// Direction of improvement.
    pub mode: PlateauMode,
    /// Multiplicative decay.
    pub factor: f64,
    /// Epochs without improvement tolerated before decaying.
    pub patience: u64,
    /// Minimal improvement that counts.
    pub threshold: f64,
    /// Relative or absolute threshold.
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a decay before counting again.
    pub cooldown: u64,
    /// Lower bound of the learning rate.
    pub min_lr: f64,
    /// Decays smaller than this are skipped.
    pub eps: f64,
    lr: f64,
    best: f64,
    num_bad_epochs: u64,
    cooldown_counter: u64,
    epoch: u64,
}

impl ReduceLrOnPlateau {
    /// PyTorch's defaults (factor 0.1, patience 10, threshold 1e-4 relative, no cooldown,
    /// min_lr 0, eps 1e-8) starting from learning rate `lr`.
    pub fn new(mode: PlateauMode, lr: f64) -> Result<Self> {
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(OptimError::InvalidHyperparameter {
                optimizer: "ReduceLrOnPlateau",
                name: "lr",
                value: lr,
                reason: "must be finite and >= 0",
            });
        }
        Ok(ReduceLrOnPlateau {
            mode,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            lr,
            best: match mode {
                PlateauMode::Min => f64::INFINITY,
                PlateauMode::Max => f64::NEG_INFINITY,
            },
            num_bad_epochs: 0,
            cooldown_counter: 0,
            epoch: 0,
        })
    }

    /// Sets the decay factor (must be in (0, 1)).
    pub fn with_factor(mut self, factor: f64) -> Result<Self> {
        if !(factor > 0.0 && factor < 1.0) {
            return Err(OptimError::InvalidHyperparameter {
                optimizer: "ReduceLrOnPlateau",
                name: "factor",
                value: factor,
                reason: "must be in (0, 1)",
            });
        }
        self.factor = factor;
        Ok(self)
    }

    /// Sets the patience.
    pub fn with_patience(mut self, patience: u64) -> Self {
        self.patience = patience;
        self
    }

    /// Sets the threshold and its mode.
    pub fn with_threshold(mut self, threshold: f64, mode: ThresholdMode) -> Self {
        self.threshold = threshold;
        self.threshold_mode = mode;
        self
    }

    /// Sets the cooldown.
    pub fn with_cooldown(mut self, cooldown: u64) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Sets the minimum learning rate.
    pub fn with_min_lr(mut self, min_lr: f64) -> Self {
        self.min_lr = min_lr;
        self
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// The best metric value seen so far.
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Number of epochs recorded.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn is_better(&self, a: f64) -> bool {
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < self.best * (1.0 - self.threshold),
            (PlateauMode::Min, ThresholdMode::Abs) => a < self.best - self.threshold,
            (PlateauMode::Max, ThresholdMode::Rel) => a > self.best * (1.0 + self.threshold),
            (PlateauMode::Max, ThresholdMode::Abs) => a > self.best + self.threshold,
        }
    }

    /// Records this epoch's metric and returns the (possibly reduced) learning rate.
    /// A NaN metric counts as no improvement.
    pub fn step(&mut self, metric: f64) -> f64 {
        self.epoch += 1;
        if self.is_better(metric) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            let new_lr = (self.lr * self.factor).max(self.min_lr);
            if self.lr - new_lr > self.eps {
                self.lr = new_lr;
            }
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
        }
        self.lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_after_patience_runs_out() {
        // patience 1: two epochs without improvement trigger a decay.
        let mut s = ReduceLrOnPlateau::new(PlateauMode::Min, 1.0)
            .unwrap()
            .with_factor(0.5)
            .unwrap()
            .with_patience(1);
        assert_eq!(s.step(1.0), 1.0); // improvement (best = 1)
        assert_eq!(s.step(1.0), 1.0); // bad 1
        assert_eq!(s.step(1.0), 0.5); // bad 2 > patience
        assert_eq!(s.step(0.5), 0.5); // improvement
    }
}
