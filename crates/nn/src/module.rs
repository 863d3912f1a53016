//! The [`Module`] trait, state dicts of modules, and submodule lookup by dotted path.

use glassbox_autograd::Var;
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::io::{StateDict, TensorRecord};
use crate::layers::activation::{Activation, ActivationKind};

/// What kind of layer a module is, for tools that treat layers by kind (the gradient
/// attribution methods of `glassbox-explain` pick backward rules by it).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LayerKind {
    /// A container that applies its [`named_children`](Module::named_children) in order,
    /// each to the previous one's output (`Sequential`).
    Sequential,
    /// Nothing but an elementwise activation.
    Activation(ActivationKind),
    /// Affine in its input in evaluation mode: linear and convolution layers, flattening,
    /// average pooling, dropout (identity when not training), batch normalisation.
    Affine,
    /// Anything else: max pooling, recurrent and normalisation layers that depend on the
    /// input's statistics, attention, and modules whose structure is not declared.
    Other,
}

/// A layer or a model: a differentiable function with named parameters and buffers.
///
/// Required: [`forward`](Module::forward), [`named_parameters`](Module::named_parameters),
/// [`set_training`](Module::set_training), [`is_training`](Module::is_training) and
/// [`type_name`](Module::type_name). Everything else is provided: the structure
/// ([`named_children`](Module::named_children), [`layer_kind`](Module::layer_kind)) and
/// the inference fast paths ([`forward_owned`](Module::forward_owned),
/// [`activation_kind`](Module::activation_kind),
/// [`forward_owned_activated`](Module::forward_owned_activated)), which layers override
/// only to go faster or to declare what they are.
///
/// Names follow PyTorch: a child's names are prefixed with the child's name and a dot
/// (`"0.weight"`, `"features.3.bias"`, `"lstm.weight_ih_l0"`), so state dicts map one to
/// one onto PyTorch's.
pub trait Module: Send + Sync {
    /// Runs the module on `x` (recording the graph unless inside `no_grad`).
    fn forward(&self, x: &Var) -> Result<Var>;

    /// Runs the module on an input the caller hands over and will not use again. Inside
    /// [`no_grad`](glassbox_autograd::no_grad) a module may then write its output into
    /// `x`'s buffer when nothing else shares it (elementwise activations do), which spares
    /// an allocation and a pass over memory; containers pass their intermediate outputs on
    /// this way. The result always equals [`forward`](Module::forward)'s, and the default
    /// simply calls it.
    fn forward_owned(&self, x: Var) -> Result<Var> {
        self.forward(&x)
    }

    /// The elementwise activation this module applies, if it is nothing but one (so a
    /// container may fuse it into the layer before it).
    fn activation_kind(&self) -> Option<ActivationKind> {
        None
    }

    /// [`forward_owned`](Module::forward_owned) followed by the activation `act`. Layers
    /// with a fused inference kernel (Linear) override it to apply `act` while their output
    /// is still in cache when no graph is recorded; the default runs the two in turn.
    fn forward_owned_activated(&self, x: Var, act: ActivationKind) -> Result<Var> {
        let y = self.forward_owned(x)?;
        Activation::new(act).forward_owned(y)
    }

    /// What kind of layer this is ([`LayerKind`]). The default is
    /// [`LayerKind::Activation`] for a module whose [`activation_kind`](Module::activation_kind)
    /// says it is one, else [`LayerKind::Other`]; containers and affine layers override it.
    fn layer_kind(&self) -> LayerKind {
        match self.activation_kind() {
            Some(kind) => LayerKind::Activation(kind),
            None => LayerKind::Other,
        }
    }

    /// Trainable parameters with their dotted names, in a stable order.
    fn named_parameters(&self) -> Vec<(String, Var)>;

    /// Non-trainable state (BatchNorm running statistics) with dotted names.
    fn named_buffers(&self) -> Vec<(String, Var)> {
        Vec::new()
    }

    /// Direct submodules by name, to pick a layer for Grad-CAM or layer attribution.
    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }

    /// Switches training mode (dropout active, batch statistics) on or off, recursively.
    fn set_training(&mut self, training: bool);

    /// Whether the module is in training mode.
    fn is_training(&self) -> bool;

    /// Short type name (`"Linear"`, `"Conv2d"`), used in summaries and errors.
    fn type_name(&self) -> &'static str;

    /// Just the parameters, in [`named_parameters`](Module::named_parameters) order.
    fn parameters(&self) -> Vec<Var> {
        self.named_parameters()
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    /// Total number of trainable scalars.
    fn num_parameters(&self) -> usize {
        self.named_parameters()
            .iter()
            .map(|(_, v)| v.with_value(|t| t.len()))
            .sum()
    }

    /// Clears every parameter's gradient.
    fn zero_grad(&self) {
        for (_, v) in self.named_parameters() {
            v.zero_grad();
        }
    }
}

/// Puts `prefix.` in front of every name.
pub fn prefixed(prefix: &str, items: Vec<(String, Var)>) -> Vec<(String, Var)> {
    items
        .into_iter()
        .map(|(n, v)| (format!("{prefix}.{n}"), v))
        .collect()
}

/// The submodule at dotted `path` (`"features.3"`); the empty path is `module` itself.
pub fn get_submodule<'a>(module: &'a dyn Module, path: &str) -> Option<&'a dyn Module> {
    if path.is_empty() {
        return Some(module);
    }
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, r),
        None => (path, ""),
    };
    let child = module
        .named_children()
        .into_iter()
        .find(|(n, _)| n == head)
        .map(|(_, m)| m)?;
    get_submodule(child, rest)
}

/// Every submodule with its dotted path, depth first, starting with `("", module)`.
pub fn named_modules(module: &dyn Module) -> Vec<(String, &dyn Module)> {
    let mut out = vec![(String::new(), module)];
    let mut i = 0;
    while i < out.len() {
        let (path, m) = (out[i].0.clone(), out[i].1);
        let children: Vec<(String, &dyn Module)> = m
            .named_children()
            .into_iter()
            .map(|(n, c)| {
                let p = if path.is_empty() {
                    n
                } else {
                    format!("{path}.{n}")
                };
                (p, c)
            })
            .collect();
        for (k, c) in children.into_iter().enumerate() {
            out.insert(i + 1 + k, c);
        }
        i += 1;
    }
    out
}

/// The module's parameters then buffers as a [`StateDict`] (a snapshot: later training does
/// not change it).
pub fn state_dict(module: &dyn Module) -> StateDict {
    let tensors = module
        .named_parameters()
        .into_iter()
        .chain(module.named_buffers())
        .map(|(name, v)| {
            let t = v.value();
            (
                name,
                TensorRecord {
                    shape: t.shape().to_vec(),
                    data: t.to_vec(),
                },
            )
        })
        .collect();
    StateDict {
        tensors,
        metadata: Default::default(),
    }
}

/// Loads `state` into `module`: every parameter and buffer must be present with the same
/// shape and the file must hold nothing else. Nothing is changed unless everything matches.
pub fn load_state_dict(module: &dyn Module, state: &StateDict) -> Result<()> {
    let targets: Vec<(String, Var)> = module
        .named_parameters()
        .into_iter()
        .chain(module.named_buffers())
        .collect();
    let mut values = Vec::with_capacity(targets.len());
    for (name, var) in &targets {
        let rec = state
            .get(name)
            .ok_or_else(|| NnError::MissingTensor { name: name.clone() })?;
        let expected = var.shape();
        if rec.shape != expected {
            return Err(NnError::ShapeMismatch {
                name: name.clone(),
                expected,
                found: rec.shape.clone(),
            });
        }
        rec.validate(name, "state dict")?;
        values.push(Tensor::from_vec(rec.data.clone(), &rec.shape)?);
    }
    if let Some((extra, _)) = state
        .tensors
        .iter()
        .find(|(n, _)| !targets.iter().any(|(m, _)| m == n))
    {
        return Err(NnError::UnexpectedTensor {
            name: extra.clone(),
        });
    }
    for ((_, var), value) in targets.iter().zip(values) {
        var.set_value(value);
    }
    Ok(())
}

/// Saves the module's parameters and buffers to `path` (atomic write).
pub fn save(module: &dyn Module, path: impl AsRef<std::path::Path>) -> Result<()> {
    state_dict(module).save(path)
}

/// Loads parameters and buffers saved by [`save`] into `module`.
pub fn load(module: &dyn Module, path: impl AsRef<std::path::Path>) -> Result<()> {
    load_state_dict(module, &StateDict::load(path)?)
}
