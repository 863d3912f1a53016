//! `glassbox train`: fit a model on a CSV table or IDX images and save a bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use clap::Args;
use glassbox::data::split::{stratified_train_test_split, train_test_split};
use glassbox::distributed::Communicator;
use glassbox::tabular::fit_table;
use glassbox::{
    Architecture, Bundle, BundleMeta, History, ModelSpec, Network, OptimizerKind, Preprocessing,
    ProgressBar, Targets, Task, TrainConfig, TrainData, Trainer,
};
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{failure, usage, CliResult};
use crate::input::{is_idx, load_idx, load_table};

/// Flags of `glassbox train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data: a CSV file, or an IDX images file (`*-images-idx3-ubyte[.gz]`, labels beside it).
    #[arg(long, value_parser = crate::path_arg)]
    pub data: PathBuf,
    /// Target column (CSV only).
    #[arg(long)]
    pub target: Option<String>,
    /// Text column of a CSV: trains a Transformer text classifier (`--model transformer:…`)
    /// and writes a Hugging Face model directory to `--out`.
    #[arg(long)]
    pub text_column: Option<String>,
    /// Architecture: `mlp:128,64`, `cnn[:16,32]`, `lstm:64`, or for text
    /// `transformer:layers=2,hidden=128,heads=4,max_len=128,vocab=8000`.
    #[arg(long, default_value = "mlp:128,64")]
    pub model: String,
    /// Maximum number of epochs.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Samples per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Optimizer: adam, sgd (momentum 0.9) or adamw (weight decay 0.01).
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// Fraction of the data held out for validation and early stopping (0 to disable).
    #[arg(long, default_value_t = 0.2)]
    pub val_split: f64,
    /// Epochs without a better validation loss before stopping.
    #[arg(long, default_value_t = 5)]
    pub patience: usize,
    /// Seed of initialisation, split and shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the model bundle (a directory for text models).
    #[arg(long, default_value = "model.gbx", value_parser = crate::path_arg)]
    pub out: PathBuf,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
    /// Data-parallel training across the ranks of an MPI job (`mpirun -np N glassbox train
    /// … --distributed`): each rank takes its shard of every batch; rank 0 prints and
    /// writes the bundle.
    #[arg(long)]
    pub distributed: bool,
}

/// Training settings, stored in the bundle so `evaluate --cv` can retrain identically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// The architecture as specified.
    pub spec: ModelSpec,
    /// Maximum epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// Optimizer.
    pub optimizer: OptimizerKind,
    /// Validation fraction.
    pub val_split: f64,
    /// Early-stopping patience.
    pub patience: usize,
    /// Seed.
    pub seed: u64,
}

impl Hyper {
    /// Validates the flags of `train`.
    pub fn from_args(a: &TrainArgs) -> CliResult<Hyper> {
        let spec = ModelSpec::parse(&a.model)
            .map_err(|e| usage(format!("invalid value '{}' for '--model': {e}", a.model)))?;
        let optimizer = OptimizerKind::parse(&a.optimizer).ok_or_else(|| {
            usage(format!(
                "invalid value '{}' for '--optimizer': expected adam, sgd or adamw",
                a.optimizer
            ))
        })?;
        if a.epochs == 0 {
            return Err(usage(
                "invalid value '0' for '--epochs': must be at least 1",
            ));
        }
        if a.batch_size == 0 {
            return Err(usage(
                "invalid value '0' for '--batch-size': must be at least 1",
            ));
        }
        if !(a.lr.is_finite() && a.lr > 0.0) {
            return Err(usage(format!(
                "invalid value '{}' for '--lr': must be > 0",
                a.lr
            )));
        }
        if !(0.0..0.9).contains(&a.val_split) {
            return Err(usage(format!(
                "invalid value '{}' for '--val-split': must be in [0, 0.9)",
                a.val_split
            )));
        }
        Ok(Hyper {
            spec,
            epochs: a.epochs,
            batch_size: a.batch_size,
            lr: a.lr,
            optimizer,
            val_split: a.val_split,
            patience: a.patience.max(1),
            seed: a.seed,
        })
    }
}

/// Rows as an `f32` array of the network's input.
pub fn to_f32(x: &Array2<f64>) -> ndarray::ArrayD<f32> {
    x.mapv(|v| v as f32).into_dyn()
}

/// Targets of the rows `idx`.
pub fn subset_targets(t: &Targets, idx: &[usize]) -> Targets {
    match t {
        Targets::Classes { labels, n_classes } => Targets::Classes {
            labels: idx.iter().map(|&i| labels[i]).collect(),
            n_classes: *n_classes,
        },
        Targets::Values(v) => Targets::Values(idx.iter().map(|&i| v[i]).collect()),
    }
}

/// Builds `arch` and trains it on `x`/`targets` with a validation split and early stopping.
pub fn fit_rows(
    arch: &Architecture,
    x: &Array2<f64>,
    targets: &Targets,
    h: &Hyper,
    quiet: bool,
) -> CliResult<(Network, History)> {
    fit_rows_with(arch, x, targets, h, quiet, None)
}

/// [`fit_rows`], data-parallel over `comm`'s ranks when given.
pub fn fit_rows_with(
    arch: &Architecture,
    x: &Array2<f64>,
    targets: &Targets,
    h: &Hyper,
    quiet: bool,
    comm: Option<Arc<dyn Communicator>>,
) -> CliResult<(Network, History)> {
    let n = x.nrows();
    let (train_idx, val_idx) = if h.val_split > 0.0 && n >= 10 {
        match targets {
            Targets::Classes { labels, .. } => {
                stratified_train_test_split(labels, h.val_split, h.seed)
                    .or_else(|_| train_test_split(n, h.val_split, h.seed))?
            }
            Targets::Values(_) => train_test_split(n, h.val_split, h.seed)?,
        }
    } else {
        ((0..n).collect(), Vec::new())
    };
    let train = TrainData::new(
        to_f32(&x.select(Axis(0), &train_idx)),
        &subset_targets(targets, &train_idx),
    )?;
    let val = if val_idx.is_empty() {
        None
    } else {
        Some(TrainData::new(
            to_f32(&x.select(Axis(0), &val_idx)),
            &subset_targets(targets, &val_idx),
        )?)
    };
    let config = TrainConfig {
        epochs: h.epochs,
        batch_size: h.batch_size,
        lr: h.lr,
        optimizer: h.optimizer,
        seed: h.seed,
        patience: val.as_ref().map(|_| h.patience),
        ..TrainConfig::default()
    };
    let mut net = arch.build(h.seed)?;
    let bar = if quiet {
        ProgressBar::quiet()
    } else {
        ProgressBar::new()
    };
    let mut trainer = Trainer::new(config).with_callback(bar);
    if let Some(c) = comm {
        trainer = trainer.with_communicator(c);
    }
    let history = trainer.fit(&mut net, &train, val.as_ref())?;
    Ok((net, history))
}

/// A training set read from a file.
pub struct Loaded {
    /// Model-ready rows.
    pub x: Array2<f64>,
    /// Targets.
    pub targets: Targets,
    /// Task.
    pub task: Task,
    /// Preprocessing to store.
    pub preprocessing: Preprocessing,
    /// Feature names.
    pub feature_names: Vec<String>,
    /// One sample's shape for the architecture.
    pub sample_shape: Vec<usize>,
}

/// Reads a training file: CSV (with `target`) or IDX images.
pub fn load_training(path: &Path, target: Option<&str>, spec: &ModelSpec) -> CliResult<Loaded> {
    if is_idx(path) {
        let (x, labels, [h, w]) = load_idx(path)?;
        let labels = labels.ok_or_else(|| {
            failure(format!(
                "{}: no labels file found beside the images",
                path.display()
            ))
        })?;
        let n_classes = labels.iter().max().map_or(0, |m| m + 1);
        if n_classes < 2 {
            return Err(usage(format!(
                "invalid value '{}' for '--data': the labels beside the images hold a single \
                 class; a classifier needs at least two",
                path.display()
            )));
        }
        let feature_names = (0..h * w)
            .map(|i| format!("pixel_{}_{}", i / w, i % w))
            .collect();
        let sample_shape = match spec {
            ModelSpec::Lstm(_) => vec![h, w],
            _ => vec![1, h, w],
        };
        return Ok(Loaded {
            x: x.mapv(|v| v / 255.0),
            targets: Targets::Classes { labels, n_classes },
            task: Task::Classification {
                classes: (0..n_classes).map(|c| c.to_string()).collect(),
            },
            preprocessing: Preprocessing::Pixels { scale: 255.0 },
            feature_names,
            sample_shape,
        });
    }
    let target = target.ok_or_else(|| usage("the following required argument was not provided: '--target <TARGET>' (needed for CSV data)"))?;
    let table = load_table(path)?;
    if table.column(target).is_err() {
        return Err(failure(format!(
            "{}: target column '{target}' does not exist (columns: {})",
            path.display(),
            table.column_names().join(", ")
        )));
    }
    let set = fit_table(&table, target).map_err(|e| match e {
        // fit_table refuses a single-class target; on the command line that is a usage
        // error naming the flag and the file.
        e @ glassbox::Error::SingleClass { .. } => usage(format!(
            "invalid value '{target}' for '--target': {}: {e}",
            path.display()
        )),
        other => other.into(),
    })?;
    single_class_is_usage(&set.task, || {
        format!("target column '{target}' of {}", path.display())
    })?;
    let nf = set.x.ncols();
    Ok(Loaded {
        sample_shape: vec![nf],
        x: set.x,
        targets: set.targets,
        task: set.task,
        preprocessing: set.preprocessing,
        feature_names: set.feature_names,
    })
}

/// A classification target with a single class is a usage error naming `what` (the target
/// column and file): there is nothing to learn, and the model would "succeed" at 100%.
pub fn single_class_is_usage(task: &Task, what: impl Fn() -> String) -> CliResult<()> {
    if let Task::Classification { classes } = task {
        if classes.len() < 2 {
            return Err(usage(format!(
                "invalid value for '--target': {} holds a single class ({}); a classifier \
                 needs at least two",
                what(),
                classes
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(())
}

/// Output count of a task.
pub fn n_outputs(task: &Task) -> usize {
    match task {
        Task::Classification { classes } => classes.len(),
        Task::Regression { .. } => 1,
    }
}

/// Runs `glassbox train`.
pub fn run(a: TrainArgs) -> CliResult<()> {
    if crate::train_text::wants_text(&a) {
        return crate::train_text::run(a);
    }
    let h = Hyper::from_args(&a)?;
    let comm = crate::distributed::communicator(a.distributed)?;
    let root = crate::distributed::is_root(&comm);
    let quiet = a.quiet || !root;
    let data = load_training(&a.data, a.target.as_deref(), &h.spec)?;
    let arch = h
        .spec
        .resolve(&data.sample_shape, n_outputs(&data.task))
        .map_err(|e| usage(format!("invalid value '{}' for '--model': {e}", a.model)))?;
    if !quiet {
        eprintln!(
            "training {} on {} ({} samples, {} features)",
            arch.describe(),
            a.data.display(),
            data.x.nrows(),
            data.x.ncols()
        );
    }
    let (net, history) = fit_rows_with(&arch, &data.x, &data.targets, &h, quiet, comm)?;
    if !root {
        return Ok(());
    }
    let mut metrics = BTreeMap::new();
    if let Some(best) = history.best() {
        metrics.insert("train_loss".into(), best.train_loss);
        if let Some(v) = best.val_loss {
            metrics.insert("val_loss".into(), v);
        }
        if let Some(v) = best.val_accuracy {
            metrics.insert("val_accuracy".into(), v);
        }
    }
    let mut metadata = BTreeMap::new();
    metadata.insert("data".into(), a.data.display().to_string());
    metadata.insert(
        "hyper".into(),
        serde_json::to_string(&h).expect("settings serialise"),
    );
    let meta = BundleMeta {
        architecture: arch,
        task: data.task,
        target: a.target.clone(),
        feature_names: data.feature_names,
        preprocessing: data.preprocessing,
        history,
        metrics: metrics.clone(),
        metadata,
    };
    // Written beside --out, loaded back and checked on a few training rows before it
    // replaces --out: a bundle that cannot be loaded never overwrites a good one.
    let probe = data.x.slice(ndarray::s![..data.x.nrows().min(8), ..]);
    Bundle::new(&net, meta)?.save_verified(&a.out, glassbox::to_f32(probe).view())?;
    let summary: Vec<String> = metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
    println!("saved {} ({})", a.out.display(), summary.join(", "));
    Ok(())
}
