//! A training loop over a [`DataLoader`] with callbacks, validation metrics per epoch, early
//! stopping, checkpointing/resume, learning-rate schedules and a metric history.
//!
//! Manual PyTorch-style loops stay first-class: [`Trainer`] only calls the public `Module`,
//! loss and `Optimizer` APIs that a hand-written loop would call.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use glassbox_autograd::{no_grad, Var};
use glassbox_data::{ArrayDataset, DataLoader, Dataset, LoaderConfig};
use glassbox_distributed::{broadcast_module, Communicator, Replicas};
use glassbox_nn::{
    cross_entropy, load_state_dict, mse_loss, state_dict, sync_batch_statistics,
    CrossEntropyOptions, Module, Reduction,
};
use glassbox_optim::{
    clip_grad_norm, AdamConfig, AdamWConfig, Checkpoint, LrScheduler, NormType, Optim, Optimizer,
    Schedule, SchedulerState, SgdConfig,
};
use glassbox_tensor::Tensor;
use ndarray::{ArrayD, Axis, IxDyn};
use serde::{Deserialize, Serialize};

use crate::data_parallel;
use crate::error::{Error, Result};
use crate::history::{EpochMetrics, History};

/// The optimizer a [`Trainer`] creates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// SGD with momentum (0 for plain SGD).
    Sgd {
        /// Momentum factor.
        momentum: f64,
    },
    /// Adam.
    Adam,
    /// AdamW with decoupled weight decay.
    AdamW {
        /// Weight decay.
        weight_decay: f64,
    },
}

impl OptimizerKind {
    /// Parses `sgd`, `adam` or `adamw` (momentum 0.9, weight decay 0.01).
    pub fn parse(name: &str) -> Option<OptimizerKind> {
        match name.to_ascii_lowercase().as_str() {
            "sgd" => Some(OptimizerKind::Sgd { momentum: 0.9 }),
            "adam" => Some(OptimizerKind::Adam),
            "adamw" => Some(OptimizerKind::AdamW { weight_decay: 0.01 }),
            _ => None,
        }
    }

    /// Creates the optimizer over `params` with learning rate `lr`.
    pub fn build(&self, params: Vec<(String, Var)>, lr: f64) -> Result<Box<dyn Optimizer>> {
        Ok(match *self {
            OptimizerKind::Sgd { momentum } => Box::new(Optim::new(
                params,
                SgdConfig::new(lr).with_momentum(momentum),
            )?),
            OptimizerKind::Adam => Box::new(Optim::new(params, AdamConfig::adam(lr))?),
            OptimizerKind::AdamW { weight_decay } => Box::new(Optim::new(
                params,
                AdamWConfig::new(lr).with_weight_decay(weight_decay),
            )?),
        })
    }
}

/// Options of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// Optimizer.
    pub optimizer: OptimizerKind,
    /// Seed of the per-epoch shuffles.
    pub seed: u64,
    /// Stop after this many epochs without a better validation loss and restore the best
    /// weights (needs a validation set).
    pub patience: Option<usize>,
    /// Per-epoch learning-rate schedule.
    pub schedule: Option<Schedule>,
    /// Clip the global gradient L2 norm to this value before each step.
    pub clip_norm: Option<f64>,
    /// Write a checkpoint here after every epoch.
    pub checkpoint: Option<PathBuf>,
    /// Resume from `checkpoint` when it exists.
    pub resume: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 32,
            lr: 1e-3,
            optimizer: OptimizerKind::Adam,
            seed: 0,
            patience: None,
            schedule: None,
            clip_norm: None,
            checkpoint: None,
            resume: false,
        }
    }
}

/// Training targets.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices in `0..n_classes` (cross-entropy loss).
    Classes {
        /// One index per sample.
        labels: Vec<usize>,
        /// Number of classes (network outputs).
        n_classes: usize,
    },
    /// Real values (mean-squared-error loss on the single output).
    Values(Vec<f32>),
}

impl Targets {
    fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values(v) => v.len(),
        }
    }

    fn as_f32(&self) -> Vec<f32> {
        match self {
            Targets::Classes { labels, .. } => labels.iter().map(|&c| c as f32).collect(),
            Targets::Values(v) => v.clone(),
        }
    }

    fn is_classification(&self) -> bool {
        matches!(self, Targets::Classes { .. })
    }
}

/// Inputs (first axis = samples, any sample shape the network accepts) and targets.
#[derive(Debug, Clone)]
pub struct TrainData {
    pub(crate) dataset: ArrayDataset<f32, f32>,
    pub(crate) classification: bool,
    n: usize,
}

impl TrainData {
    /// Pairs `x` with `targets`. Errors on a length mismatch or a class index out of range.
    pub fn new(x: ArrayD<f32>, targets: &Targets) -> Result<TrainData> {
        if x.ndim() == 0 || x.shape()[0] != targets.len() {
            return Err(Error::Input(format!(
                "{} input samples but {} targets",
                x.shape().first().copied().unwrap_or(0),
                targets.len()
            )));
        }
        if let Targets::Classes { labels, n_classes } = targets {
            if let Some((i, &c)) = labels.iter().enumerate().find(|(_, &c)| c >= *n_classes) {
                return Err(Error::Input(format!(
                    "target of sample {i} is class {c}, but there are {n_classes} classes"
                )));
            }
        }
        let n = targets.len();
        let y = ArrayD::from_shape_vec(IxDyn(&[n]), targets.as_f32())
            .map_err(|e| Error::Input(e.to_string()))?;
        Ok(TrainData {
            dataset: ArrayDataset::new(x, y)?,
            classification: targets.is_classification(),
            n,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

/// Progress inside an epoch, passed to [`Callback::on_batch_end`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Total epochs planned.
    pub epochs: usize,
    /// Samples processed so far in this epoch.
    pub seen: usize,
    /// Samples per epoch.
    pub total: usize,
    /// Running mean loss of the epoch.
    pub loss: f64,
    /// Running accuracy of the epoch (classification).
    pub accuracy: Option<f64>,
    /// Seconds since the epoch started.
    pub elapsed: f64,
}

/// Hooks called by [`Trainer::fit`]. Every method has an empty default.
pub trait Callback {
    /// Before the first epoch, with the number of training samples.
    fn on_train_begin(&mut self, _n_train: usize, _epochs: usize) {}
    /// After every batch.
    fn on_batch_end(&mut self, _progress: &BatchProgress) {}
    /// After every epoch (validation included).
    fn on_epoch_end(&mut self, _metrics: &EpochMetrics) {}
    /// After training.
    fn on_train_end(&mut self, _history: &History) {}
}

/// Runs training epochs over a [`DataLoader`], calling its callbacks.
///
/// With a [`Communicator`] of several processes ([`Trainer::with_communicator`]) training
/// is data-parallel: rank 0's weights are broadcast, every rank takes its shard of each
/// seeded global batch, gradient sums and sample counts are all-reduced and divided by the
/// global count, BatchNorm uses global-batch statistics, only rank 0 writes checkpoints.
pub struct Trainer {
    config: TrainConfig,
    callbacks: Vec<Box<dyn Callback>>,
    comm: Option<Arc<dyn Communicator>>,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("callbacks", &self.callbacks.len())
            .field("processes", &self.comm.as_ref().map_or(1, |c| c.size()))
            .finish()
    }
}

struct EpochStats {
    loss: f64,
    correct: usize,
    n: usize,
}

impl Trainer {
    /// A trainer with `config` and no callbacks.
    pub fn new(config: TrainConfig) -> Trainer {
        Trainer {
            config,
            callbacks: Vec::new(),
            comm: None,
        }
    }

    /// Trains data-parallel over the processes of `comm` (every rank calls
    /// [`fit`](Trainer::fit) with the same data, model structure and settings). The
    /// parameters end equal on every rank and equal, up to rounding, to one process
    /// training on the same global batches.
    pub fn with_communicator(mut self, comm: Arc<dyn Communicator>) -> Trainer {
        self.comm = Some(comm);
        self
    }

    /// Adds a callback.
    pub fn with_callback(mut self, callback: impl Callback + 'static) -> Trainer {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    fn validate(&self, train: &TrainData, val: Option<&TrainData>) -> Result<()> {
        let c = &self.config;
        if c.epochs == 0 {
            return Err(Error::Config {
                option: "epochs",
                reason: "must be at least 1".into(),
            });
        }
        if c.batch_size == 0 {
            return Err(Error::Config {
                option: "batch_size",
                reason: "must be at least 1".into(),
            });
        }
        if !(c.lr.is_finite() && c.lr > 0.0) {
            return Err(Error::Config {
                option: "lr",
                reason: format!("{} is not a positive finite number", c.lr),
            });
        }
        if c.patience.is_some() && val.is_none() {
            return Err(Error::Config {
                option: "patience",
                reason: "early stopping needs a validation set".into(),
            });
        }
        if train.is_empty() {
            return Err(Error::Input("no training samples".into()));
        }
        Ok(())
    }

    /// Trains `model` on `train`, evaluating on `val` after every epoch, and returns the
    /// history. With `patience`, the weights of the best validation epoch are restored.
    pub fn fit(
        &mut self,
        model: &mut dyn Module,
        train: &TrainData,
        val: Option<&TrainData>,
    ) -> Result<History> {
        self.validate(train, val)?;
        let cfg = self.config.clone();
        let mut optimizer = cfg.optimizer.build(model.named_parameters(), cfg.lr)?;
        let mut scheduler = match &cfg.schedule {
            Some(s) => Some(LrScheduler::new(s.clone(), cfg.lr)?),
            None => None,
        };
        let loader = DataLoader::new(
            train.dataset.clone(),
            LoaderConfig {
                batch_size: cfg.batch_size,
                shuffle: true,
                seed: cfg.seed,
                drop_last: false,
                prefetch: 2,
            },
        )?;
        let comm = self.comm.clone();
        if let Some(c) = &comm {
            data_parallel::check_agreement(c.as_ref(), model, &cfg, train, val)?;
        }
        let mut history = History::default();
        let mut start_epoch = 0usize;
        if let (true, Some(path)) = (cfg.resume, &cfg.checkpoint) {
            let ck = match &comm {
                Some(c) => data_parallel::load_checkpoint(c.as_ref(), path)?,
                None if path.exists() => Some(Checkpoint::load(path)?),
                None => None,
            };
            if let Some(ck) = ck {
                ck.restore(model, optimizer.as_mut())?;
                if let SchedulerState::Epoch(s) = &ck.scheduler {
                    scheduler = Some(s.clone());
                }
                start_epoch = ck.epoch as usize;
                if let Some(h) = ck.metadata.get("history") {
                    history = serde_json::from_str(h).map_err(|e| Error::Bundle {
                        path: path.display().to_string(),
                        reason: format!("checkpoint history is not valid: {e}"),
                    })?;
                }
            }
        }
        // Data parallel: start from rank 0's weights; BatchNorm on global-batch statistics.
        let _sync_bn = match &comm {
            Some(c) => {
                broadcast_module(c.as_ref(), model)?;
                Some(sync_batch_statistics(Arc::new(Replicas(Arc::clone(c)))))
            }
            None => None,
        };
        for cb in &mut self.callbacks {
            cb.on_train_begin(train.len(), cfg.epochs);
        }
        let mut best: Option<(f64, glassbox_nn::StateDict)> = None;
        let mut bad_epochs = 0usize;
        for epoch in start_epoch + 1..=cfg.epochs {
            let started = Instant::now();
            let lr = scheduler.as_ref().map_or(cfg.lr, LrScheduler::lr);
            optimizer.set_lr(lr);
            model.set_training(true);
            let stats = self.train_epoch(model, optimizer.as_mut(), &loader, train, epoch)?;
            model.set_training(false);
            let (val_loss, val_acc) = match (val, &comm) {
                (Some(v), None) => {
                    let (l, a) = evaluate_loss(model, v, cfg.batch_size.max(256))?;
                    (Some(l), a)
                }
                (Some(v), Some(c)) => {
                    let (l, a) =
                        data_parallel::evaluate(c.as_ref(), model, v, cfg.batch_size.max(256))?;
                    (Some(l), a)
                }
                (None, _) => (None, None),
            };
            if let Some(c) = &comm {
                data_parallel::check_replicas(c.as_ref(), model, epoch)?;
            }
            if let Some(s) = scheduler.as_mut() {
                s.step();
            }
            let metrics = EpochMetrics {
                epoch,
                train_loss: stats.loss / stats.n as f64,
                train_accuracy: train
                    .classification
                    .then(|| stats.correct as f64 / stats.n as f64),
                val_loss,
                val_accuracy: val_acc,
                learning_rate: lr,
                seconds: started.elapsed().as_secs_f64(),
            };
            history.epochs.push(metrics.clone());
            history.best_epoch = epoch;
            for cb in &mut self.callbacks {
                cb.on_epoch_end(&metrics);
            }
            let writes = comm.as_ref().is_none_or(|c| c.is_root());
            if let (Some(path), true) = (&cfg.checkpoint, writes) {
                let sched = scheduler
                    .clone()
                    .map_or(SchedulerState::None, SchedulerState::Epoch);
                let mut ck =
                    Checkpoint::capture(model, optimizer.as_ref(), sched, epoch as u64, None);
                ck.metadata.insert(
                    "history".into(),
                    serde_json::to_string(&history).expect("history serialises"),
                );
                ck.save(path)?;
            }
            if let (Some(patience), Some(vl)) = (cfg.patience, val_loss) {
                if best.as_ref().is_none_or(|(b, _)| vl < *b) {
                    best = Some((vl, state_dict(model)));
                    bad_epochs = 0;
                } else {
                    bad_epochs += 1;
                    if bad_epochs >= patience {
                        history.stopped_early = epoch < cfg.epochs;
                        break;
                    }
                }
            }
        }
        if let Some((loss, sd)) = best {
            load_state_dict(model, &sd)?;
            if let Some(e) = history.epochs.iter().find(|e| e.val_loss == Some(loss)) {
                history.best_epoch = e.epoch;
            }
        }
        model.set_training(false);
        for cb in &mut self.callbacks {
            cb.on_train_end(&history);
        }
        Ok(history)
    }

    fn train_epoch(
        &mut self,
        model: &dyn Module,
        optimizer: &mut dyn Optimizer,
        loader: &DataLoader<ArrayDataset<f32, f32>>,
        train: &TrainData,
        epoch: usize,
    ) -> Result<EpochStats> {
        let started = Instant::now();
        let mut stats = EpochStats {
            loss: 0.0,
            correct: 0,
            n: 0,
        };
        let comm = self.comm.clone();
        let (rank, size) = comm.as_ref().map_or((0, 1), |c| (c.rank(), c.size()));
        for (b, batch) in loader.epoch_shard(epoch as u64, rank, size).enumerate() {
            let (x, y) = batch?;
            let bs = y.len();
            optimizer.zero_grad();
            let out = model.forward(&Var::constant(Tensor::from(x)))?;
            let Some(c) = &comm else {
                let loss = batch_loss(&out, &y, train.classification)?;
                let lv = loss.value().to_vec()[0] as f64;
                if !lv.is_finite() {
                    return Err(Error::Diverged {
                        epoch,
                        batch: b,
                        loss: lv,
                    });
                }
                loss.backward()?;
                self.step(optimizer)?;
                stats.loss += lv * bs as f64;
                stats.n += bs;
                if train.classification {
                    stats.correct += count_correct(&out.value(), &y);
                }
                self.batch_end(epoch, &stats, train, started);
                continue;
            };
            // Data parallel: gradients of this shard's loss sum, then summed over the ranks
            // and divided by the global batch size.
            let loss = batch_loss_with(&out, &y, train.classification, Reduction::Sum)?;
            loss.backward()?;
            let correct = if train.classification {
                count_correct(&out.value(), &y)
            } else {
                0
            };
            let sums = data_parallel::reduce_step(
                c.as_ref(),
                model,
                bs,
                loss.value().to_vec()[0],
                correct,
            )?;
            let lv = sums.loss / sums.n as f64;
            if !lv.is_finite() {
                return Err(Error::Diverged {
                    epoch,
                    batch: b,
                    loss: lv,
                });
            }
            self.step(optimizer)?;
            stats.loss += sums.loss;
            stats.n += sums.n;
            stats.correct += sums.correct;
            self.batch_end(epoch, &stats, train, started);
        }
        Ok(stats)
    }

    /// Clips the gradients (when configured) and takes an optimizer step.
    fn step(&self, optimizer: &mut dyn Optimizer) -> Result<()> {
        if let Some(max) = self.config.clip_norm {
            clip_grad_norm(optimizer.parameters(), max, NormType::P(2.0))?;
        }
        optimizer.step()?;
        Ok(())
    }

    fn batch_end(&mut self, epoch: usize, stats: &EpochStats, train: &TrainData, started: Instant) {
        let progress = BatchProgress {
            epoch,
            epochs: self.config.epochs,
            seen: stats.n,
            total: train.len(),
            loss: stats.loss / stats.n as f64,
            accuracy: train
                .classification
                .then(|| stats.correct as f64 / stats.n as f64),
            elapsed: started.elapsed().as_secs_f64(),
        };
        for cb in &mut self.callbacks {
            cb.on_batch_end(&progress);
        }
    }
}

fn batch_loss(out: &Var, y: &ArrayD<f32>, classification: bool) -> Result<Var> {
    batch_loss_with(out, y, classification, Reduction::Mean)
}

/// Cross-entropy (classification) or squared error, averaged or summed over the batch.
fn batch_loss_with(
    out: &Var,
    y: &ArrayD<f32>,
    classification: bool,
    reduction: Reduction,
) -> Result<Var> {
    if classification {
        let labels: Vec<usize> = y.iter().map(|&v| v as usize).collect();
        let options = CrossEntropyOptions {
            reduction,
            ..CrossEntropyOptions::default()
        };
        Ok(cross_entropy(out, &labels, &options)?)
    } else {
        let t = Tensor::from(y.clone().insert_axis(Axis(1)).into_dyn());
        Ok(mse_loss(out, &t, reduction)?)
    }
}

fn count_correct(out: &Tensor, y: &ArrayD<f32>) -> usize {
    let o = out.as_array();
    let c = o.shape()[1];
    let data: Vec<f32> = out.to_vec();
    y.iter()
        .enumerate()
        .filter(|(i, &t)| argmax(&data[i * c..(i + 1) * c]) == t as usize)
        .count()
}

/// Index of the largest value (the first on ties; NaN counts as the largest).
pub use glassbox_tensor::ops::reduce::argmax;

/// Mean loss (and accuracy for classification) of `model` on `data`, without recording a
/// graph.
pub fn evaluate_loss(
    model: &dyn Module,
    data: &TrainData,
    batch_size: usize,
) -> Result<(f64, Option<f64>)> {
    let idx: Vec<usize> = (0..data.len()).collect();
    let (total, correct) = evaluate_sums(model, data, batch_size, &idx)?;
    let n = data.len() as f64;
    Ok((total / n, data.classification.then(|| correct as f64 / n)))
}

/// Loss sum and correct count of `model` over the samples `idx` of `data`, in batches of
/// `batch_size`, without recording a graph.
pub(crate) fn evaluate_sums(
    model: &dyn Module,
    data: &TrainData,
    batch_size: usize,
    idx: &[usize],
) -> Result<(f64, usize)> {
    let (mut total, mut correct) = (0.0, 0usize);
    for chunk in idx.chunks(batch_size.max(1)) {
        let (x, y) = data.dataset.batch(chunk)?;
        let out = no_grad(|| model.forward(&Var::constant(Tensor::from(x))))?;
        let l = no_grad(|| batch_loss(&out, &y, data.classification))?;
        total += l.value().to_vec()[0] as f64 * chunk.len() as f64;
        if data.classification {
            correct += count_correct(&out.value(), &y);
        }
    }
    Ok((total, correct))
}
