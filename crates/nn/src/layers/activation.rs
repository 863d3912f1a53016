//! Activation functions as modules, so they can sit in a [`Sequential`](super::Sequential)
//! and be picked by name for layer attribution.

use glassbox_autograd::Var;

use crate::error::Result;
use crate::module::Module;

/// Which activation an [`Activation`] module applies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ActivationKind {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, else `slope * x`.
    LeakyRelu(f32),
    /// `x` for `x > 0`, else `alpha (eˣ − 1)`.
    Elu(f32),
    /// `x Φ(x)` with the exact normal CDF.
    Gelu,
    /// GELU with the tanh approximation.
    GeluTanh,
    /// `1 / (1 + e⁻ˣ)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `x σ(x)`.
    Silu,
    /// `ln(1 + eˣ)`.
    Softplus,
    /// Softmax over an axis.
    Softmax(usize),
    /// Log-softmax over an axis.
    LogSoftmax(usize),
    /// The identity.
    Identity,
}

/// An elementwise (or softmax) activation with no parameters.
#[derive(Clone, Debug)]
pub struct Activation {
    kind: ActivationKind,
    training: bool,
}

impl Activation {
    /// The activation `kind`.
    pub fn new(kind: ActivationKind) -> Self {
        Activation {
            kind,
            training: true,
        }
    }

    /// ReLU.
    pub fn relu() -> Self {
        Self::new(ActivationKind::Relu)
    }

    /// Leaky ReLU with negative slope `slope` (PyTorch default 0.01).
    pub fn leaky_relu(slope: f32) -> Self {
        Self::new(ActivationKind::LeakyRelu(slope))
    }

    /// Tanh.
    pub fn tanh() -> Self {
        Self::new(ActivationKind::Tanh)
    }

    /// Sigmoid.
    pub fn sigmoid() -> Self {
        Self::new(ActivationKind::Sigmoid)
    }

    /// GELU (exact).
    pub fn gelu() -> Self {
        Self::new(ActivationKind::Gelu)
    }

    /// Which function this is.
    pub fn kind(&self) -> ActivationKind {
        self.kind
    }
}

/// Applies `kind` to `x`.
pub fn apply(kind: ActivationKind, x: &Var) -> Result<Var> {
    Ok(match kind {
        ActivationKind::Relu => x.relu(),
        ActivationKind::LeakyRelu(s) => x.leaky_relu(s),
        ActivationKind::Elu(a) => x.elu(a),
        ActivationKind::Gelu => x.gelu(),
        ActivationKind::GeluTanh => x.gelu_tanh(),
        ActivationKind::Sigmoid => x.sigmoid(),
        ActivationKind::Tanh => x.tanh(),
        ActivationKind::Silu => x.silu(),
        ActivationKind::Softplus => x.softplus(),
        ActivationKind::Softmax(a) => x.softmax(a)?,
        ActivationKind::LogSoftmax(a) => x.log_softmax(a)?,
        ActivationKind::Identity => x.clone(),
    })
}

impl Module for Activation {
    fn forward(&self, x: &Var) -> Result<Var> {
        apply(self.kind, x)
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
        match self.kind {
            ActivationKind::Relu => "ReLU",
            ActivationKind::LeakyRelu(_) => "LeakyReLU",
            ActivationKind::Elu(_) => "ELU",
            ActivationKind::Gelu | ActivationKind::GeluTanh => "GELU",
            ActivationKind::Sigmoid => "Sigmoid",
            ActivationKind::Tanh => "Tanh",
            ActivationKind::Silu => "SiLU",
            ActivationKind::Softplus => "Softplus",
            ActivationKind::Softmax(_) => "Softmax",
            ActivationKind::LogSoftmax(_) => "LogSoftmax",
            ActivationKind::Identity => "Identity",
        }
    }
}
