//! RMSprop (plain, centered and with momentum), exactly as `torch.optim.RMSprop`.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rule::{check_len, check_non_negative, check_unit, ParamState, UpdateRule};

/// Hyperparameters of RMSprop (PyTorch defaults: alpha 0.99, eps 1e-8, no weight decay,
/// no momentum, not centered).
///
/// `g = grad + wd p`; `sq = alpha sq + (1 - alpha) g²`; the denominator is
/// `sqrt(sq - avg²) + eps` when centered (with `avg = alpha avg + (1 - alpha) g`), else
/// `sqrt(sq) + eps`; with momentum `buf = momentum buf + g / denom; p -= lr buf`, else
/// `p -= lr g / denom`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RmsPropConfig {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant of the squared-gradient average.
    pub alpha: f64,
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Momentum factor (0 disables it).
    pub momentum: f64,
    /// Normalise by the estimated variance instead of the raw second moment.
    pub centered: bool,
    /// Maximise the objective instead of minimising it.
    pub maximize: bool,
}

impl RmsPropConfig {
    /// RMSprop with PyTorch's defaults and learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        RmsPropConfig {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }

    /// Sets the smoothing constant.
    pub fn with_alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets epsilon.
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the L2 weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the momentum factor.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Enables or disables the centered variant.
    pub fn with_centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

const NAME: &str = "RMSprop";

impl UpdateRule for RmsPropConfig {
    fn name(&self) -> &'static str {
        NAME
    }

    fn default_lr(&self) -> f64 {
        self.lr
    }

    fn buffer_names(&self) -> &'static [&'static str] {
        match (self.centered, self.momentum != 0.0) {
            (false, false) => &["square_avg"],
            (true, false) => &["square_avg", "grad_avg"],
            (false, true) => &["square_avg", "momentum_buffer"],
            (true, true) => &["square_avg", "grad_avg", "momentum_buffer"],
        }
    }

    fn validate(&self) -> Result<()> {
        check_non_negative(NAME, "lr", self.lr, false)?;
        check_unit(NAME, "alpha", self.alpha)?;
        check_non_negative(NAME, "eps", self.eps, false)?;
        check_non_negative(NAME, "weight_decay", self.weight_decay, false)?;
        check_unit(NAME, "momentum", self.momentum)
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
        state.ensure_buffers(NAME, name, self.buffer_names(), param.len(), 0.0)?;
        state.step += 1;
        let lr = lr as f32;
        let alpha = self.alpha as f32;
        let eps = self.eps as f32;
        let wd = self.weight_decay as f32;
        let mom = self.momentum as f32;
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let mut bufs = state.buffers.iter_mut().map(|(_, b)| b);
        let sq = bufs.next().expect("square_avg exists");
        let mut avg = if self.centered { bufs.next() } else { None };
        let mut mbuf = if self.momentum != 0.0 {
            bufs.next()
        } else {
            None
        };
        for i in 0..param.len() {
            let g = sign * grad[i] + wd * param[i];
            sq[i] = alpha * sq[i] + (1.0 - alpha) * g * g;
            let denom = match avg.as_deref_mut() {
                Some(a) => {
                    a[i] += (1.0 - alpha) * (g - a[i]);
                    (sq[i] - a[i] * a[i]).sqrt() + eps
                }
                None => sq[i].sqrt() + eps,
            };
            match mbuf.as_deref_mut() {
                Some(b) => {
                    b[i] = mom * b[i] + g / denom;
                    param[i] -= lr * b[i];
                }
                None => param[i] -= lr * g / denom,
            }
        }
        Ok(())
    }
}
