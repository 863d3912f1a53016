//! Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight
//! decay, exactly as `torch.optim.SGD`.

use serde::{Deserialize, Serialize};

use crate::error::{OptimError, Result};
use crate::rule::{check_len, check_non_negative, check_unit, ParamState, UpdateRule};

/// Hyperparameters of SGD (PyTorch defaults: momentum 0, dampening 0, no weight decay,
/// no Nesterov).
///
/// With `g = grad + weight_decay * p` (negated first if `maximize`), the update is
/// `buf = g` on the first step and `buf = momentum * buf + (1 - dampening) * g` after;
/// the direction is `g + momentum * buf` with Nesterov, `buf` with plain momentum and `g`
/// without momentum; then `p -= lr * direction`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0 disables momentum).
    pub momentum: f64,
    /// Dampening of the momentum.
    pub dampening: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Use Nesterov momentum (needs `momentum > 0` and `dampening == 0`).
    pub nesterov: bool,
    /// Maximise the objective instead of minimising it.
    pub maximize: bool,
}

impl SgdConfig {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        SgdConfig {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }

    /// Sets the momentum factor.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening.
    pub fn with_dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// Sets the L2 weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Enables or disables Nesterov momentum.
    pub fn with_nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Maximises instead of minimising.
    pub fn with_maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }
}

const NAME: &str = "SGD";

impl UpdateRule for SgdConfig {
    fn name(&self) -> &'static str {
        NAME
    }

    fn default_lr(&self) -> f64 {
        self.lr
    }

    fn buffer_names(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["momentum_buffer"]
        } else {
            &[]
        }
    }

    fn validate(&self) -> Result<()> {
        check_non_negative(NAME, "lr", self.lr, false)?;
        check_unit(NAME, "momentum", self.momentum)?;
        check_non_negative(NAME, "dampening", self.dampening, false)?;
        check_non_negative(NAME, "weight_decay", self.weight_decay, false)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(OptimError::InvalidHyperparameter {
                optimizer: NAME,
                name: "nesterov",
                value: self.momentum,
                reason: "Nesterov momentum requires momentum > 0 and dampening = 0",
            });
        }
        Ok(())
    }

    fn update(
        &self,
        name: &str,
        lr: f64,
        param: &mut [f32],
        grad: &[f32],
        state: &mut ParamState,
    ) -> Result<()> {
        check_len(NAME, name, param, grad)?;
        let lr = lr as f32;
        let wd = self.weight_decay as f32;
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        if self.momentum == 0.0 {
            for (p, &g) in param.iter_mut().zip(grad) {
                let g = sign * g + wd * *p;
                *p -= lr * g;
            }
            state.step += 1;
            return Ok(());
        }
        state.ensure_buffers(NAME, name, self.buffer_names(), param.len(), 0.0)?;
        let first = state.step == 0;
        let mom = self.momentum as f32;
        let damp = 1.0 - self.dampening as f32;
        let buf = &mut state.buffers[0].1;
        for ((p, &g), b) in param.iter_mut().zip(grad).zip(buf.iter_mut()) {
            let g = sign * g + wd * *p;
            *b = if first { g } else { mom * *b + damp * g };
            let d = if self.nesterov { g + mom * *b } else { *b };
            *p -= lr * d;
        }
        state.step += 1;
        Ok(())
    }
}
