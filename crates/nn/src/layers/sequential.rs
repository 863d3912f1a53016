//! A chain of modules.

use glassbox_autograd::{is_grad_enabled, Var};

use crate::error::Result;
use crate::module::{prefixed, Module};

/// Runs its children in order; they are named `"0"`, `"1"`, ... as in PyTorch, so
/// parameter names are `"0.weight"`, `"2.bias"`, ...
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
    training: bool,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.layers.iter().map(|l| l.type_name()))
            .finish()
    }
}

impl Sequential {
    /// An empty chain (the identity).
    pub fn new() -> Self {
        Sequential {
            layers: Vec::new(),
            training: true,
        }
    }

    /// Appends a layer (builder style).
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Module + 'static) -> Self {
        self.push(Box::new(layer));
        self
    }

    /// Appends a boxed layer.
    pub fn push(&mut self, mut layer: Box<dyn Module>) {
        layer.set_training(self.training);
        self.layers.push(layer);
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The layer at `index`.
    pub fn layer(&self, index: usize) -> Option<&dyn Module> {
        self.layers.get(index).map(|l| &**l)
    }

    /// Runs the chain and also returns every layer's output (`outputs[i]` is the output of
    /// layer `i`), for Grad-CAM and layer attributions.
    pub fn forward_with_activations(&self, x: &Var) -> Result<(Var, Vec<Var>)> {
        let mut outs = Vec::with_capacity(self.layers.len());
        let mut h = x.clone();
        for l in &self.layers {
            h = l.forward(&h)?;
            outs.push(h.clone());
        }
        Ok((h, outs))
    }
}

impl Module for Sequential {
    fn layer_kind(&self) -> crate::module::LayerKind {
        crate::module::LayerKind::Sequential
    }

    fn forward(&self, x: &Var) -> Result<Var> {
        self.forward_owned(x.clone())
    }

    /// Each layer gets the previous layer's output by value, so without a graph
    /// (inside `no_grad`) elementwise layers reuse their input's buffer.
    /// Without a graph (inside `no_grad`), a layer followed by an elementwise activation
    /// runs the pair through [`Module::forward_owned_activated`], which lets Linear apply
    /// the activation inside its product.
    fn forward_owned(&self, x: Var) -> Result<Var> {
        let fuse = !is_grad_enabled();
        let mut h = x;
        let mut i = 0;
        while i < self.layers.len() {
            let next = self.layers.get(i + 1).and_then(|l| l.activation_kind());
            match next {
                Some(act) if fuse => {
                    h = self.layers[i].forward_owned_activated(h, act)?;
                    i += 2;
                }
                _ => {
                    h = self.layers[i].forward_owned(h)?;
                    i += 1;
                }
            }
        }
        Ok(h)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| prefixed(&i.to_string(), l.named_parameters()))
            .collect()
    }

    fn named_buffers(&self) -> Vec<(String, Var)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| prefixed(&i.to_string(), l.named_buffers()))
            .collect()
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), &**l))
            .collect()
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        for l in &mut self.layers {
            l.set_training(training);
        }
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "Sequential"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Activation, Linear};
    use glassbox_autograd::no_grad;
    use glassbox_tensor::rng::Rng;
    use glassbox_tensor::Tensor;

    /// An MLP with every activation kind that has an in-place / fused inference path, and
    /// one (GELU) that has not.
    fn mlp(rng: &mut Rng) -> Sequential {
        Sequential::new()
            .add(Linear::new(7, 300, true, rng).unwrap())
            .add(Activation::relu())
            .add(Linear::new(300, 64, true, rng).unwrap())
            .add(Activation::leaky_relu(0.05))
            .add(Linear::new(64, 32, false, rng).unwrap())
            .add(Activation::tanh())
            .add(Linear::new(32, 16, true, rng).unwrap())
            .add(Activation::sigmoid())
            .add(Activation::gelu())
            .add(Linear::new(16, 5, true, rng).unwrap())
    }

    #[test]
    fn inference_path_equals_the_recorded_forward() {
        let mut rng = Rng::new(11);
        let net = mlp(&mut rng);
        for rows in [1, 9, 700] {
            let x = Var::constant(Tensor::rand_normal(&[rows, 7], 0.0, 2.0, &mut rng));
            let before = x.value().to_vec();
            let recorded = net.forward(&x).unwrap();
            assert!(
                recorded.requires_grad(),
                "the graph is recorded outside no_grad"
            );
            let fast = no_grad(|| net.forward(&x)).unwrap();
            assert!(!fast.requires_grad());
            assert_eq!(
                fast.value().to_vec(),
                recorded.value().to_vec(),
                "{rows} rows"
            );
            // The caller's input is shared, so in-place layers must not have written it.
            assert_eq!(x.value().to_vec(), before);
        }
    }

    #[test]
    fn in_place_activation_never_writes_a_shared_input() {
        let t = Tensor::from_vec(vec![-1.0, 2.0, -3.0], &[3]).unwrap();
        let x = Var::constant(t.clone());
        let kept = x.clone();
        let y = no_grad(|| Activation::relu().forward_owned(x)).unwrap();
        assert_eq!(y.value().to_vec(), vec![0.0, 2.0, 0.0]);
        assert_eq!(kept.value().to_vec(), vec![-1.0, 2.0, -3.0]);
        assert_eq!(t.to_vec(), vec![-1.0, 2.0, -3.0]);
    }
}
