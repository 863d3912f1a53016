//! Activation functions as modules, so they can sit in a [`Sequential`](super::Sequential)
//! and be picked by name for layer attribution.

use glassbox_autograd::{is_grad_enabled, Var};

use glassbox_tensor::Tensor;

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

    /// GELU (exact, `x Φ(x)` with the erf normal CDF: PyTorch's `GELU()`, BERT's `gelu`).
    pub fn gelu() -> Self {
        Self::new(ActivationKind::Gelu)
    }

    /// GELU with the tanh approximation (PyTorch's `GELU(approximate="tanh")`, GPT-2's
    /// `gelu_new`).
    pub fn gelu_tanh() -> Self {
        Self::new(ActivationKind::GeluTanh)
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

/// Runs `run` with the scalar function of an elementwise `kind`, one equal element for
/// element to the tensor kernel [`apply`] uses (so fused kernels give identical values), as
/// a concrete closure so the caller's loop can inline it. `None` for kinds without one.
pub(crate) fn with_scalar_fn<R>(
    kind: ActivationKind,
    run: impl ScalarFnUser<Output = R>,
) -> Option<R> {
    Some(match kind {
        ActivationKind::Relu => run.call(|x: f32| if x > 0.0 { x } else { 0.0 }),
        ActivationKind::LeakyRelu(s) => run.call(move |x: f32| if x > 0.0 { x } else { s * x }),
        ActivationKind::Tanh => run.call(f32::tanh),
        ActivationKind::Sigmoid => run.call(glassbox_tensor::ops::fastmath::sigmoid_fast),
        ActivationKind::Identity => run.call(|x: f32| x),
        ActivationKind::Gelu => run.call(glassbox_tensor::ops::unary::gelu_f32),
        ActivationKind::GeluTanh => run.call(glassbox_tensor::ops::unary::gelu_tanh_f32),
        _ => return None,
    })
}

/// The in-place SIMD kernel of `kind`, where the tensor crate has one: these run at the
/// CPU's full vector width, where a closure from [`with_scalar_fn`] runs at the baseline
/// width inside fused epilogues. Same values as the scalar functions, bit for bit.
pub(crate) fn simd_kernel(kind: ActivationKind) -> Option<fn(&mut [f32])> {
    use glassbox_tensor::ops::{fastmath, unary};
    match kind {
        ActivationKind::Gelu => Some(unary::gelu_inplace),
        ActivationKind::GeluTanh => Some(unary::gelu_tanh_inplace),
        ActivationKind::Sigmoid => Some(fastmath::sigmoid_inplace),
        _ => None,
    }
}

/// A computation generic over the scalar activation it is handed (see [`with_scalar_fn`]).
pub(crate) trait ScalarFnUser {
    type Output;
    fn call(self, f: impl Fn(f32) -> f32 + Sync + Send + Copy) -> Self::Output;
}

/// Applies the scalar function it is handed to a tensor in place (copy-on-write).
struct InPlace<'a>(&'a mut Tensor);

impl ScalarFnUser for InPlace<'_> {
    type Output = ();
    fn call(self, f: impl Fn(f32) -> f32 + Sync + Send + Copy) {
        self.0.map_inplace(f)
    }
}

impl Module for Activation {
    fn forward(&self, x: &Var) -> Result<Var> {
        apply(self.kind, x)
    }

    /// Without a graph, the kinds [`with_scalar_fn`] knows (ReLU, leaky ReLU, tanh,
    /// sigmoid, both GELUs) overwrite the input's buffer
    /// when `x` was its only holder (otherwise the buffer is copied first); the values are
    /// those of [`forward`](Module::forward).
    fn activation_kind(&self) -> Option<ActivationKind> {
        match self.kind {
            ActivationKind::Softmax(_) | ActivationKind::LogSoftmax(_) => None,
            kind => Some(kind),
        }
    }

    fn forward_owned(&self, x: Var) -> Result<Var> {
        if is_grad_enabled() && x.requires_grad() {
            return self.forward(&x);
        }
        if self.kind == ActivationKind::Identity {
            return Ok(x);
        }
        let mut t = x.value();
        // Release the node so `t` is the buffer's only holder when nobody else kept `x`.
        drop(x);
        if let Some(kernel) = simd_kernel(self.kind) {
            t.apply_kernel_inplace(kernel);
            return Ok(Var::constant(t));
        }
        match with_scalar_fn(self.kind, InPlace(&mut t)) {
            Some(()) => Ok(Var::constant(t)),
            None => self.forward(&Var::constant(t)),
        }
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
