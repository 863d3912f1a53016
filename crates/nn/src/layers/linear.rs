//! Fully connected layer.

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::init;
use crate::layers::bias::bias_add;
use crate::module::Module;

/// `y = x Wᵀ + b`. Input `[.., in_features]`, output `[.., out_features]`.
/// `weight` is `[out_features, in_features]` (PyTorch layout), `bias` `[out_features]`;
/// both initialised U(−1/√in, 1/√in).
#[derive(Debug)]
pub struct Linear {
    /// `[out_features, in_features]`.
    pub weight: Var,
    /// `[out_features]`, if the layer has a bias.
    pub bias: Option<Var>,
    training: bool,
}

impl Linear {
    /// A layer with PyTorch's default initialisation.
    pub fn new(in_features: usize, out_features: usize, bias: bool, rng: &mut Rng) -> Result<Self> {
        if in_features == 0 || out_features == 0 {
            return Err(NnError::InvalidConfig {
                layer: "Linear",
                field: "features",
                reason: format!(
                    "in_features {in_features} and out_features {out_features} must be > 0"
                ),
            });
        }
        let shape = [out_features, in_features];
        let weight = init::default_weight(&shape, rng);
        let bias = bias.then(|| Var::parameter(init::default_bias(out_features, &shape, rng)));
        Ok(Linear {
            weight: Var::parameter(weight),
            bias,
            training: true,
        })
    }

    /// A layer with the given weight `[out, in]` and optional bias `[out]`.
    pub fn from_tensors(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        if weight.rank() != 2 {
            return Err(NnError::InvalidConfig {
                layer: "Linear",
                field: "weight",
                reason: format!("must be [out, in], got shape {:?}", weight.shape()),
            });
        }
        if let Some(b) = &bias {
            if b.shape() != [weight.shape()[0]] {
                return Err(NnError::InvalidConfig {
                    layer: "Linear",
                    field: "bias",
                    reason: format!("must be [{}], got shape {:?}", weight.shape()[0], b.shape()),
                });
            }
        }
        Ok(Linear {
            weight: Var::parameter(weight),
            bias: bias.map(Var::parameter),
            training: true,
        })
    }

    /// Number of input features.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// Number of output features.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl Module for Linear {
    fn forward(&self, x: &Var) -> Result<Var> {
        let shape = x.shape();
        if shape.is_empty() || shape[shape.len() - 1] != self.in_features() {
            return Err(NnError::InputShape {
                layer: "Linear",
                expected: format!("[.., {}]", self.in_features()),
                found: shape,
            });
        }
        let y = x.matmul(&self.weight.t()?)?;
        match &self.bias {
            Some(b) => bias_add("Linear", &y, b, y.shape().len() - 1),
            None => Ok(y),
        }
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            p.push(("bias".to_string(), b.clone()));
        }
        p
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "Linear"
    }
}
