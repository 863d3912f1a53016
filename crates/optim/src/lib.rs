//! Optimizers, learning-rate schedules and gradient clipping for glassbox.
//!
//! Every algorithm is an [`UpdateRule`]: a pure in-place update of one parameter buffer
//! given its gradient and a serialisable [`ParamState`], matching `torch.optim` step for
//! step (SGD with momentum / Nesterov / weight decay, Adam, AdamW, RMSprop, Adagrad).
//!
//! ```
//! use glassbox_optim::{ParamState, SgdConfig, UpdateRule};
//!
//! // Minimise f(p) = p² / 2 (gradient p) with SGD + momentum.
//! let sgd = SgdConfig::new(0.1).with_momentum(0.9);
//! let mut p = [1.0f32];
//! let mut state = ParamState::default();
//! for _ in 0..200 {
//!     let grad = [p[0]];
//!     sgd.update("p", sgd.lr, &mut p, &grad, &mut state).unwrap();
//! }
//! assert!(p[0].abs() < 1e-3);
//! assert_eq!(state.step, 200);
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod adagrad;
mod adam;
mod checkpoint;
pub mod clip;
mod error;
mod optimizer;
mod plateau;
mod rmsprop;
mod rule;
mod schedule;
mod sgd;

pub use adagrad::AdagradConfig;
pub use adam::AdamConfig;
pub use checkpoint::{Checkpoint, SchedulerState, CHECKPOINT_FORMAT_VERSION, CHECKPOINT_MAGIC};
pub use clip::{clip_grad_norm_slices, clip_grad_value_slices, total_norm, NormType};
pub use error::{OptimError, Result};
pub use optimizer::{
    clip_grad_norm, clip_grad_value, Adagrad, Adam, AdamW, Optim, Optimizer, OptimizerState,
    RmsProp, Sgd,
};
pub use plateau::{PlateauMode, ReduceLrOnPlateau, ThresholdMode};
pub use rmsprop::RmsPropConfig;
pub use rule::{ParamState, UpdateRule};
pub use schedule::{LrScheduler, Schedule};
pub use sgd::SgdConfig;
