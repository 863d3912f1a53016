//! Dropout.

use std::sync::{Arc, Mutex};

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::module::Module;

/// A random generator shared between a training loop and the layers that draw from it
/// (dropout), so one saved state resumes everything.
pub type SharedRng = Arc<Mutex<Rng>>;

/// Zeroes each element with probability `p` during training and scales the rest by
/// `1 / (1 − p)`; the identity in eval mode. Masks come from a seeded [`Rng`], either the
/// layer's own or one shared with the training loop ([`Dropout::with_rng`]), whose state
/// can be checkpointed for exact resumption.
#[derive(Debug)]
pub struct Dropout {
    p: f32,
    rng: SharedRng,
    training: bool,
}

impl Dropout {
    /// Dropout with probability `p` in `[0, 1)`, masks drawn from `Rng::new(seed)`.
    pub fn new(p: f32, seed: u64) -> Result<Self> {
        Self::with_rng(p, Arc::new(Mutex::new(Rng::new(seed))))
    }

    /// Dropout with probability `p` drawing its masks from `rng`.
    pub fn with_rng(p: f32, rng: SharedRng) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(NnError::InvalidConfig {
                layer: "Dropout",
                field: "p",
                reason: format!("{p} is outside [0, 1)"),
            });
        }
        Ok(Dropout {
            p,
            rng,
            training: true,
        })
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// The mask generator's current state.
    pub fn rng_state(&self) -> Rng {
        self.rng.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Restores the mask generator's state.
    pub fn set_rng_state(&self, rng: Rng) {
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = rng;
    }
}

impl Module for Dropout {
    fn layer_kind(&self) -> crate::module::LayerKind {
        crate::module::LayerKind::Affine
    }

    fn forward(&self, x: &Var) -> Result<Var> {
        if !self.training || self.p == 0.0 {
            return Ok(x.clone());
        }
        let shape = x.shape();
        let keep = 1.0 - self.p;
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let mut mask = Tensor::rand_bernoulli(&shape, keep, &mut rng)?;
        let scale = 1.0 / keep;
        mask.map_inplace(|m| m * scale);
        Ok(x.mul(&Var::constant(mask))?)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        Vec::new()
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "Dropout"
    }
}
