//! `MultiheadAttention` with PyTorch's parameters, masks and layouts.

use std::sync::{Arc, Mutex};

use glassbox_autograd::{NoGradGuard, Var};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use super::kv_cache::{KvCache, NewRows};
use super::mask::{combine_masks, Mask, MaskDims};
use super::sdpa::{scaled_dot_product_attention, PackedHeads, SdpaConfig};
use crate::error::{NnError, Result};
use crate::layers::linear::linear;
use crate::layers::{Linear, SharedRng};
use crate::module::{prefixed, Module};

/// Construction parameters of [`MultiheadAttention`] (PyTorch's defaults via [`new`](MhaConfig::new)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MhaConfig {
    /// Model width `E` (split into `num_heads` heads of `E / num_heads`).
    pub embed_dim: usize,
    /// Number of heads.
    pub num_heads: usize,
    /// Whether the input and output projections have biases (default true).
    pub bias: bool,
    /// Inputs `[B, L, E]` when true, else `[L, B, E]` (PyTorch's default false).
    pub batch_first: bool,
    /// Dropout on the attention probabilities in training mode (default 0).
    pub dropout: f32,
}

impl MhaConfig {
    /// PyTorch's defaults: bias, sequence-first, no dropout.
    pub fn new(embed_dim: usize, num_heads: usize) -> Self {
        MhaConfig {
            embed_dim,
            num_heads,
            bias: true,
            batch_first: false,
            dropout: 0.0,
        }
    }
}

/// Per-call options of [`MultiheadAttention::forward_qkv`], as PyTorch's `forward`
/// arguments. `Default` is PyTorch's default call: no masks, weights returned averaged
/// over heads.
#[derive(Clone, Copy, Debug)]
pub struct AttentionOptions<'a> {
    /// `[B, S]` (`[S]` unbatched): `Bool` true = ignore that key, or `Additive`.
    pub key_padding_mask: Option<&'a Mask>,
    /// `[L, S]` or `[B·H, L, S]`: `Bool` true = not allowed, or `Additive`.
    pub attn_mask: Option<&'a Mask>,
    /// Whether to return the attention weights.
    pub need_weights: bool,
    /// Average the weights over heads (`[B, L, S]`) instead of per head (`[B, H, L, S]`).
    pub average_attn_weights: bool,
    /// Apply a causal mask (query `i` sees keys `j ≤ i + S − L`). Unlike PyTorch, where
    /// it is only a hint about `attn_mask`, it is enforced here and can replace the mask.
    pub is_causal: bool,
}

impl Default for AttentionOptions<'_> {
    fn default() -> Self {
        AttentionOptions {
            key_padding_mask: None,
            attn_mask: None,
            need_weights: true,
            average_attn_weights: true,
            is_causal: false,
        }
    }
}

impl AttentionOptions<'_> {
    /// No masks and no weights (what the Transformer layers use).
    pub fn no_weights() -> Self {
        AttentionOptions {
            need_weights: false,
            ..Default::default()
        }
    }
}

/// Output of [`MultiheadAttention::forward_qkv`].
#[derive(Clone, Debug)]
pub struct MhaOutput {
    /// Same layout as the query.
    pub output: Var,
    /// `[B, L, S]` averaged or `[B, H, L, S]` per head (batch axis dropped for unbatched
    /// input), when asked for.
    pub weights: Option<Var>,
}

/// Multi-head attention as PyTorch's `nn.MultiheadAttention` (without `kdim`/`vdim`,
/// `add_bias_kv` and `add_zero_attn`).
///
/// Parameters and their state-dict names: `in_proj_weight` `[3E, E]` (Q, K, V stacked),
/// `in_proj_bias` `[3E]`, `out_proj.weight` `[E, E]`, `out_proj.bias` `[E]`. Initialised as
/// PyTorch: Xavier-uniform `in_proj_weight`, zero biases, `out_proj.weight` as a `Linear`.
///
/// As a [`Module`] it is self-attention on its input without masks.
#[derive(Debug)]
pub struct MultiheadAttention {
    /// `[3E, E]`: rows `0..E` project queries, `E..2E` keys, `2E..3E` values.
    pub in_proj_weight: Var,
    /// `[3E]`, if the layer has biases.
    pub in_proj_bias: Option<Var>,
    /// Output projection `[E, E]`.
    pub out_proj: Linear,
    num_heads: usize,
    batch_first: bool,
    dropout: f32,
    rng: SharedRng,
    training: bool,
}

fn invalid(field: &'static str, reason: String) -> NnError {
    NnError::InvalidConfig {
        layer: "MultiheadAttention",
        field,
        reason,
    }
}

impl MultiheadAttention {
    /// A layer with PyTorch's initialisation; dropout masks come from a generator seeded
    /// from `rng`.
    pub fn new(cfg: MhaConfig, rng: &mut Rng) -> Result<Self> {
        let e = cfg.embed_dim;
        if e == 0 || cfg.num_heads == 0 || e % cfg.num_heads != 0 {
            return Err(invalid(
                "num_heads",
                format!(
                    "embed_dim {e} must be a positive multiple of num_heads {}",
                    cfg.num_heads
                ),
            ));
        }
        let w = Tensor::xavier_uniform(&[3 * e, e], 1.0, rng);
        let mut out_proj = Linear::new(e, e, cfg.bias, rng)?;
        if let Some(b) = &out_proj.bias {
            b.set_value(Tensor::zeros(&[e]));
        }
        out_proj.set_training(true);
        let seed = rng.next_u64();
        Ok(MultiheadAttention {
            in_proj_weight: Var::parameter(w),
            in_proj_bias: cfg.bias.then(|| Var::parameter(Tensor::zeros(&[3 * e]))),
            out_proj,
            num_heads: cfg.num_heads,
            batch_first: cfg.batch_first,
            dropout: check_dropout(cfg.dropout)?,
            rng: Arc::new(Mutex::new(Rng::new(seed))),
            training: true,
        })
    }

    /// A layer from given weights: `in_proj_weight` `[3E, E]`, `in_proj_bias` `[3E]`,
    /// `out_proj_weight` `[E, E]`, `out_proj_bias` `[E]` (biases both present or both
    /// absent). No dropout; see [`with_dropout`](Self::with_dropout).
    pub fn from_tensors(
        num_heads: usize,
        batch_first: bool,
        in_proj_weight: Tensor,
        in_proj_bias: Option<Tensor>,
        out_proj_weight: Tensor,
        out_proj_bias: Option<Tensor>,
    ) -> Result<Self> {
        let s = in_proj_weight.shape().to_vec();
        if s.len() != 2 || s[0] != 3 * s[1] || s[1] == 0 || num_heads == 0 || s[1] % num_heads != 0
        {
            return Err(invalid(
                "in_proj_weight",
                format!("must be [3E, E] with E a multiple of {num_heads} heads, got {s:?}"),
            ));
        }
        let e = s[1];
        if let Some(b) = &in_proj_bias {
            if b.shape() != [3 * e] {
                return Err(invalid(
                    "in_proj_bias",
                    format!("must be [{}], got {:?}", 3 * e, b.shape()),
                ));
            }
        }
        if in_proj_bias.is_some() != out_proj_bias.is_some() {
            return Err(invalid(
                "bias",
                "in_proj_bias and out_proj.bias must both be present or both absent".into(),
            ));
        }
        if out_proj_weight.shape() != [e, e] {
            return Err(invalid(
                "out_proj.weight",
                format!("must be [{e}, {e}], got {:?}", out_proj_weight.shape()),
            ));
        }
        Ok(MultiheadAttention {
            in_proj_weight: Var::parameter(in_proj_weight),
            in_proj_bias: in_proj_bias.map(Var::parameter),
            out_proj: Linear::from_tensors(out_proj_weight, out_proj_bias)?,
            num_heads,
            batch_first,
            dropout: 0.0,
            rng: Arc::new(Mutex::new(Rng::new(0))),
            training: true,
        })
    }

    /// Sets the attention dropout probability and the generator its masks come from.
    pub fn with_dropout(mut self, p: f32, rng: SharedRng) -> Result<Self> {
        self.dropout = check_dropout(p)?;
        self.rng = rng;
        Ok(self)
    }

    /// Model width `E`.
    pub fn embed_dim(&self) -> usize {
        self.in_proj_weight.shape()[1]
    }

    /// Number of heads.
    pub fn num_heads(&self) -> usize {
        self.num_heads
    }

    /// `E / num_heads`.
    pub fn head_dim(&self) -> usize {
        self.embed_dim() / self.num_heads
    }

    /// Whether inputs are `[B, L, E]`.
    pub fn batch_first(&self) -> bool {
        self.batch_first
    }

    /// `x Wᵀ + b` with rows `rows` of the packed input projection.
    fn project(&self, x: &Var, start: usize, rows: usize) -> Result<Var> {
        let e = self.embed_dim();
        if start == 0 && rows == 3 * e {
            return linear(x, &self.in_proj_weight, self.in_proj_bias.as_ref());
        }
        let w = self.in_proj_weight.narrow(0, start, rows)?;
        let b = match &self.in_proj_bias {
            Some(b) => Some(b.narrow(0, start, rows)?),
            None => None,
        };
        linear(x, &w, b.as_ref())
    }

    fn check_input(&self, what: &str, x: &Var, rank: usize) -> Result<()> {
        let s = x.shape();
        if s.len() != rank || s[rank - 1] != self.embed_dim() {
            return Err(NnError::InputShape {
                layer: "MultiheadAttention",
                expected: format!(
                    "{what} of rank {rank} ending in embed_dim {} ({})",
                    self.embed_dim(),
                    if self.batch_first {
                        "[B, L, E]"
                    } else {
                        "[L, B, E]"
                    }
                ),
                found: s,
            });
        }
        Ok(())
    }

    /// Attention of `query` over `key`/`value`, as PyTorch's `forward(query, key, value,
    /// key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal)`.
    ///
    /// Inputs are `[B, L, E]` (batch-first) or `[L, B, E]`, or unbatched `[L, E]`. When
    /// `query`, `key` and `value` are the same `Var` the three projections are one product;
    /// when `key` and `value` are, theirs are.
    pub fn forward_qkv(
        &self,
        query: &Var,
        key: &Var,
        value: &Var,
        opts: &AttentionOptions<'_>,
    ) -> Result<MhaOutput> {
        let unbatched = query.shape().len() == 2;
        if unbatched {
            let axis = if self.batch_first { 0 } else { 1 };
            let kpm = opts
                .key_padding_mask
                .map(|m| unsqueeze_mask(m, 0))
                .transpose()?;
            let batched = AttentionOptions {
                key_padding_mask: kpm.as_ref(),
                ..*opts
            };
            let (q, k, v) = (
                query.unsqueeze(axis)?,
                key.unsqueeze(axis)?,
                value.unsqueeze(axis)?,
            );
            let k = if key.ptr_eq(query) { q.clone() } else { k };
            let v = if value.ptr_eq(key) { k.clone() } else { v };
            let out = self.forward_batched(&q, &k, &v, &batched)?;
            return Ok(MhaOutput {
                output: out.output.squeeze(axis)?,
                weights: out.weights.map(|w| w.squeeze(0)).transpose()?,
            });
        }
        self.forward_batched(query, key, value, opts)
    }

    fn forward_batched(
        &self,
        query: &Var,
        key: &Var,
        value: &Var,
        opts: &AttentionOptions<'_>,
    ) -> Result<MhaOutput> {
        self.check_input("query", query, 3)?;
        self.check_input("key", key, 3)?;
        self.check_input("value", value, 3)?;
        let e = self.embed_dim();
        let (qp, kp, vp);
        let (q, k, v) = if key.ptr_eq(query) && value.ptr_eq(key) {
            qp = self.project(query, 0, 3 * e)?;
            (
                PackedHeads::new(&qp, 0),
                PackedHeads::new(&qp, e),
                PackedHeads::new(&qp, 2 * e),
            )
        } else if value.ptr_eq(key) {
            qp = self.project(query, 0, e)?;
            kp = self.project(key, e, 2 * e)?;
            (
                PackedHeads::new(&qp, 0),
                PackedHeads::new(&kp, 0),
                PackedHeads::new(&kp, e),
            )
        } else {
            qp = self.project(query, 0, e)?;
            kp = self.project(key, e, e)?;
            vp = self.project(value, 2 * e, e)?;
            (
                PackedHeads::new(&qp, 0),
                PackedHeads::new(&kp, 0),
                PackedHeads::new(&vp, 0),
            )
        };
        let (bt, qs, ks) = (self.batch_first, query.shape(), key.shape());
        let (b, l, s) = if bt {
            (qs[0], qs[1], ks[1])
        } else {
            (qs[1], qs[0], ks[0])
        };
        self.attend(q, k, v, opts, (b, l, s))
    }

    /// Masks, attention, output projection and weights.
    fn attend(
        &self,
        q: PackedHeads<'_>,
        k: PackedHeads<'_>,
        v: PackedHeads<'_>,
        opts: &AttentionOptions<'_>,
        (b, l, s): (usize, usize, usize),
    ) -> Result<MhaOutput> {
        let h = self.num_heads;
        let dims = MaskDims {
            batch: b,
            heads: h,
            tgt: l,
            src: s,
        };
        let mask = combine_masks(
            "MultiheadAttention",
            opts.attn_mask,
            opts.key_padding_mask,
            dims,
        )?;
        let cfg = SdpaConfig {
            heads: h,
            head_dim: self.head_dim(),
            batch_first: self.batch_first,
            scale: 1.0 / (self.head_dim() as f32).sqrt(),
            causal: opts.is_causal,
            mask: mask.as_ref(),
            dropout: (self.dropout > 0.0).then_some((self.dropout, &self.rng)),
            training: self.training,
            need_weights: opts.need_weights,
        };
        let att = scaled_dot_product_attention(q, k, v, &cfg)?;
        let output = self.out_proj.forward_owned(att.output)?;
        let weights = match att.weights {
            Some(w) if opts.average_attn_weights => Some(w.mean_axes(&[1], false)?),
            w => w,
        };
        Ok(MhaOutput { output, weights })
    }

    /// Self-attention of the new positions `x` (`[B, L, E]` or `[L, B, E]`) over everything
    /// in `cache` plus `x` itself; `x`'s keys and values are appended to `cache` first.
    /// With `opts.is_causal` the new positions see the cached past and themselves up to
    /// their own position, so feeding a sequence in pieces gives the same outputs as one
    /// causal pass over all of it. Masks refer to all `S = cache.len()` keys.
    ///
    /// Decoding is inference: this never records a graph (it runs under `no_grad`), and
    /// its output is a constant.
    pub fn forward_cached(
        &self,
        x: &Var,
        cache: &mut KvCache,
        opts: &AttentionOptions<'_>,
    ) -> Result<MhaOutput> {
        let _guard = NoGradGuard::new();
        self.check_input("x", x, 3)?;
        let e = self.embed_dim();
        let qkv = self.project(x, 0, 3 * e)?;
        let t = qkv.value().contiguous();
        let xs = x.shape();
        let (b, l) = if self.batch_first {
            (xs[0], xs[1])
        } else {
            (xs[1], xs[0])
        };
        cache.append(NewRows {
            data: t.as_slice().expect("dense"),
            batch: b,
            len: l,
            row_width: 3 * e,
            key_column: e,
            value_column: 2 * e,
            width: e,
            batch_first: self.batch_first,
        })?;
        let (keys, values) = cache.buffers().expect("appended above");
        let (keys, values) = (Var::constant(keys.clone()), Var::constant(values.clone()));
        let qkv = Var::constant(t);
        let s = cache.len();
        let kv = |x| PackedHeads {
            x,
            column: 0,
            len: Some(s),
        };
        self.attend(
            PackedHeads::new(&qkv, 0),
            kv(&keys),
            kv(&values),
            opts,
            (b, l, s),
        )
    }
}

fn check_dropout(p: f32) -> Result<f32> {
    if (0.0..1.0).contains(&p) {
        Ok(p)
    } else {
        Err(invalid("dropout", format!("{p} is outside [0, 1)")))
    }
}

fn unsqueeze_mask(m: &Mask, axis: usize) -> Result<Mask> {
    let t = m.tensor();
    let mut shape = t.shape().to_vec();
    shape.insert(axis, 1);
    let t = t.try_reshape(&shape)?;
    Ok(match m {
        Mask::Bool(_) => Mask::Bool(t),
        Mask::Additive(_) => Mask::Additive(t),
    })
}

impl Module for MultiheadAttention {
    /// Self-attention without masks: `forward_qkv(x, x, x)` without weights.
    fn forward(&self, x: &Var) -> Result<Var> {
        Ok(self
            .forward_qkv(x, x, x, &AttentionOptions::no_weights())?
            .output)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = vec![("in_proj_weight".to_string(), self.in_proj_weight.clone())];
        if let Some(b) = &self.in_proj_bias {
            p.push(("in_proj_bias".to_string(), b.clone()));
        }
        p.extend(prefixed("out_proj", self.out_proj.named_parameters()));
        p
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![("out_proj".to_string(), &self.out_proj as &dyn Module)]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.out_proj.set_training(training);
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "MultiheadAttention"
    }
}
