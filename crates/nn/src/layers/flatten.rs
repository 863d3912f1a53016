//! Flattening a range of dimensions.

use glassbox_autograd::Var;

use crate::error::{NnError, Result};
use crate::module::Module;

/// Merges dimensions `start..=end` into one (PyTorch `nn.Flatten`, default `1..=last`):
/// `[N, C, H, W]` becomes `[N, C·H·W]`.
#[derive(Clone, Debug)]
pub struct Flatten {
    start: usize,
    end: Option<usize>,
    training: bool,
}

impl Flatten {
    /// Flattens every dimension after the batch dimension.
    pub fn new() -> Self {
        Flatten {
            start: 1,
            end: None,
            training: true,
        }
    }

    /// Flattens dimensions `start..=end`.
    pub fn range(start: usize, end: usize) -> Self {
        Flatten {
            start,
            end: Some(end),
            training: true,
        }
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Self::new()
    }
}

impl Module for Flatten {
    fn layer_kind(&self) -> crate::module::LayerKind {
        crate::module::LayerKind::Affine
    }

    fn forward(&self, x: &Var) -> Result<Var> {
        let rank = x.shape().len();
        let end = self.end.unwrap_or(rank.saturating_sub(1));
        if rank == 0 || self.start > end || end >= rank {
            return Err(NnError::InputShape {
                layer: "Flatten",
                expected: format!("rank > {end} and start {} <= end {end}", self.start),
                found: x.shape(),
            });
        }
        Ok(x.flatten(self.start, end)?)
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
        "Flatten"
    }
}
