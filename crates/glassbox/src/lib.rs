//! # glassbox
//!
//! Train, evaluate, explain and serve neural networks on the CPU, with interpretability as a
//! first-class citizen. This umbrella crate re-exports the layered crates (each usable on its
//! own) and adds what ties them together:
//!
//! - [`Architecture`] / [`ModelSpec`]: a serialisable network description (MLP, small CNN,
//!   LSTM) from which a [`Network`] is rebuilt;
//! - [`Trainer`]: a training loop over a `DataLoader` with [`Callback`]s (a live
//!   [`ProgressBar`]), validation metrics per epoch, early stopping, checkpoint/resume,
//!   learning-rate schedules and a metric [`History`];
//! - [`Network::predict`], [`Network::predict_proba`], [`Network::predict_outputs`]:
//!   scikit-learn-shaped inference on `f32` batches (the network knows its class count);
//! - [`Bundle`]: one versioned, checksummed, atomically written file with architecture,
//!   weights, fitted preprocessing, class and feature names, history and metrics, built
//!   from the fit ([`Bundle::from_table`], [`Bundle::from_images`]); [`Model`] is a bundle
//!   loaded to predict on raw tables;
//! - [`serve`] (feature `serve`, on by default): bundles served over the Open Inference
//!   Protocol by `glassbox-serve` ([`serve::BundleModel`]);
//! - [`tabular`]: CSV table → model-ready rows (imputation, one-hot, scaling), stored in the
//!   bundle and re-applied unchanged;
//! - [`explain_text`]: Layer Integrated Gradients of Hugging Face text models (BERT
//!   classifiers, GPT-2's next token and continuations) with tokens, offsets and words;
//! - [`AutoModel`] / [`ModelSource`] ([`source`]): one way to open any model path — a bundle
//!   file, or a Hugging Face directory holding a text classifier, a sentence embedder or a
//!   GPT-2 — and a typed error when a model is asked for what its kind cannot do.
//!
//! | layer | crate | re-exported as |
//! | --- | --- | --- |
//! | tensors and kernels | `glassbox-tensor` | [`tensor`] |
//! | autograd | `glassbox-autograd` | [`autograd`] |
//! | layers, losses, model files | `glassbox-nn` | [`nn`] |
//! | optimizers, schedules, checkpoints | `glassbox-optim` | [`optim`] |
//! | tables, preprocessing, loaders | `glassbox-data` | [`data`] |
//! | metrics, cross-validation | `glassbox-metrics` | [`metrics`] |
//! | explanations | `glassbox-explain` | [`explain`] |
//! | HTML reports | `glassbox-report` | [`report`] |
//! | Open Inference Protocol server | `glassbox-serve` | [`serving`] (feature `serve`) |
//! | Hugging Face directories: safetensors, tokenizers, BERT, GPT-2 | `glassbox-hf` | [`hf`] |
//! | data-parallel training, distributed explanations (MPI with the `distributed` feature) | `glassbox-distributed` | [`distributed`] |
//!
//! Train → evaluate → explain → save, on the iris data shipped in the repository. Tables
//! are `f64` (as in `glassbox-data`); networks take and return `f32`, and the crossing is
//! the explicit [`to_f32`]:
//!
//! ```
//! use glassbox::prelude::*;
//! use ndarray::Axis;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tabular/iris.csv");
//! let table = read_csv(path, &CsvOptions::default())?;
//! let set = fit_table(&table, "target")?;            // scaler + target encoding
//! let Targets::Classes { labels, n_classes } = &set.targets else { unreachable!() };
//! let (train_idx, test_idx) = stratified_train_test_split(labels, 0.3, 0)?;
//! let x = to_f32(set.x.view());
//! let rows = |idx: &[usize]| x.select(Axis(0), idx);
//! let pick = |idx: &[usize]| idx.iter().map(|&i| labels[i]).collect::<Vec<_>>();
//!
//! // Train a small MLP.
//! let mut net = ModelSpec::parse("mlp:16")?.for_table(&set)?.build(0)?;
//! let train = TrainData::new(
//!     rows(&train_idx).into_dyn(),
//!     &Targets::Classes { labels: pick(&train_idx), n_classes: *n_classes },
//! )?;
//! let config = TrainConfig { epochs: 60, batch_size: 16, lr: 0.01, ..TrainConfig::default() };
//! let history = Trainer::new(config).fit(&mut net, &train, None)?;
//! assert_eq!(history.epochs.len(), 60);
//!
//! // Evaluate.
//! let x_test = rows(&test_idx);
//! net.eval();
//! let proba = net.predict_proba(&x_test)?;            // [rows, classes], f32
//! let acc = accuracy(&pick(&test_idx), &net.predict(&x_test)?)?;
//! assert!(acc > 0.85, "accuracy {acc}");
//!
//! // Explain one prediction with Kernel SHAP: attributions sum to f(x) − E[f(background)].
//! let f = net.proba_predictor();                      // knows its 3 classes
//! let background = Background::kmeans(set.x.select(Axis(0), &train_idx).view(), 10, 0)?;
//! let first = set.x.select(Axis(0), &test_idx[..1]);
//! let shap = KernelShap::new(&f, background, KernelShapConfig::default())?.explain(first.view())?;
//! assert!(shap.efficiency_gap() < 1e-6);
//!
//! // Save everything in one bundle (metadata derived from the fit) and load it back.
//! let file = std::env::temp_dir().join(format!("iris-{}.gbx", std::process::id()));
//! Bundle::from_table(&net, &set)?
//!     .with_history(history)
//!     .with_metric("test_accuracy", acc)
//!     .save(&file)?;
//! let model = Model::load(&file)?;
//! assert_eq!(model.predict_proba(&x_test)?, proba);
//! let Predictions::Classes { labels: names, .. } = model.predict_table(&table)? else { unreachable!() };
//! assert_eq!(names.len(), 150);
//! # std::fs::remove_file(&file).ok();
//! # Ok::<(), glassbox::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod arch;
pub mod arch_limits;
pub mod bundle;
mod data_parallel;
mod error;
mod estimator;
pub mod eval;
pub mod explain_text;
pub mod gradient;
pub mod history;
mod inference;
pub mod model;
pub mod predict;
pub mod progress;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "serve")]
pub mod serve_text;
pub mod source;
pub mod tabular;
pub mod text;
pub mod trainer;

pub use glassbox_autograd as autograd;
pub use glassbox_data as data;
pub use glassbox_distributed as distributed;
pub use glassbox_explain as explain;
/// Hugging Face model directories (`glassbox-hf`): safetensors, configs, tokenizers, BERT,
/// GPT-2; reached through [`AutoModel`].
pub use glassbox_hf as hf;
pub use glassbox_metrics as metrics;
pub use glassbox_nn as nn;
pub use glassbox_optim as optim;
pub use glassbox_report as report;
/// The Open Inference Protocol server (`glassbox-serve`); [`serve`] plugs bundles into it.
#[cfg(feature = "serve")]
pub use glassbox_serve as serving;
pub use glassbox_tensor as tensor;

pub use arch::{Architecture, ModelSpec, Network};
pub use bundle::{Bundle, BundleMeta, Preprocessing, Task, BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC};
pub use error::{Error, Result};
pub use estimator::Classifier;
/// Explicit conversions between the `f64` tables of `glassbox-data` and the `f32` boundary
/// of networks (training, prediction).
pub use glassbox_data::convert::{to_f32, to_f64};
/// The convolution and pooling layers of the CNN architectures (`glassbox-nn`'s).
pub use glassbox_nn::{Conv2d, MaxPool2d};
pub use history::{EpochMetrics, History};
pub use model::{Model, Predictions};
pub use predict::{
    output_predictor, predict_outputs, predict_proba, proba_predictor, NetworkPredictor,
};
pub use progress::ProgressBar;
pub use source::{
    AutoModel, Generation, HfArchitecture, LoadedModel, ModelSource, TextEmbedder, TextGenerator,
};
pub use tabular::{fit_table, transform_table, TabularSet};
pub use text::{LongInputs, TextClassifier};
pub use trainer::{
    BatchProgress, Callback, OptimizerKind, Targets, TrainConfig, TrainData, Trainer,
};

/// The repository README, whose Rust blocks (the "Coming from PyTorch / scikit-learn"
/// section) run as doctests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The common path in one import: `use glassbox::prelude::*;` compiles a PyTorch-style
/// training loop (model, loss, backward, optimizer step, `zero_grad`, data loader), the
/// scikit-learn-style path (tables, preprocessing, splits, `predict`/`predict_proba`,
/// metrics, bundles) and the usual explainers.
///
/// ```
/// use glassbox::prelude::*;
///
/// let mut rng = Rng::new(0);
/// let model = Sequential::new()
///     .add(Linear::new(2, 16, true, &mut rng)?)
///     .add(Activation::relu())
///     .add(Linear::new(16, 2, true, &mut rng)?);
/// let mut opt = Adam::new(model.named_parameters(), AdamConfig::adam(0.05))?;
/// // XOR-like labels: class 1 when the two features have the same sign.
/// let x = Tensor::rand_uniform(&[128, 2], -1.0, 1.0, &mut rng);
/// let labels: Vec<usize> = x.to_vec().chunks(2).map(|r| usize::from(r[0] * r[1] > 0.0)).collect();
/// let data = ArrayDataset::new(x.into_array(), ndarray::Array1::from(labels).into_dyn())?;
/// let loader = DataLoader::new(data, LoaderConfig { batch_size: 32, shuffle: true, ..LoaderConfig::default() })?;
/// let mut last = f32::INFINITY;
/// for epoch in 0..60 {
///     for batch in loader.epoch(epoch) {
///         let (xb, yb) = batch?;
///         let y: Vec<usize> = yb.iter().copied().collect();
///         opt.zero_grad();
///         let logits = model.forward(&Var::constant(Tensor::from(xb)))?;
///         let loss = cross_entropy(&logits, &y, &CrossEntropyOptions::default())?;
///         loss.backward()?;
///         opt.step()?;
///         last = loss.value().to_vec()[0];
///     }
/// }
/// assert!(last < 0.3, "loss {last}");
/// # Ok::<(), glassbox::Error>(())
/// ```
pub mod prelude {
    pub use crate::{
        fit_table, to_f32, to_f64, transform_table, Architecture, Bundle, BundleMeta, Callback,
        Classifier, Error, History, Model, ModelSpec, Network, OptimizerKind, Predictions,
        ProgressBar, Targets, Task, TrainConfig, TrainData, Trainer,
    };
    pub use glassbox_autograd::{no_grad, Var};
    pub use glassbox_data::preprocess::{Fit, StandardScaler, Transform};
    pub use glassbox_data::split::{
        stratified_train_test_split, train_test_split, KFold, StratifiedKFold,
    };
    pub use glassbox_data::{
        read_csv, ArrayDataset, CsvOptions, DataLoader, Dataset, LoaderConfig, Table,
    };
    pub use glassbox_explain::shapley::{Background, KernelShap, KernelShapConfig};
    pub use glassbox_explain::Predictor;
    pub use glassbox_metrics::{
        accuracy, classification_report, confusion_matrix, cross_validate, Estimator,
    };
    pub use glassbox_nn::{
        cross_entropy, load, load_state_dict, mse_loss, save, state_dict, Activation, Conv2d,
        Conv2dConfig, CrossEntropyOptions, Dropout, Flatten, Linear, MaxPool2d, Module, Reduction,
        Sequential,
    };
    pub use glassbox_optim::{Adam, AdamConfig, LrScheduler, Optimizer, Schedule, Sgd, SgdConfig};
    pub use glassbox_tensor::{rng::Rng, Tensor};
}
