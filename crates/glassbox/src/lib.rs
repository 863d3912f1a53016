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
//! - [`Bundle`]: one versioned, checksummed, atomically written file with architecture,
//!   weights, fitted preprocessing, class and feature names, history and metrics;
//! - [`tabular`]: CSV table → model-ready rows (imputation, one-hot, scaling), stored in the
//!   bundle and re-applied unchanged.
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
//! | data-parallel training, distributed explanations (MPI with the `distributed` feature) | `glassbox-distributed` | [`distributed`] |
//!
//! Train → evaluate → explain → save, on the iris data shipped in the repository:
//!
//! ```
//! use glassbox::prelude::*;
//! use glassbox::explain::shapley::{Background, KernelShap, KernelShapConfig};
//! use ndarray::Axis;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tabular/iris.csv");
//! let table = read_csv(path, &CsvOptions::default())?;
//! let set = fit_table(&table, "target")?;            // scaler + target encoding
//! let Targets::Classes { labels, n_classes } = &set.targets else { unreachable!() };
//! let (train_idx, test_idx) = stratified_train_test_split(labels, 0.3, 0)?;
//! let rows = |idx: &[usize]| set.x.select(Axis(0), idx);
//! let pick = |idx: &[usize]| idx.iter().map(|&i| labels[i]).collect::<Vec<_>>();
//!
//! // Train a small MLP.
//! let arch = ModelSpec::parse("mlp:16")?.resolve(&[set.x.ncols()], *n_classes)?;
//! let mut net = arch.build(0)?;
//! let train = TrainData::new(
//!     rows(&train_idx).mapv(|v| v as f32).into_dyn(),
//!     &Targets::Classes { labels: pick(&train_idx), n_classes: *n_classes },
//! )?;
//! let config = TrainConfig { epochs: 60, batch_size: 16, lr: 0.01, ..TrainConfig::default() };
//! let history = Trainer::new(config).fit(&mut net, &train, None)?;
//! assert_eq!(history.epochs.len(), 60);
//!
//! // Evaluate.
//! let x_test = rows(&test_idx);
//! let proba = predict_proba(&net, x_test.view())?;
//! let predicted: Vec<usize> = proba.rows().into_iter()
//!     .map(|r| r.iter().enumerate().fold(0, |b, (i, v)| if *v > r[b] { i } else { b }))
//!     .collect();
//! let acc = accuracy(&pick(&test_idx), &predicted)?;
//! assert!(acc > 0.85, "accuracy {acc}");
//!
//! // Explain one prediction with Kernel SHAP: attributions sum to f(x) − E[f(background)].
//! let f = proba_predictor(&net, *n_classes);
//! let background = Background::kmeans(rows(&train_idx).view(), 10, 0)?;
//! let shap = KernelShap::new(&f, background, KernelShapConfig::default())?
//!     .explain(x_test.slice(ndarray::s![0..1, ..]))?;
//! assert!(shap.efficiency_gap() < 1e-6);
//!
//! // Save everything in one bundle and load it back.
//! let meta = BundleMeta {
//!     architecture: arch,
//!     task: set.task.clone(),
//!     target: Some("target".into()),
//!     feature_names: set.feature_names.clone(),
//!     preprocessing: set.preprocessing.clone(),
//!     history,
//!     metrics: [("test_accuracy".to_string(), acc)].into(),
//!     metadata: Default::default(),
//! };
//! let file = std::env::temp_dir().join(format!("iris-{}.gbx", std::process::id()));
//! Bundle::new(&net, meta)?.save(&file)?;
//! let restored = Bundle::load(&file)?.network()?;
//! assert_eq!(predict_proba(&restored, x_test.view())?, proba);
//! # std::fs::remove_file(&file).ok();
//! # Ok::<(), glassbox::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod arch;
pub mod bundle;
mod data_parallel;
mod error;
pub mod eval;
pub mod gradient;
pub mod history;
pub mod predict;
pub mod progress;
pub mod tabular;
pub mod trainer;

pub use glassbox_autograd as autograd;
pub use glassbox_data as data;
pub use glassbox_distributed as distributed;
pub use glassbox_explain as explain;
pub use glassbox_metrics as metrics;
pub use glassbox_nn as nn;
pub use glassbox_optim as optim;
pub use glassbox_report as report;
pub use glassbox_tensor as tensor;

pub use arch::{Architecture, ModelSpec, Network};
pub use bundle::{Bundle, BundleMeta, Preprocessing, Task, BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC};
pub use error::{Error, Result};
/// The convolution and pooling layers of the CNN architectures (`glassbox-nn`'s).
pub use glassbox_nn::{Conv2d, MaxPool2d};
pub use history::{EpochMetrics, History};
pub use predict::{
    output_predictor, predict_outputs, predict_proba, proba_predictor, softmax_rows,
    NetworkPredictor,
};
pub use progress::ProgressBar;
pub use tabular::{fit_table, transform_table, TabularSet};
pub use trainer::{
    BatchProgress, Callback, OptimizerKind, Targets, TrainConfig, TrainData, Trainer,
};

/// The common path in one import: `use glassbox::prelude::*;`.
pub mod prelude {
    pub use crate::{
        fit_table, predict_proba, proba_predictor, transform_table, Architecture, Bundle,
        BundleMeta, Callback, Error, History, ModelSpec, Network, OptimizerKind, ProgressBar,
        Targets, Task, TrainConfig, TrainData, Trainer,
    };
    pub use glassbox_autograd::{no_grad, Var};
    pub use glassbox_data::split::{stratified_train_test_split, train_test_split};
    pub use glassbox_data::{read_csv, CsvOptions, DataLoader, LoaderConfig, Table};
    pub use glassbox_explain::Predictor;
    pub use glassbox_metrics::{accuracy, classification_report, confusion_matrix};
    pub use glassbox_nn::{Module, Sequential};
    pub use glassbox_optim::{Optimizer, Schedule};
    pub use glassbox_tensor::Tensor;
}
