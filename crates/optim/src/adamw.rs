//! AdamW (`torch.optim.AdamW`): Adam's update with decoupled weight decay, as its own
//! type so an Adam configuration cannot be passed where AdamW is meant and back:
//!
//! ```compile_fail
//! use glassbox_optim::{AdamConfig, AdamW};
//! let _ = AdamW::new(Vec::new(), AdamConfig::adam(1e-3));
//! ```

use serde::{Deserialize, Serialize};

use crate::adam::AdamConfig;
use crate::error::Result;
use crate::rule::{ParamState, UpdateRule};

/// Hyperparameters of AdamW (PyTorch defaults: betas (0.9, 0.999), eps 1e-8, weight decay
/// 0.01). Per step, `p *= 1 − lr · wd` before Adam's update (see [`AdamConfig`], whose
/// update kernel this runs).
///
/// ```
/// use glassbox_optim::{AdamW, AdamWConfig, Optimizer};
/// let opt = AdamW::new(Vec::new(), AdamWConfig::new(1e-3).with_weight_decay(0.1))?;
/// assert_eq!(opt.state().algorithm, "AdamW");
/// # Ok::<(), glassbox_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig(AdamConfig);

impl AdamWConfig {
    /// AdamW with PyTorch's defaults and learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamWConfig(AdamConfig {
            weight_decay: 0.01,
            decoupled_weight_decay: true,
            ..AdamConfig::adam(lr)
        })
    }

    /// The hyperparameters as Adam's (with decoupled decay on).
    pub fn as_adam(&self) -> &AdamConfig {
        &self.0
    }

    /// Sets both betas.
    pub fn with_betas(self, beta1: f64, beta2: f64) -> Self {
        AdamWConfig(self.0.with_betas(beta1, beta2))
    }

    /// Sets epsilon.
    pub fn with_eps(self, eps: f64) -> Self {
        AdamWConfig(self.0.with_eps(eps))
    }

    /// Sets the (decoupled) weight decay.
    pub fn with_weight_decay(self, weight_decay: f64) -> Self {
        AdamWConfig(self.0.with_weight_decay(weight_decay))
    }

    /// Enables or disables AMSGrad.
    pub fn with_amsgrad(self, amsgrad: bool) -> Self {
        AdamWConfig(self.0.with_amsgrad(amsgrad))
    }

    /// Maximises instead of minimising.
    pub fn with_maximize(self, maximize: bool) -> Self {
        AdamWConfig(self.0.with_maximize(maximize))
    }
}

impl UpdateRule for AdamWConfig {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn default_lr(&self) -> f64 {
        self.0.default_lr()
    }

    fn buffer_names(&self) -> &'static [&'static str] {
        self.0.buffer_names()
    }

    fn validate(&self) -> Result<()> {
        self.0.validate()
    }

    fn update(
        &self,
        name: &str,
        lr: f64,
        param: &mut [f32],
        grad: &[f32],
        state: &mut ParamState,
    ) -> Result<()> {
        self.0.update(name, lr, param, grad, state)
    }
}
