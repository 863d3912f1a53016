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
//!
//! Training a model: an [`Optimizer`] over the model's named parameters, a schedule, and
//! a [`Checkpoint`] that resumes the run exactly.
//!
//! ```
//! use glassbox_autograd::Var;
//! use glassbox_nn::{mse_loss, Linear, Module, Reduction};
//! use glassbox_optim::{Adam, AdamConfig, LrScheduler, Optimizer, Schedule};
//! use glassbox_tensor::{rng::Rng, Tensor};
//!
//! let mut rng = Rng::new(0);
//! let model = Linear::new(2, 1, true, &mut rng)?;
//! let mut opt = Adam::new(model.named_parameters(), AdamConfig::adam(0.1))?;
//! let mut sched = LrScheduler::new(Schedule::Exponential { gamma: 0.99 }, 0.1)?;
//! // y = 2 x0 - x1 + 0.5
//! let x = Tensor::rand_normal(&[64, 2], 0.0, 1.0, &mut rng);
//! let xv = x.to_vec();
//! let y: Vec<f32> = (0..64).map(|i| 2.0 * xv[2 * i] - xv[2 * i + 1] + 0.5).collect();
//! let y = Tensor::from_vec(y, &[64, 1])?;
//! for _ in 0..300 {
//!     opt.zero_grad();
//!     let loss = mse_loss(&model.forward(&Var::constant(x.clone()))?, &y, Reduction::Mean)?;
//!     loss.backward()?;
//!     opt.step()?;
//!     opt.set_lr(sched.step());
//! }
//! let w = model.weight.value().to_vec();
//! assert!((w[0] - 2.0).abs() < 1e-2 && (w[1] + 1.0).abs() < 1e-2, "{w:?}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod adagrad;
mod adam;
mod adamw;
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
pub use adamw::AdamWConfig;
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
