//! `TransformerDecoderLayer`: causal self-attention, cross-attention over a memory, and a
//! feed-forward block.

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;

use super::config::{layer_rng, FeedForward, TransformerLayerConfig};
use super::kv_cache::KvCache;
use super::mask::Mask;
use super::mha::{AttentionOptions, MhaOutput, MultiheadAttention};
use crate::error::Result;
use crate::layers::LayerNorm;
use crate::module::{prefixed, Module};

/// Per-call options of [`TransformerDecoderLayer::forward_with`] (PyTorch's arguments),
/// plus `need_weights` for the per-head probabilities of both attentions.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecoderOptions<'a> {
    /// Self-attention mask `[T, T]` or `[B·H, T, T]`.
    pub tgt_mask: Option<&'a Mask>,
    /// Cross-attention mask `[T, S]` or `[B·H, T, S]`.
    pub memory_mask: Option<&'a Mask>,
    /// `[B, T]`; `Bool` true = padding.
    pub tgt_key_padding_mask: Option<&'a Mask>,
    /// `[B, S]`; `Bool` true = padding.
    pub memory_key_padding_mask: Option<&'a Mask>,
    /// Causal self-attention.
    pub tgt_is_causal: bool,
    /// Causal cross-attention.
    pub memory_is_causal: bool,
    /// Return both attentions' per-head probabilities.
    pub need_weights: bool,
}

/// Output of [`TransformerDecoderLayer::forward_with`].
#[derive(Clone, Debug)]
pub struct DecoderLayerOutput {
    /// Same shape as `tgt`.
    pub output: Var,
    /// Self-attention probabilities `[B, H, T, T]` when asked for.
    pub self_attn_weights: Option<Var>,
    /// Cross-attention probabilities `[B, H, T, S]` when asked for.
    pub cross_attn_weights: Option<Var>,
}

/// PyTorch's `nn.TransformerDecoderLayer`.
///
/// Post-norm: `x = norm1(x + sa(x)); x = norm2(x + mha(x, memory)); x = norm3(x + ff(x))`;
/// pre-norm: `x = x + sa(norm1(x)); x = x + mha(norm2(x), memory); x = x + ff(norm3(x))`.
/// State-dict names: `self_attn.*`, `multihead_attn.*`, `linear1.*`, `linear2.*`,
/// `norm1.*`, `norm2.*`, `norm3.*`.
#[derive(Debug)]
pub struct TransformerDecoderLayer {
    /// Self-attention over the target.
    pub self_attn: MultiheadAttention,
    /// Cross-attention from the target to the memory.
    pub multihead_attn: MultiheadAttention,
    /// Normalisation around self-attention.
    pub norm1: LayerNorm,
    /// Normalisation around cross-attention.
    pub norm2: LayerNorm,
    /// Normalisation around the feed-forward block.
    pub norm3: LayerNorm,
    ff: FeedForward,
    norm_first: bool,
    training: bool,
}

impl TransformerDecoderLayer {
    /// A layer with PyTorch's initialisation.
    pub fn new(cfg: TransformerLayerConfig, rng: &mut Rng) -> Result<Self> {
        cfg.check("TransformerDecoderLayer")?;
        let shared = layer_rng(rng);
        let self_attn = cfg.attention(rng, &shared)?;
        let multihead_attn = cfg.attention(rng, &shared)?;
        let ff = FeedForward::new(&cfg, 3, rng, &shared)?;
        Ok(TransformerDecoderLayer {
            self_attn,
            multihead_attn,
            norm1: cfg.norm()?,
            norm2: cfg.norm()?,
            norm3: cfg.norm()?,
            ff,
            norm_first: cfg.norm_first,
            training: true,
        })
    }

    /// The layer on `tgt` attending to `memory` (PyTorch's `forward(tgt, memory, ...)`).
    pub fn forward_with(
        &self,
        tgt: &Var,
        memory: &Var,
        opts: &DecoderOptions<'_>,
    ) -> Result<DecoderLayerOutput> {
        let sa = self_options(opts);
        self.run(tgt, memory, opts, |x| {
            self.self_attn.forward_qkv(x, x, x, &sa)
        })
    }

    /// The layer on new target positions with a key/value cache of the target's
    /// self-attention (the cross-attention recomputes the memory's keys and values each
    /// call). Never records a graph.
    pub fn forward_cached(
        &self,
        tgt: &Var,
        memory: &Var,
        cache: &mut KvCache,
        opts: &DecoderOptions<'_>,
    ) -> Result<DecoderLayerOutput> {
        let _guard = glassbox_autograd::NoGradGuard::new();
        let sa = self_options(opts);
        self.run(tgt, memory, opts, |x| {
            self.self_attn.forward_cached(x, cache, &sa)
        })
    }

    fn run(
        &self,
        tgt: &Var,
        memory: &Var,
        opts: &DecoderOptions<'_>,
        self_attend: impl FnOnce(&Var) -> Result<MhaOutput>,
    ) -> Result<DecoderLayerOutput> {
        let ca = AttentionOptions {
            key_padding_mask: opts.memory_key_padding_mask,
            attn_mask: opts.memory_mask,
            need_weights: opts.need_weights,
            average_attn_weights: false,
            is_causal: opts.memory_is_causal,
        };
        let cross = |x: &Var| self.multihead_attn.forward_qkv(x, memory, memory, &ca);
        let (output, sw, cw) = if self.norm_first {
            let a = self_attend(&self.norm1.forward(tgt)?)?;
            let x = tgt.add(&self.ff.residual(0, a.output)?)?;
            let c = cross(&self.norm2.forward(&x)?)?;
            let x = x.add(&self.ff.residual(1, c.output)?)?;
            let f = self.ff.forward(self.norm3.forward(&x)?)?;
            (x.add(&f)?, a.weights, c.weights)
        } else {
            let a = self_attend(tgt)?;
            let x = self
                .norm1
                .forward_owned(tgt.add(&self.ff.residual(0, a.output)?)?)?;
            let c = cross(&x)?;
            let x = self
                .norm2
                .forward_owned(x.add(&self.ff.residual(1, c.output)?)?)?;
            let f = self.ff.forward(x.clone())?;
            (self.norm3.forward_owned(x.add(&f)?)?, a.weights, c.weights)
        };
        Ok(DecoderLayerOutput {
            output,
            self_attn_weights: sw,
            cross_attn_weights: cw,
        })
    }
}

fn self_options<'a>(opts: &DecoderOptions<'a>) -> AttentionOptions<'a> {
    AttentionOptions {
        key_padding_mask: opts.tgt_key_padding_mask,
        attn_mask: opts.tgt_mask,
        need_weights: opts.need_weights,
        average_attn_weights: false,
        is_causal: opts.tgt_is_causal,
    }
}

impl Module for TransformerDecoderLayer {
    /// Self-attention only makes sense with a memory: `forward(x)` decodes `x` against
    /// itself as the memory, without masks.
    fn forward(&self, x: &Var) -> Result<Var> {
        Ok(self.forward_with(x, x, &DecoderOptions::default())?.output)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = prefixed("self_attn", self.self_attn.named_parameters());
        p.extend(prefixed(
            "multihead_attn",
            self.multihead_attn.named_parameters(),
        ));
        p.extend(prefixed("linear1", self.ff.linear1.named_parameters()));
        p.extend(prefixed("linear2", self.ff.linear2.named_parameters()));
        p.extend(prefixed("norm1", self.norm1.named_parameters()));
        p.extend(prefixed("norm2", self.norm2.named_parameters()));
        p.extend(prefixed("norm3", self.norm3.named_parameters()));
        p
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("self_attn".into(), &self.self_attn as &dyn Module),
            ("multihead_attn".into(), &self.multihead_attn),
            ("linear1".into(), &self.ff.linear1),
            ("dropout".into(), &self.ff.dropout),
            ("linear2".into(), &self.ff.linear2),
            ("norm1".into(), &self.norm1),
            ("norm2".into(), &self.norm2),
            ("norm3".into(), &self.norm3),
            ("dropout1".into(), &self.ff.residual_dropouts[0]),
            ("dropout2".into(), &self.ff.residual_dropouts[1]),
            ("dropout3".into(), &self.ff.residual_dropouts[2]),
        ]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.self_attn.set_training(training);
        self.multihead_attn.set_training(training);
        self.norm1.set_training(training);
        self.norm2.set_training(training);
        self.norm3.set_training(training);
        self.ff.set_training(training);
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "TransformerDecoderLayer"
    }
}
