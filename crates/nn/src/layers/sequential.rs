//! A chain of modules.

use glassbox_autograd::Var;

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
    fn forward(&self, x: &Var) -> Result<Var> {
        let mut h = x.clone();
        for l in &self.layers {
            h = l.forward(&h)?;
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
