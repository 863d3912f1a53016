//! [`GradModel`]: a `glassbox-nn` module seen as an ordered list of layers, so methods can
//! capture a named layer's output, split the network at it, or replace the backward rule
//! of its activations.
//!
//! # Supported models
//!
//! Every [`Module`] works with the methods that only need input gradients (saliency,
//! Input×Gradient, Integrated Gradients, SmoothGrad). The layer methods and the methods
//! that change backward rules (guided backprop, deconvolution, DeepLIFT, Grad-CAM, layer
//! IG, layer conductance) walk the model by the kinds modules declare
//! ([`Module::layer_kind`]): a [`LayerKind::Sequential`] module applies its
//! [`named_children`](Module::named_children) in order (as `nn::Sequential` does), nested
//! to any depth; any other module is one opaque layer called through
//! [`forward`](Module::forward). Guided backprop and deconvolution change the backward
//! rule of [`LayerKind::Activation`]`(Relu)` layers; DeepLIFT rescales every other
//! activation kind and passes plain gradients through [`LayerKind::Affine`] layers. Layers are named by their dotted paths
//! (`"features.3"`), as in PyTorch. A layer inside an opaque container (one that has
//! children but is not a `Sequential`) cannot be named, and a rule-changing method refuses
//! such a container if it holds activations; both give a [`GradientError`] naming the
//! layer.

use glassbox_autograd::{no_grad, Var};
use glassbox_nn::{named_modules, ActivationKind, LayerKind, Module};
use glassbox_tensor::Tensor;

use super::core::BatchCap;
use super::error::{GradientError, Result};
use super::rules;
use crate::stop::StopCheck;

/// How activations propagate gradients back during one forward/backward pass.
#[derive(Clone, Copy)]
pub(crate) enum Rule<'r> {
    /// Ordinary gradients.
    Plain,
    /// Guided-backprop ReLU.
    Guided,
    /// Deconvolution ReLU.
    Deconv,
    /// DeepLIFT rescale against the reference activations: `refs[i]` = (input, output) of
    /// layer `i` on the reference batch, for the nonlinear layers.
    Rescale(&'r [Option<(Tensor, Tensor)>]),
}

/// One layer of a walked model.
#[derive(Clone)]
pub struct Layer<'a> {
    /// Dotted path (`""` when the root itself is the only layer).
    pub path: String,
    /// The module.
    pub module: &'a dyn Module,
}

impl std::fmt::Debug for Layer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.path, self.module.type_name())
    }
}

/// Whether DeepLIFT's rescale rule handles `m`: an elementwise nonlinearity (any
/// activation but the identity), by its declared [`LayerKind`].
fn is_rescaled_kind(m: &dyn Module) -> bool {
    matches!(m.layer_kind(), LayerKind::Activation(k) if k != ActivationKind::Identity)
}

/// Whether `m` is affine in its input (in evaluation mode), so plain gradients are
/// DeepLIFT multipliers.
fn is_affine_kind(m: &dyn Module) -> bool {
    matches!(
        m.layer_kind(),
        LayerKind::Affine | LayerKind::Activation(ActivationKind::Identity)
    )
}

/// A module walked into its layers (see the module docs for what is supported).
#[derive(Clone)]
pub struct GradModel<'a> {
    root: &'a dyn Module,
    layers: Vec<Layer<'a>>,
    stop: StopCheck,
    cap: BatchCap,
}

impl std::fmt::Debug for GradModel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradModel")
            .field("layers", &self.layers)
            .finish()
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn flatten<'a>(m: &'a dyn Module, path: String, out: &mut Vec<Layer<'a>>) {
    if m.layer_kind() == LayerKind::Sequential {
        for (name, child) in m.named_children() {
            flatten(child, join(&path, &name), out);
        }
    } else {
        out.push(Layer { path, module: m });
    }
}

impl<'a> GradModel<'a> {
    /// Walks `module` (nested `Sequential`s are flattened in order).
    pub fn new(module: &'a dyn Module) -> Self {
        let mut layers = Vec::new();
        flatten(module, String::new(), &mut layers);
        GradModel {
            root: module,
            layers,
            stop: StopCheck::never(),
            cap: BatchCap::default(),
        }
    }

    /// The same model with one-pass methods (saliency, Input×Gradient, guided backprop,
    /// deconvolution, input gradients) and Grad-CAM run on chunks of at most `cap` rows
    /// ([`BatchCap::default`] otherwise): each chunk is its own forward pass, so peak memory
    /// is bounded and the [`StopCheck`] is asked between chunks. Integrated Gradients takes
    /// its cap from its config.
    pub fn with_cap(mut self, cap: BatchCap) -> Self {
        self.cap = cap;
        self
    }

    /// The row cap of one-pass methods and Grad-CAM (see [`GradModel::with_cap`]).
    pub fn cap(&self) -> BatchCap {
        self.cap
    }

    /// The same model with a [`StopCheck`] asked before every forward pass: once it fires,
    /// every method running on this model returns [`GradientError::Stopped`] (reported as
    /// [`ExplainError::Stopped`](crate::ExplainError::Stopped)) instead of evaluating more.
    pub fn with_stop(mut self, stop: StopCheck) -> Self {
        self.stop = stop;
        self
    }

    fn check_stop(&self) -> Result<()> {
        self.stop.check().map_err(|_| GradientError::Stopped)
    }

    /// The module.
    pub fn module(&self) -> &'a dyn Module {
        self.root
    }

    /// The layers in application order.
    pub fn layers(&self) -> &[Layer<'a>] {
        &self.layers
    }

    /// Index of the layer at dotted path `name`.
    pub fn layer_index(&self, op: &'static str, name: &str) -> Result<usize> {
        if let Some(i) = self.layers.iter().position(|l| l.path == name) {
            return Ok(i);
        }
        // A path that exists but lies inside an opaque container gets a clearer message.
        if let Some((_, m)) = named_modules(self.root)
            .into_iter()
            .find(|(p, _)| p == name)
        {
            return Err(GradientError::UnsupportedLayer {
                op,
                layer: name.to_string(),
                type_name: m.type_name(),
                reason: "it lies inside a container that is not a Sequential, so the model \
                         cannot be split at it"
                    .into(),
            });
        }
        Err(GradientError::UnknownLayer {
            op,
            layer: name.to_string(),
            available: self
                .layers
                .iter()
                .map(|l| format!("`{}`", l.path))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Checks that rule-changing methods can see every activation.
    pub(crate) fn check_walkable(&self, op: &'static str, deeplift: bool) -> Result<()> {
        for l in &self.layers {
            let t = l.module.type_name();
            if !l.module.named_children().is_empty() {
                let inner: Vec<String> = named_modules(l.module)
                    .into_iter()
                    .filter(|(_, m)| m.named_children().is_empty())
                    .filter(|(_, m)| is_rescaled_kind(*m) || !deeplift)
                    .map(|(p, _)| p)
                    .collect();
                if !inner.is_empty() {
                    return Err(GradientError::UnsupportedLayer {
                        op,
                        layer: l.path.clone(),
                        type_name: t,
                        reason: "a container other than Sequential: its activations cannot \
                                 be given a modified backward rule"
                            .into(),
                    });
                }
            }
            if deeplift && !is_rescaled_kind(l.module) && !is_affine_kind(l.module) {
                return Err(GradientError::UnsupportedLayer {
                    op,
                    layer: l.path.clone(),
                    type_name: t,
                    reason: format!(
                        "DeepLIFT here handles layers whose Module::layer_kind is an \
                         elementwise activation or Affine, not {:?}",
                        l.module.layer_kind()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Whether layer `i` is a DeepLIFT-rescaled nonlinearity.
    pub(crate) fn is_rescaled(&self, i: usize) -> bool {
        is_rescaled_kind(self.layers[i].module)
    }

    /// Applies layers `from..to` to `x` under `rule`.
    pub(crate) fn forward_range(&self, x: &Var, from: usize, to: usize, rule: Rule) -> Result<Var> {
        self.check_stop()?;
        if from == 0 && to == self.layers.len() && matches!(rule, Rule::Plain) {
            return Ok(self.root.forward(x)?);
        }
        let mut h = x.clone();
        for i in from..to {
            let m = self.layers[i].module;
            let relu = m.layer_kind() == LayerKind::Activation(ActivationKind::Relu);
            h = match rule {
                Rule::Guided if relu => rules::guided_relu(&h),
                Rule::Deconv if relu => rules::deconv_relu(&h),
                Rule::Rescale(refs) => match refs.get(i).and_then(|r| r.as_ref()) {
                    Some((rin, rout)) => rules::rescale(&h, rin, rout, |v| m.forward(v))?,
                    None => m.forward(&h)?,
                },
                _ => m.forward(&h)?,
            };
        }
        Ok(h)
    }

    /// Runs the whole model on `x` without recording a graph.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.check_stop()?;
        no_grad(|| self.root.forward(&Var::constant(x.clone())))
            .map(|v| v.value())
            .map_err(Into::into)
    }

    /// Inputs and outputs of every rescaled nonlinearity on `x` (no graph recorded).
    pub(crate) fn reference_activations(
        &self,
        x: &Tensor,
    ) -> Result<Vec<Option<(Tensor, Tensor)>>> {
        self.check_stop()?;
        no_grad(|| {
            let mut h = Var::constant(x.clone());
            let mut refs = Vec::with_capacity(self.layers.len());
            for (i, l) in self.layers.iter().enumerate() {
                let out = l.module.forward(&h)?;
                refs.push(if self.is_rescaled(i) {
                    Some((h.value(), out.value()))
                } else {
                    None
                });
                h = out;
            }
            Ok(refs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_nn::{Activation, Linear, Sequential};
    use glassbox_tensor::rng::Rng;

    #[test]
    fn nested_sequentials_are_flattened_in_order() {
        let mut rng = Rng::new(0);
        let inner = Sequential::new()
            .add(Linear::new(3, 4, true, &mut rng).unwrap())
            .add(Activation::relu());
        let net = Sequential::new()
            .add(inner)
            .add(Linear::new(4, 2, true, &mut rng).unwrap());
        let g = GradModel::new(&net);
        let paths: Vec<&str> = g.layers().iter().map(|l| l.path.as_str()).collect();
        assert_eq!(paths, ["0.0", "0.1", "1"]);
        assert_eq!(g.layer_index("t", "0.1").unwrap(), 1);
        let err = g.layer_index("t", "7").unwrap_err().to_string();
        assert!(err.contains("`7`") && err.contains("`0.0`"), "{err}");
        // Walking layer by layer gives the module's own output.
        let x = Tensor::from_vec((0..6).map(|v| v as f32 * 0.3 - 0.7).collect(), &[2, 3]).unwrap();
        let a = g.predict(&x).unwrap().to_vec();
        let b = g
            .forward_range(&Var::constant(x), 0, 3, Rule::Guided)
            .unwrap()
            .value()
            .to_vec();
        assert_eq!(a, b);
    }
}
