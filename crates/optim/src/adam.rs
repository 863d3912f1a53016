//! Adam and AdamW, exactly as `torch.optim.Adam` / `torch.optim.AdamW` (including AMSGrad).

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rule::{check_len, check_non_negative, check_unit, ParamState, UpdateRule};

/// Hyperparameters of Adam (PyTorch defaults: betas (0.9, 0.999), eps 1e-8, no weight
/// decay). AdamW is its own type, [`AdamWConfig`](crate::AdamWConfig), which runs this
/// update with decoupled weight decay.
///
/// Per step `t`: `g = grad (+ wd * p unless decoupled)`; with decoupled decay first
/// `p *= 1 - lr * wd`; `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g²`;
/// `p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`, where AMSGrad uses the
/// running maximum of `v` in the denominator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// Weight decay: L2 penalty for Adam, decoupled decay for AdamW.
    pub weight_decay: f64,
    /// `true` for AdamW's decoupled weight decay (set only by
    /// [`AdamWConfig`](crate::AdamWConfig)).
    pub(crate) decoupled_weight_decay: bool,
    /// Use the AMSGrad variant.
    pub amsgrad: bool,
    /// Maximise the objective instead of minimising it.
    pub maximize: bool,
}

impl AdamConfig {
    /// Adam with PyTorch's defaults and learning rate `lr`.
    pub fn adam(lr: f64) -> Self {
        AdamConfig {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            amsgrad: false,
            maximize: false,
        }
    }

    /// Sets both betas.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets epsilon.
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Enables or disables AMSGrad.
    pub fn with_amsgrad(mut self, amsgrad: bool) -> Self {
        self.amsgrad = amsgrad;
        self
    }

    /// Maximises instead of minimising.
    pub fn with_maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }
}

impl UpdateRule for AdamConfig {
    fn name(&self) -> &'static str {
        if self.decoupled_weight_decay {
            "AdamW"
        } else {
            "Adam"
        }
    }

    fn default_lr(&self) -> f64 {
        self.lr
    }

    fn buffer_names(&self) -> &'static [&'static str] {
        if self.amsgrad {
            &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
        } else {
            &["exp_avg", "exp_avg_sq"]
        }
    }

    fn validate(&self) -> Result<()> {
        let n = self.name();
        check_non_negative(n, "lr", self.lr, false)?;
        check_unit(n, "beta1", self.beta1)?;
        check_unit(n, "beta2", self.beta2)?;
        check_non_negative(n, "eps", self.eps, false)?;
        check_non_negative(n, "weight_decay", self.weight_decay, false)
    }

    fn update(
        &self,
        name: &str,
        lr: f64,
        param: &mut [f32],
        grad: &[f32],
        state: &mut ParamState,
    ) -> Result<()> {
        let opt = self.name();
        check_len(opt, name, param, grad)?;
        state.ensure_buffers(opt, name, self.buffer_names(), param.len(), 0.0)?;
        state.step += 1;
        let t = state.step as i32;
        let (b1, b2) = (self.beta1, self.beta2);
        let step_size = (lr / (1.0 - b1.powi(t))) as f32;
        let bc2_sqrt = (1.0 - b2.powi(t)).sqrt() as f32;
        let eps = self.eps as f32;
        let (b1, b2) = (b1 as f32, b2 as f32);
        let wd = self.weight_decay as f32;
        let decay = 1.0 - (lr * self.weight_decay) as f32;
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let (m_buf, rest) = state.buffers.split_at_mut(1);
        let m_buf = &mut m_buf[0].1;
        let (v_buf, max_buf) = rest.split_at_mut(1);
        let v_buf = &mut v_buf[0].1;
        let decoupled = self.decoupled_weight_decay;
        let inv_bc2 = 1.0 / bc2_sqrt;
        // Branch-free element updates over zipped slices (no bounds checks), so the loop
        // vectorises; `decoupled` selects AdamW's multiplicative decay or Adam's L2 term.
        let (wd_grad, p_scale) = if decoupled { (0.0, decay) } else { (wd, 1.0) };
        match max_buf.first_mut() {
            None => {
                for (((p, &g0), m), v) in param
                    .iter_mut()
                    .zip(grad)
                    .zip(m_buf.iter_mut())
                    .zip(v_buf.iter_mut())
                {
                    let g = sign * g0 + wd_grad * *p;
                    let mn = *m + (1.0 - b1) * (g - *m);
                    let vn = b2 * *v + (1.0 - b2) * g * g;
                    *m = mn;
                    *v = vn;
                    *p = *p * p_scale - step_size * mn / (vn.sqrt() * inv_bc2 + eps);
                }
            }
            Some((_, mx)) => {
                for ((((p, &g0), m), v), mx) in param
                    .iter_mut()
                    .zip(grad)
                    .zip(m_buf.iter_mut())
                    .zip(v_buf.iter_mut())
                    .zip(mx.iter_mut())
                {
                    let g = sign * g0 + wd_grad * *p;
                    let mn = *m + (1.0 - b1) * (g - *m);
                    let vn = b2 * *v + (1.0 - b2) * g * g;
                    *m = mn;
                    *v = vn;
                    *mx = mx.max(vn);
                    *p = *p * p_scale - step_size * mn / (mx.sqrt() * inv_bc2 + eps);
                }
            }
        }
        Ok(())
    }
}
