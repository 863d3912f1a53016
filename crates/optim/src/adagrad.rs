//! Adagrad, exactly as `torch.optim.Adagrad`.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rule::{check_len, check_non_negative, ParamState, UpdateRule};

/// Hyperparameters of Adagrad (PyTorch defaults: lr 0.01, no learning-rate decay, no
/// weight decay, initial accumulator 0, eps 1e-10).
///
/// Per step `t`: `g = grad + wd p`; `clr = lr / (1 + (t - 1) lr_decay)`; `sum += g²`;
/// `p -= clr g / (sqrt(sum) + eps)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdagradConfig {
    /// Learning rate.
    pub lr: f64,
    /// Learning-rate decay per step.
    pub lr_decay: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Starting value of the squared-gradient sum.
    pub initial_accumulator_value: f64,
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// Maximise the objective instead of minimising it.
    pub maximize: bool,
}

impl AdagradConfig {
    /// Adagrad with PyTorch's defaults and learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdagradConfig {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }

    /// Sets the learning-rate decay.
    pub fn with_lr_decay(mut self, lr_decay: f64) -> Self {
        self.lr_decay = lr_decay;
        self
    }

    /// Sets the L2 weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the initial accumulator value.
    pub fn with_initial_accumulator_value(mut self, value: f64) -> Self {
        self.initial_accumulator_value = value;
        self
    }

    /// Sets epsilon.
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
}

const NAME: &str = "Adagrad";

impl UpdateRule for AdagradConfig {
    fn name(&self) -> &'static str {
        NAME
    }

    fn default_lr(&self) -> f64 {
        self.lr
    }

    fn buffer_names(&self) -> &'static [&'static str] {
        &["sum"]
    }

    fn validate(&self) -> Result<()> {
        check_non_negative(NAME, "lr", self.lr, false)?;
        check_non_negative(NAME, "lr_decay", self.lr_decay, false)?;
        check_non_negative(NAME, "weight_decay", self.weight_decay, false)?;
        check_non_negative(
            NAME,
            "initial_accumulator_value",
            self.initial_accumulator_value,
            false,
        )?;
        check_non_negative(NAME, "eps", self.eps, false)
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
        state.ensure_buffers(
            NAME,
            name,
            self.buffer_names(),
            param.len(),
            self.initial_accumulator_value as f32,
        )?;
        state.step += 1;
        let clr = (lr / (1.0 + (state.step - 1) as f64 * self.lr_decay)) as f32;
        let wd = self.weight_decay as f32;
        let eps = self.eps as f32;
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let sum = &mut state.buffers[0].1;
        for i in 0..param.len() {
            let g = sign * grad[i] + wd * param[i];
            sum[i] += g * g;
            param[i] -= clr * g / (sum[i].sqrt() + eps);
        }
        Ok(())
    }
}
