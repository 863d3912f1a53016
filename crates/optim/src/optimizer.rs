//! Optimizers over a model's named parameters: the [`Optimizer`] trait, the generic
//! [`Optim`] driver that applies an [`UpdateRule`] to every parameter with a gradient, its
//! serialisable [`OptimizerState`], and `Var`-level gradient clipping.

use glassbox_autograd::Var;
use glassbox_tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::clip::{clip_grad_norm_slices, clip_grad_value_slices, NormType};
use crate::error::{OptimError, Result};
use crate::rule::{ParamState, UpdateRule};
use crate::{AdagradConfig, AdamConfig, AdamWConfig, RmsPropConfig, SgdConfig};

/// What every optimizer offers to a training loop.
pub trait Optimizer: Send {
    /// Updates every parameter that has a gradient (parameters without one are skipped,
    /// as in PyTorch).
    fn step(&mut self) -> Result<()>;
    /// Clears the gradients of all parameters.
    fn zero_grad(&self);
    /// A serialisable snapshot of the optimizer (learning rate and per-parameter state).
    fn state(&self) -> OptimizerState;
    /// Restores a snapshot taken by [`state`](Optimizer::state) of an optimizer of the
    /// same algorithm over parameters with the same names and sizes.
    fn load_state(&mut self, state: &OptimizerState) -> Result<()>;
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (used by schedules).
    fn set_lr(&mut self, lr: f64);
    /// The optimised parameters with their names.
    fn parameters(&self) -> &[(String, Var)];
}

/// A serialisable optimizer snapshot: algorithm name, learning rate and each parameter's
/// [`ParamState`] by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// Algorithm (`"SGD"`, `"Adam"`, ...).
    pub algorithm: String,
    /// Learning rate at the time of the snapshot.
    pub lr: f64,
    /// Per-parameter state, in the optimizer's parameter order.
    pub params: Vec<(String, ParamState)>,
}

/// Applies an [`UpdateRule`] to named parameters. Use the aliases [`Sgd`], [`Adam`],
/// [`AdamW`], [`RmsProp`] and [`Adagrad`].
#[derive(Debug)]
pub struct Optim<R: UpdateRule> {
    rule: R,
    lr: f64,
    params: Vec<(String, Var)>,
    states: Vec<ParamState>,
}

/// SGD over named parameters.
pub type Sgd = Optim<SgdConfig>;
/// Adam over named parameters.
pub type Adam = Optim<AdamConfig>;
/// AdamW over named parameters ([`AdamWConfig`]: decoupled weight decay).
pub type AdamW = Optim<AdamWConfig>;
/// RMSprop over named parameters.
pub type RmsProp = Optim<RmsPropConfig>;
/// Adagrad over named parameters.
pub type Adagrad = Optim<AdagradConfig>;

impl<R: UpdateRule> Optim<R> {
    /// An optimizer over `params` (as returned by a module's `named_parameters()`).
    /// Errors on invalid hyperparameters or duplicate names.
    pub fn new(params: Vec<(String, Var)>, rule: R) -> Result<Self> {
        rule.validate()?;
        let mut names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(OptimError::StateMismatch {
                reason: format!("{}: parameter name `{}` appears twice", rule.name(), w[0]),
            });
        }
        let states = vec![ParamState::default(); params.len()];
        Ok(Optim {
            lr: rule.default_lr(),
            rule,
            params,
            states,
        })
    }

    /// The update rule and its hyperparameters.
    pub fn rule(&self) -> &R {
        &self.rule
    }

    /// The state of the parameter called `name`.
    pub fn param_state(&self, name: &str) -> Option<&ParamState> {
        self.params
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| &self.states[i])
    }
}

fn contiguous_data(t: &Tensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(t.to_vec()),
    }
}

impl<R: UpdateRule> Optimizer for Optim<R> {
    fn step(&mut self) -> Result<()> {
        let (rule, lr) = (&self.rule, self.lr);
        for ((name, var), state) in self.params.iter().zip(self.states.iter_mut()) {
            let Some(grad) = var.grad() else { continue };
            let g = contiguous_data(&grad);
            var.update_value(|t| rule.update(name, lr, t.as_slice_mut(), &g, state))?;
        }
        Ok(())
    }

    fn zero_grad(&self) {
        for (_, v) in &self.params {
            v.zero_grad();
        }
    }

    fn state(&self) -> OptimizerState {
        OptimizerState {
            algorithm: self.rule.name().to_string(),
            lr: self.lr,
            params: self
                .params
                .iter()
                .zip(&self.states)
                .map(|((n, _), s)| (n.clone(), s.clone()))
                .collect(),
        }
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        if state.algorithm != self.rule.name() {
            return Err(OptimError::StateMismatch {
                reason: format!(
                    "the state is for {}, the optimizer is {}",
                    state.algorithm,
                    self.rule.name()
                ),
            });
        }
        let mut new_states = Vec::with_capacity(self.params.len());
        for (name, var) in &self.params {
            let Some((_, s)) = state.params.iter().find(|(n, _)| n == name) else {
                return Err(OptimError::StateMismatch {
                    reason: format!("no state for parameter `{name}`"),
                });
            };
            let len = var.with_value(|t| t.len());
            if let Some((bname, b)) = s.buffers.iter().find(|(_, b)| b.len() != len) {
                return Err(OptimError::LengthMismatch {
                    optimizer: self.rule.name(),
                    param: name.clone(),
                    what: format!("saved state buffer {bname}"),
                    expected: len,
                    found: b.len(),
                });
            }
            new_states.push(s.clone());
        }
        if let Some((extra, _)) = state
            .params
            .iter()
            .find(|(n, _)| !self.params.iter().any(|(m, _)| m == n))
        {
            return Err(OptimError::StateMismatch {
                reason: format!("the state has parameter `{extra}`, which the optimizer does not"),
            });
        }
        self.states = new_states;
        self.lr = state.lr;
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn parameters(&self) -> &[(String, Var)] {
        &self.params
    }
}

fn with_grads<T>(
    params: &[(String, Var)],
    f: impl FnOnce(&mut [&mut [f32]]) -> Result<T>,
) -> Result<T> {
    let mut grads: Vec<(usize, Tensor)> = params
        .iter()
        .enumerate()
        .filter_map(|(i, (_, v))| v.grad().map(|g| (i, g)))
        .collect();
    let out = {
        let mut slices: Vec<&mut [f32]> = grads.iter_mut().map(|(_, g)| g.as_slice_mut()).collect();
        f(&mut slices)?
    };
    for (i, g) in grads {
        params[i].1.set_grad(Some(g));
    }
    Ok(out)
}

/// Rescales all gradients so their global norm is at most `max_norm` (as
/// `torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
pub fn clip_grad_norm(params: &[(String, Var)], max_norm: f64, norm: NormType) -> Result<f64> {
    with_grads(params, |g| clip_grad_norm_slices(g, max_norm, norm))
}

/// Clamps every gradient element into `[-clip, clip]` (as `clip_grad_value_`).
pub fn clip_grad_value(params: &[(String, Var)], clip: f64) -> Result<()> {
    with_grads(params, |g| clip_grad_value_slices(g, clip))
}
