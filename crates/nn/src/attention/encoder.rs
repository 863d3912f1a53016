//! `TransformerEncoderLayer`: self-attention and a feed-forward block, post- or pre-norm.

use std::sync::{Arc, Mutex};

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;

use super::config::{check_parts, layer_rng, FeedForward, TransformerLayerConfig};
use super::kv_cache::KvCache;
use super::mask::Mask;
use super::mha::{AttentionOptions, MhaOutput, MultiheadAttention};
use crate::error::{NnError, Result};
use crate::layers::{ActivationKind, Dropout, LayerNorm, Linear, SharedRng};
use crate::module::{prefixed, Module};

/// Per-call options of [`TransformerEncoderLayer::forward_with`] (PyTorch's `src_mask`,
/// `src_key_padding_mask`, `is_causal`), plus `need_weights` to get the per-head attention
/// probabilities back.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncoderOptions<'a> {
    /// `[L, S]` or `[B·H, L, S]`; `Bool` true = not allowed.
    pub src_mask: Option<&'a Mask>,
    /// `[B, S]`; `Bool` true = padding (ignored key).
    pub src_key_padding_mask: Option<&'a Mask>,
    /// Causal self-attention (query `i` sees keys `j ≤ i`, or `≤ i + S − L` with a cache).
    pub is_causal: bool,
    /// Return the per-head attention probabilities `[B, H, L, S]`.
    pub need_weights: bool,
}

/// Output of a Transformer layer.
#[derive(Clone, Debug)]
pub struct LayerOutput {
    /// Same shape as the input.
    pub output: Var,
    /// Per-head self-attention probabilities `[B, H, L, S]` when asked for.
    pub attn_weights: Option<Var>,
}

/// PyTorch's `nn.TransformerEncoderLayer`.
///
/// Post-norm (default): `x = norm1(x + sa(x)); x = norm2(x + ff(x))`; pre-norm
/// (`norm_first`): `x = x + sa(norm1(x)); x = x + ff(norm2(x))`, with
/// `ff(x) = linear2(dropout(activation(linear1(x))))`. State-dict names are PyTorch's:
/// `self_attn.in_proj_weight`, `self_attn.in_proj_bias`, `self_attn.out_proj.weight`,
/// `self_attn.out_proj.bias`, `linear1.*`, `linear2.*`, `norm1.*`, `norm2.*`.
///
/// BERT's layer is this layer post-norm with erf GELU and eps 1e-12; GPT-2's block is it
/// pre-norm with tanh GELU and causal self-attention (see [`from_parts`](Self::from_parts)).
#[derive(Debug)]
pub struct TransformerEncoderLayer {
    /// Self-attention.
    pub self_attn: MultiheadAttention,
    /// Normalisation before (pre-norm) or after (post-norm) the attention block.
    pub norm1: LayerNorm,
    /// Normalisation around the feed-forward block.
    pub norm2: LayerNorm,
    ff: FeedForward,
    norm_first: bool,
    training: bool,
}

impl TransformerEncoderLayer {
    /// A layer with PyTorch's initialisation (dropout masks from a generator seeded from
    /// `rng`).
    pub fn new(cfg: TransformerLayerConfig, rng: &mut Rng) -> Result<Self> {
        cfg.check("TransformerEncoderLayer")?;
        let shared = layer_rng(rng);
        let self_attn = cfg.attention(rng, &shared)?;
        let ff = FeedForward::new(&cfg, 2, rng, &shared)?;
        Ok(TransformerEncoderLayer {
            self_attn,
            norm1: cfg.norm()?,
            norm2: cfg.norm()?,
            ff,
            norm_first: cfg.norm_first,
            training: true,
        })
    }

    /// A layer from ready-made parts (weights loaded elsewhere), without dropout. The
    /// attention's `batch_first` is the layer's.
    pub fn from_parts(
        self_attn: MultiheadAttention,
        linear1: Linear,
        linear2: Linear,
        norm1: LayerNorm,
        norm2: LayerNorm,
        activation: ActivationKind,
        norm_first: bool,
    ) -> Result<Self> {
        check_parts(
            "TransformerEncoderLayer",
            self_attn.embed_dim(),
            &linear1,
            &linear2,
        )?;
        if !matches!(
            activation,
            ActivationKind::Relu | ActivationKind::Gelu | ActivationKind::GeluTanh
        ) {
            return Err(NnError::InvalidConfig {
                layer: "TransformerEncoderLayer",
                field: "activation",
                reason: format!("{activation:?} is not relu, gelu or gelu_tanh"),
            });
        }
        let shared = layer_rng(&mut Rng::new(0));
        Ok(TransformerEncoderLayer {
            self_attn,
            norm1,
            norm2,
            ff: FeedForward::from_linears(linear1, linear2, activation, 0.0, 2, &shared)?,
            norm_first,
            training: true,
        })
    }

    /// Sets the dropout probabilities of a layer (e.g. one built with
    /// [`from_parts`](Self::from_parts)): `residual` after each sub-block (before the
    /// residual addition), `feed_forward` between the two feed-forward linears, `attention`
    /// on the attention probabilities. Hugging Face BERT is `(hidden_dropout_prob, 0,
    /// attention_probs_dropout_prob)`; PyTorch's layer uses one `dropout` for all three.
    /// Masks come from one generator seeded with `seed`; dropout acts in training mode only.
    pub fn with_dropout(
        self,
        residual: f32,
        feed_forward: f32,
        attention: f32,
        seed: u64,
    ) -> Result<Self> {
        let shared: SharedRng = Arc::new(Mutex::new(Rng::new(seed)));
        let TransformerEncoderLayer {
            self_attn,
            norm1,
            norm2,
            mut ff,
            norm_first,
            training,
        } = self;
        let self_attn = self_attn.with_dropout(attention, shared.clone())?;
        ff.dropout = Dropout::with_rng(feed_forward, shared.clone())?;
        for d in &mut ff.residual_dropouts {
            *d = Dropout::with_rng(residual, shared.clone())?;
        }
        let mut layer = TransformerEncoderLayer {
            self_attn,
            norm1,
            norm2,
            ff,
            norm_first,
            training,
        };
        layer.set_training(training);
        Ok(layer)
    }

    /// The first feed-forward linear (`d_model → dim_feedforward`).
    pub fn linear1(&self) -> &Linear {
        &self.ff.linear1
    }

    /// The second feed-forward linear (`dim_feedforward → d_model`).
    pub fn linear2(&self) -> &Linear {
        &self.ff.linear2
    }

    /// Whether the layer is pre-norm.
    pub fn norm_first(&self) -> bool {
        self.norm_first
    }

    /// The layer on `src` with masks (PyTorch's `forward(src, src_mask,
    /// src_key_padding_mask, is_causal)`).
    pub fn forward_with(&self, src: &Var, opts: &EncoderOptions<'_>) -> Result<LayerOutput> {
        let attn = attention_options(opts);
        self.run(src, |x| self.self_attn.forward_qkv(x, x, x, &attn))
    }

    /// The layer on new positions `src`, attending to the positions in `cache` and to
    /// themselves; their keys and values are appended to `cache`. With `opts.is_causal`,
    /// feeding a sequence piece by piece gives the outputs of one causal
    /// [`forward_with`](Self::forward_with) over all of it. Never records a graph.
    pub fn forward_cached(
        &self,
        src: &Var,
        cache: &mut KvCache,
        opts: &EncoderOptions<'_>,
    ) -> Result<LayerOutput> {
        let _guard = glassbox_autograd::NoGradGuard::new();
        let attn = attention_options(opts);
        self.run(src, |x| self.self_attn.forward_cached(x, cache, &attn))
    }

    fn run(
        &self,
        src: &Var,
        attend: impl FnOnce(&Var) -> Result<MhaOutput>,
    ) -> Result<LayerOutput> {
        let (output, weights) = if self.norm_first {
            let att = attend(&self.norm1.forward(src)?)?;
            let x = src.add(&self.ff.residual(0, att.output)?)?;
            let f = self.ff.forward(self.norm2.forward(&x)?)?;
            (x.add(&f)?, att.weights)
        } else {
            let att = attend(src)?;
            let x = self
                .norm1
                .forward_owned(src.add(&self.ff.residual(0, att.output)?)?)?;
            let f = self.ff.forward(x.clone())?;
            (self.norm2.forward_owned(x.add(&f)?)?, att.weights)
        };
        Ok(LayerOutput {
            output,
            attn_weights: weights,
        })
    }
}

fn attention_options<'a>(opts: &EncoderOptions<'a>) -> AttentionOptions<'a> {
    AttentionOptions {
        key_padding_mask: opts.src_key_padding_mask,
        attn_mask: opts.src_mask,
        need_weights: opts.need_weights,
        average_attn_weights: false,
        is_causal: opts.is_causal,
    }
}

impl Module for TransformerEncoderLayer {
    /// The layer without masks.
    fn forward(&self, x: &Var) -> Result<Var> {
        Ok(self.forward_with(x, &EncoderOptions::default())?.output)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = prefixed("self_attn", self.self_attn.named_parameters());
        p.extend(prefixed("linear1", self.ff.linear1.named_parameters()));
        p.extend(prefixed("linear2", self.ff.linear2.named_parameters()));
        p.extend(prefixed("norm1", self.norm1.named_parameters()));
        p.extend(prefixed("norm2", self.norm2.named_parameters()));
        p
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("self_attn".into(), &self.self_attn as &dyn Module),
            ("linear1".into(), &self.ff.linear1),
            ("dropout".into(), &self.ff.dropout),
            ("linear2".into(), &self.ff.linear2),
            ("norm1".into(), &self.norm1),
            ("norm2".into(), &self.norm2),
            ("dropout1".into(), &self.ff.residual_dropouts[0]),
            ("dropout2".into(), &self.ff.residual_dropouts[1]),
        ]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.self_attn.set_training(training);
        self.norm1.set_training(training);
        self.norm2.set_training(training);
        self.ff.set_training(training);
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "TransformerEncoderLayer"
    }
}
