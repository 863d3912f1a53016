//! Training a [`TextClassifier`]: AdamW (no weight decay on biases and LayerNorm weights,
//! as transformers' `Trainer`), linear warm-up then linear decay of the learning rate per
//! step, cross-entropy (glassbox-nn's), gradient-norm clipping, batches of similar length
//! padded per batch, accuracy on a held-out set after every epoch.

use std::time::Instant;

use glassbox_autograd::Var;
use glassbox_hf::Batch;
use glassbox_nn::loss::{cross_entropy, CrossEntropyOptions};
use glassbox_nn::Module;
use glassbox_optim::{clip_grad_norm, AdamW, AdamWConfig, NormType, Optimizer};
use glassbox_tensor::rng::Rng;

use super::classifier::TextClassifier;
use super::data::TextData;
use crate::error::{Error, Result};

/// Settings of [`TextClassifier::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct TextTrainConfig {
    /// Passes over the training texts (default 3).
    pub epochs: usize,
    /// Texts per step (default 32).
    pub batch_size: usize,
    /// Peak learning rate (default 1e-3, for training from scratch; fine-tuning a
    /// pretrained encoder wants ~5e-5).
    pub lr: f64,
    /// AdamW's decoupled weight decay on matrices (default 0.01).
    pub weight_decay: f64,
    /// Fraction of all steps spent warming the rate up from 0 (default 0.1).
    pub warmup_fraction: f64,
    /// Clip the global gradient norm to this (default `Some(1.0)`).
    pub max_grad_norm: Option<f64>,
    /// Seed of the batch order (default 0).
    pub seed: u64,
    /// Batches sorted by length together (default 50): texts are shuffled, cut into
    /// groups of `batch_size × bucket` texts, sorted by length within the group, and the
    /// batches shuffled, so padding stays small and the order random.
    pub bucket: usize,
}

impl Default for TextTrainConfig {
    fn default() -> Self {
        TextTrainConfig {
            epochs: 3,
            batch_size: 32,
            lr: 1e-3,
            weight_decay: 0.01,
            warmup_fraction: 0.1,
            max_grad_norm: Some(1.0),
            seed: 0,
            bucket: 50,
        }
    }
}

impl TextTrainConfig {
    fn check(&self) -> Result<()> {
        let bad = |option, reason: String| Err(Error::Config { option, reason });
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("{} must be > 0", self.lr));
        }
        if !(0.0..1.0).contains(&self.warmup_fraction) {
            return bad(
                "warmup_fraction",
                format!("{} must be in [0, 1)", self.warmup_fraction),
            );
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad("weight_decay", format!("{} must be ≥ 0", self.weight_decay));
        }
        Ok(())
    }
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq)]
pub struct TextEpoch {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Accuracy on the held-out texts, when given.
    pub val_accuracy: Option<f64>,
    /// Wall time of the epoch (training and evaluation), seconds.
    pub seconds: f64,
}

/// Result of [`TextClassifier::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct TextFit {
    /// One entry per epoch.
    pub epochs: Vec<TextEpoch>,
    /// Training texts cut to `max_len` tokens.
    pub truncated: usize,
    /// Number of training texts.
    pub n_train: usize,
}

/// `transformers.get_linear_schedule_with_warmup`: the factor of the peak rate at step
/// `step` of `total`, rising linearly over `warmup` steps, then falling linearly to 0.
pub fn linear_warmup_decay(step: usize, warmup: usize, total: usize) -> f64 {
    if step < warmup {
        step as f64 / warmup.max(1) as f64
    } else {
        (total.saturating_sub(step)) as f64 / (total.saturating_sub(warmup)).max(1) as f64
    }
}

/// Batches of indices for one epoch: shuffled, grouped by similar length.
fn epoch_batches(lengths: &[usize], cfg: &TextTrainConfig, epoch: usize) -> Vec<Vec<usize>> {
    let mut rng = Rng::new(cfg.seed ^ (0x7e47_0000 + epoch as u64));
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    rng.shuffle(&mut order);
    let group = cfg.batch_size * cfg.bucket.max(1);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for g in order.chunks_mut(group) {
        g.sort_by_key(|&i| lengths[i]);
        batches.extend(g.chunks(cfg.batch_size).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

impl TextClassifier {
    /// Trains on `train` for `cfg.epochs` epochs; after each, measures accuracy on `val`
    /// (when given) and calls `on_epoch`. The model is left in evaluation mode.
    pub fn fit(
        &mut self,
        train: &TextData,
        val: Option<&TextData>,
        cfg: &TextTrainConfig,
        on_epoch: &mut dyn FnMut(&TextEpoch),
    ) -> Result<TextFit> {
        cfg.check()?;
        if train.is_empty() {
            return Err(Error::Input("no training texts".into()));
        }
        let n_classes = self.model.num_labels();
        if let Some(bad) = train.labels.iter().find(|&&l| l >= n_classes) {
            return Err(Error::Input(format!(
                "training label {bad} is not one of the model's {n_classes} classes"
            )));
        }
        let enc = self.encode(&train.text_refs())?;
        let val_ids = val.map(|v| self.encode(&v.text_refs())).transpose()?;
        let lengths: Vec<usize> = enc.ids.iter().map(Vec::len).collect();
        let steps_per_epoch = train.len().div_ceil(cfg.batch_size);
        let total = steps_per_epoch * cfg.epochs;
        let warmup = (cfg.warmup_fraction * total as f64).round() as usize;

        let params = self.model.named_parameters();
        let (decay, no_decay): (Vec<(String, Var)>, Vec<(String, Var)>) = params
            .iter()
            .cloned()
            .partition(|(_, v)| v.shape().len() > 1);
        let mut opt_decay = AdamW::new(
            decay,
            AdamWConfig::new(cfg.lr).with_weight_decay(cfg.weight_decay),
        )?;
        let mut opt_plain = AdamW::new(no_decay, AdamWConfig::new(cfg.lr).with_weight_decay(0.0))?;
        let pad = self.tokenizer().pad_id();
        let ce = CrossEntropyOptions::default();

        let mut epochs = Vec::with_capacity(cfg.epochs);
        let mut step = 0;
        for epoch in 1..=cfg.epochs {
            let start = Instant::now();
            self.model.set_training(true);
            let (mut loss_sum, mut seen) = (0.0f64, 0usize);
            for (b, idx) in epoch_batches(&lengths, cfg, epoch).into_iter().enumerate() {
                let rows: Vec<Vec<u32>> = idx.iter().map(|&i| enc.ids[i].clone()).collect();
                let targets: Vec<usize> = idx.iter().map(|&i| train.labels[i]).collect();
                let batch = Batch::from_ids(&rows, pad)?;
                let lr = cfg.lr * linear_warmup_decay(step, warmup, total);
                opt_decay.set_lr(lr);
                opt_plain.set_lr(lr);
                opt_decay.zero_grad();
                opt_plain.zero_grad();
                let logits = self.model.forward(&batch)?;
                let loss = cross_entropy(&logits, &targets, &ce)?;
                let value = loss.value().to_vec()[0] as f64;
                if !value.is_finite() {
                    return Err(Error::Diverged {
                        epoch,
                        batch: b,
                        loss: value,
                    });
                }
                loss.backward()?;
                if let Some(max) = cfg.max_grad_norm {
                    clip_grad_norm(&params, max, NormType::P(2.0))?;
                }
                opt_decay.step()?;
                opt_plain.step()?;
                loss_sum += value * idx.len() as f64;
                seen += idx.len();
                step += 1;
            }
            self.model.set_training(false);
            let val_accuracy = match (val, &val_ids) {
                (Some(v), Some(ids)) => {
                    let pred: Vec<usize> = self
                        .proba_of_ids(&ids.ids)?
                        .iter()
                        .map(|p| glassbox_tensor::ops::reduce::argmax(p))
                        .collect();
                    Some(glassbox_metrics::accuracy(&v.labels, &pred)?)
                }
                _ => None,
            };
            let e = TextEpoch {
                epoch,
                train_loss: loss_sum / seen.max(1) as f64,
                val_accuracy,
                seconds: start.elapsed().as_secs_f64(),
            };
            on_epoch(&e);
            epochs.push(e);
        }
        Ok(TextFit {
            epochs,
            truncated: enc.truncated,
            n_train: train.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_transformers_linear_warmup() {
        // get_linear_schedule_with_warmup(opt, 2, 10): 0, .5, 1, 7/8, …, 1/8, 0
        let f: Vec<f64> = (0..=10).map(|s| linear_warmup_decay(s, 2, 10)).collect();
        let want = [
            0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0,
        ];
        for (a, b) in f.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{f:?}");
        }
        assert_eq!(linear_warmup_decay(0, 0, 4), 1.0);
    }

    #[test]
    fn batches_cover_every_text_once_with_similar_lengths() {
        let lengths: Vec<usize> = (0..103).map(|i| (i * 37) % 101).collect();
        let cfg = TextTrainConfig {
            batch_size: 8,
            bucket: 4,
            ..TextTrainConfig::default()
        };
        let batches = epoch_batches(&lengths, &cfg, 1);
        let mut all: Vec<usize> = batches.concat();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        assert!(batches.iter().all(|b| b.len() <= 8));
        assert_ne!(batches, epoch_batches(&lengths, &cfg, 2));
        // within a batch the lengths are sorted (a group is sorted before cutting)
        assert!(batches
            .iter()
            .all(|b| b.windows(2).all(|w| lengths[w[0]] <= lengths[w[1]])));
    }
}
