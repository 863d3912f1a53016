//! `TransformerEncoder` and `TransformerDecoder`: stacks of layers with an optional final
//! LayerNorm.

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;

use super::config::TransformerLayerConfig;
use super::decoder::{DecoderLayerOutput, DecoderOptions, TransformerDecoderLayer};
use super::encoder::{EncoderOptions, LayerOutput, TransformerEncoderLayer};
use super::kv_cache::KvCache;
use crate::error::{NnError, Result};
use crate::layers::LayerNorm;
use crate::module::{prefixed, Module};

/// A list of layers addressed by index (`layers.0`, `layers.1`, …, PyTorch's
/// `nn.ModuleList`); dereferences to the `Vec`. As a module it applies the layers in order.
#[derive(Debug)]
pub struct ModuleList<T>(pub Vec<T>);

impl<T> std::ops::Deref for ModuleList<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> std::ops::DerefMut for ModuleList<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T: Module> Module for ModuleList<T> {
    fn forward(&self, x: &Var) -> Result<Var> {
        let mut x = x.clone();
        for l in &self.0 {
            x = l.forward_owned(x)?;
        }
        Ok(x)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = Vec::new();
        for (i, l) in self.0.iter().enumerate() {
            p.extend(prefixed(&i.to_string(), l.named_parameters()));
        }
        p
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        self.0
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l as &dyn Module))
            .collect()
    }

    fn set_training(&mut self, training: bool) {
        for l in &mut self.0 {
            l.set_training(training);
        }
    }

    fn is_training(&self) -> bool {
        self.0.first().is_none_or(|l| l.is_training())
    }

    fn type_name(&self) -> &'static str {
        "ModuleList"
    }
}

/// Output of a stack: the final output, every layer's output (before the final norm), and
/// every layer's per-head self-attention probabilities when asked for.
#[derive(Clone, Debug)]
pub struct StackOutput {
    /// After the last layer and the final norm, if any.
    pub output: Var,
    /// Output of each layer, in order.
    pub hidden_states: Vec<Var>,
    /// Per-head self-attention probabilities `[B, H, L, S]` of each layer (empty unless
    /// `need_weights`).
    pub attentions: Vec<Var>,
}

/// PyTorch's `nn.TransformerEncoder`: `num_layers` encoder layers, then an optional norm.
/// Names: `layers.{i}.…`, `norm.weight`, `norm.bias`. Unlike PyTorch, which deep-copies
/// one layer (so every layer starts equal), each layer is initialised on its own.
#[derive(Debug)]
pub struct TransformerEncoder {
    /// The layers.
    pub layers: ModuleList<TransformerEncoderLayer>,
    /// Final normalisation.
    pub norm: Option<LayerNorm>,
    training: bool,
}

fn empty(layer: &'static str) -> NnError {
    NnError::InvalidConfig {
        layer,
        field: "num_layers",
        reason: "a stack needs at least one layer".into(),
    }
}

impl TransformerEncoder {
    /// `num_layers` fresh layers of `cfg`, with a final LayerNorm when `final_norm`.
    pub fn new(
        cfg: TransformerLayerConfig,
        num_layers: usize,
        final_norm: bool,
        rng: &mut Rng,
    ) -> Result<Self> {
        let layers = (0..num_layers)
            .map(|_| TransformerEncoderLayer::new(cfg, rng))
            .collect::<Result<Vec<_>>>()?;
        let norm = final_norm.then(|| cfg.norm()).transpose()?;
        Self::from_layers(layers, norm)
    }

    /// A stack of given layers.
    pub fn from_layers(
        layers: Vec<TransformerEncoderLayer>,
        norm: Option<LayerNorm>,
    ) -> Result<Self> {
        if layers.is_empty() {
            return Err(empty("TransformerEncoder"));
        }
        Ok(TransformerEncoder {
            layers: ModuleList(layers),
            norm,
            training: true,
        })
    }

    /// Every layer on `src` with the same options.
    pub fn forward_with(&self, src: &Var, opts: &EncoderOptions<'_>) -> Result<StackOutput> {
        run_layers(src, self.layers.len(), self.norm.as_ref(), |i, x| {
            self.layers[i].forward_with(x, opts)
        })
    }

    /// Every layer on new positions with one cache per layer (`caches.len()` must equal the
    /// number of layers). Never records a graph.
    pub fn forward_cached(
        &self,
        src: &Var,
        caches: &mut [KvCache],
        opts: &EncoderOptions<'_>,
    ) -> Result<StackOutput> {
        let (n, norm) = (self.layers.len(), self.norm.as_ref());
        run_cached("TransformerEncoder", src, n, norm, caches, |i, x, cache| {
            self.layers[i].forward_cached(x, cache, opts)
        })
    }
}

fn check_caches(layer: &'static str, caches: usize, layers: usize) -> Result<()> {
    if caches != layers {
        return Err(NnError::InvalidConfig {
            layer,
            field: "caches",
            reason: format!("{caches} caches for {layers} layers"),
        });
    }
    Ok(())
}

/// PyTorch's `nn.TransformerDecoder`: decoder layers over a shared memory, then an
/// optional norm. Names: `layers.{i}.…`, `norm.*`.
#[derive(Debug)]
pub struct TransformerDecoder {
    /// The layers.
    pub layers: ModuleList<TransformerDecoderLayer>,
    /// Final normalisation.
    pub norm: Option<LayerNorm>,
    training: bool,
}

impl TransformerDecoder {
    /// `num_layers` fresh layers of `cfg`, with a final LayerNorm when `final_norm`.
    pub fn new(
        cfg: TransformerLayerConfig,
        num_layers: usize,
        final_norm: bool,
        rng: &mut Rng,
    ) -> Result<Self> {
        let layers = (0..num_layers)
            .map(|_| TransformerDecoderLayer::new(cfg, rng))
            .collect::<Result<Vec<_>>>()?;
        let norm = final_norm.then(|| cfg.norm()).transpose()?;
        Self::from_layers(layers, norm)
    }

    /// A stack of given layers.
    pub fn from_layers(
        layers: Vec<TransformerDecoderLayer>,
        norm: Option<LayerNorm>,
    ) -> Result<Self> {
        if layers.is_empty() {
            return Err(empty("TransformerDecoder"));
        }
        Ok(TransformerDecoder {
            layers: ModuleList(layers),
            norm,
            training: true,
        })
    }

    /// Every layer on `tgt` attending to `memory`. `attentions` holds the self-attention
    /// probabilities of each layer when `need_weights`.
    pub fn forward_with(
        &self,
        tgt: &Var,
        memory: &Var,
        opts: &DecoderOptions<'_>,
    ) -> Result<StackOutput> {
        run_layers(tgt, self.layers.len(), self.norm.as_ref(), |i, x| {
            self.layers[i].forward_with(x, memory, opts)
        })
    }

    /// Every layer on new target positions with one self-attention cache per layer.
    pub fn forward_cached(
        &self,
        tgt: &Var,
        memory: &Var,
        caches: &mut [KvCache],
        opts: &DecoderOptions<'_>,
    ) -> Result<StackOutput> {
        let (n, norm) = (self.layers.len(), self.norm.as_ref());
        run_cached("TransformerDecoder", tgt, n, norm, caches, |i, x, cache| {
            self.layers[i].forward_cached(x, memory, cache, opts)
        })
    }
}

/// What a stack keeps of one layer's output: the output and the layer's self-attention
/// probabilities, if asked for.
trait LayerStep {
    fn into_step(self) -> (Var, Option<Var>);
}

impl LayerStep for LayerOutput {
    fn into_step(self) -> (Var, Option<Var>) {
        (self.output, self.attn_weights)
    }
}

impl LayerStep for DecoderLayerOutput {
    fn into_step(self) -> (Var, Option<Var>) {
        (self.output, self.self_attn_weights)
    }
}

/// The loop of every stack forward: layer `i` of `num_layers` (run by `layer`) on the
/// previous one's output, starting from `input`, keeping every layer's output and
/// self-attention probabilities; then the final `norm`, if any, on the last output.
fn run_layers<O: LayerStep>(
    input: &Var,
    num_layers: usize,
    norm: Option<&LayerNorm>,
    mut layer: impl FnMut(usize, &Var) -> Result<O>,
) -> Result<StackOutput> {
    let mut x = input.clone();
    let (mut hidden, mut att) = (Vec::new(), Vec::new());
    for i in 0..num_layers {
        let (output, weights) = layer(i, &x)?.into_step();
        x = output;
        hidden.push(x.clone());
        att.extend(weights);
    }
    let output = match norm {
        Some(n) => n.forward(&x)?,
        None => x,
    };
    Ok(StackOutput {
        output,
        hidden_states: hidden,
        attentions: att,
    })
}

/// [`run_layers`] with one cache per layer (`layer` gets layer `i`'s), recording no graph;
/// `stack` names the stack in the error when there are not `num_layers` caches.
fn run_cached<O: LayerStep>(
    stack: &'static str,
    input: &Var,
    num_layers: usize,
    norm: Option<&LayerNorm>,
    caches: &mut [KvCache],
    mut layer: impl FnMut(usize, &Var, &mut KvCache) -> Result<O>,
) -> Result<StackOutput> {
    check_caches(stack, caches.len(), num_layers)?;
    let _guard = glassbox_autograd::NoGradGuard::new();
    run_layers(input, num_layers, norm, |i, x| layer(i, x, &mut caches[i]))
}

macro_rules! stack_module {
    ($ty:ty, $name:literal, $fwd:expr) => {
        impl Module for $ty {
            fn forward(&self, x: &Var) -> Result<Var> {
                #[allow(clippy::redundant_closure_call)]
                Ok(($fwd)(self, x)?.output)
            }

            fn named_parameters(&self) -> Vec<(String, Var)> {
                let mut p = prefixed("layers", self.layers.named_parameters());
                if let Some(n) = &self.norm {
                    p.extend(prefixed("norm", n.named_parameters()));
                }
                p
            }

            fn named_children(&self) -> Vec<(String, &dyn Module)> {
                let mut c: Vec<(String, &dyn Module)> =
                    vec![("layers".into(), &self.layers as &dyn Module)];
                if let Some(n) = &self.norm {
                    c.push(("norm".into(), n));
                }
                c
            }

            fn set_training(&mut self, training: bool) {
                self.training = training;
                self.layers.set_training(training);
                if let Some(n) = &mut self.norm {
                    n.set_training(training);
                }
            }

            fn is_training(&self) -> bool {
                self.training
            }

            fn type_name(&self) -> &'static str {
                $name
            }
        }
    };
}

stack_module!(
    TransformerEncoder,
    "TransformerEncoder",
    |s: &TransformerEncoder, x: &Var| { s.forward_with(x, &EncoderOptions::default()) }
);
stack_module!(
    TransformerDecoder,
    "TransformerDecoder",
    |s: &TransformerDecoder, x: &Var| { s.forward_with(x, x, &DecoderOptions::default()) }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::{get_submodule, load_state_dict, state_dict};
    use glassbox_tensor::Tensor;

    #[test]
    fn names_paths_and_state_dict_round_trip() {
        let cfg = TransformerLayerConfig {
            dim_feedforward: 6,
            batch_first: true,
            ..TransformerLayerConfig::new(4, 2)
        };
        let enc = TransformerEncoder::new(cfg, 2, true, &mut Rng::new(1)).unwrap();
        let names: Vec<String> = enc.named_parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), 2 * 12 + 2);
        assert_eq!(names[0], "layers.0.self_attn.in_proj_weight");
        assert_eq!(names[13], "layers.1.self_attn.in_proj_bias");
        assert_eq!(names[25], "norm.bias");
        let leaf = get_submodule(&enc, "layers.1.self_attn.out_proj").unwrap();
        assert_eq!(leaf.type_name(), "Linear");
        assert_eq!(
            get_submodule(&enc, "layers.0.norm2").unwrap().type_name(),
            "LayerNorm"
        );
        // Another stack takes the first one's weights by name and computes the same.
        let mut other = TransformerEncoder::new(cfg, 2, true, &mut Rng::new(2)).unwrap();
        load_state_dict(&other, &state_dict(&enc)).unwrap();
        let x = Var::constant(Tensor::rand_normal(&[1, 3, 4], 0.0, 1.0, &mut Rng::new(3)));
        let mut enc = enc;
        enc.set_training(false);
        other.set_training(false);
        assert_eq!(
            enc.forward(&x).unwrap().value(),
            other.forward(&x).unwrap().value()
        );
        assert!(TransformerEncoder::from_layers(Vec::new(), None).is_err());
    }
}
