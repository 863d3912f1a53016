//! The one scaled dot-product attention every attention layer in glassbox calls.

use glassbox_autograd::ops::attention::attention_probs;
use glassbox_autograd::ops::dropout::dropout;
use glassbox_autograd::{is_grad_enabled, Var};
use glassbox_tensor::ops::attention::{
    attention_forward, AttentionParams, HeadLayout, Heads, MaskRef,
};
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::layers::SharedRng;

/// One operand of [`scaled_dot_product_attention`]: `heads` heads of `head_dim` features
/// lying side by side in the last axis of `x`, starting at `column`. `x` is `[B, T, W]`
/// when batch-first, else `[T, B, W]`. The packed `[.., 3E]` output of an input projection
/// holds Q, K and V at columns 0, E and 2E, so no head is ever copied out of it. With
/// `len`, only the first `len` positions of `T` are used (a key/value cache with spare
/// capacity).
#[derive(Clone, Copy, Debug)]
pub struct PackedHeads<'a> {
    /// The tensor holding the heads.
    pub x: &'a Var,
    /// First column of head 0.
    pub column: usize,
    /// Number of leading positions used (`None`: all).
    pub len: Option<usize>,
}

impl<'a> PackedHeads<'a> {
    /// All positions of `x`, heads from `column` on.
    pub fn new(x: &'a Var, column: usize) -> Self {
        PackedHeads {
            x,
            column,
            len: None,
        }
    }
}

/// Everything but the operands of [`scaled_dot_product_attention`].
#[derive(Clone, Copy, Debug)]
pub struct SdpaConfig<'a> {
    /// Number of heads `H`.
    pub heads: usize,
    /// Features per head `D` (of queries, keys and values alike).
    pub head_dim: usize,
    /// Whether operands are `[B, T, W]` (else `[T, B, W]`).
    pub batch_first: bool,
    /// Factor on `Q Kᵀ` (PyTorch: `1/√D`).
    pub scale: f32,
    /// Query `i` sees keys `j ≤ i + S − L` (the queries are the last `L` positions).
    pub causal: bool,
    /// Additive mask `[B|1, H|1, L|1, S]` (see [`Mask`](super::Mask) and the layers, which
    /// build it from PyTorch-style masks).
    pub mask: Option<&'a Tensor>,
    /// Dropout on the probabilities (applied only when `training`), with its generator.
    pub dropout: Option<(f32, &'a SharedRng)>,
    /// Whether dropout is active.
    pub training: bool,
    /// Whether to return the per-head probabilities.
    pub need_weights: bool,
}

/// Result of [`scaled_dot_product_attention`].
#[derive(Clone, Debug)]
pub struct SdpaOutput {
    /// `[B, L, H·D]` (batch-first) or `[L, B, H·D]`: heads merged in the query's layout.
    pub output: Var,
    /// Per-head probabilities `[B, H, L, S]` (after dropout, as PyTorch returns them) when
    /// asked for. When a graph is recorded this is the `Var` the output was computed
    /// from, so its gradient can be retained.
    pub weights: Option<Var>,
}

struct Dims {
    b: usize,
    /// Positions used.
    t: usize,
    /// Positions stored.
    cap: usize,
    w: usize,
}

fn dims(what: &'static str, p: &PackedHeads, cfg: &SdpaConfig) -> Result<Dims> {
    let shape = p.x.shape();
    let width = cfg.heads * cfg.head_dim;
    if shape.len() != 3 || p.column + width > shape[2] {
        return Err(NnError::InputShape {
            layer: "scaled_dot_product_attention",
            expected: format!(
                "{what} [{}, W] with W ≥ column {} + {} heads × {}",
                if cfg.batch_first { "B, T" } else { "T, B" },
                p.column,
                cfg.heads,
                cfg.head_dim
            ),
            found: shape,
        });
    }
    let (b, cap) = if cfg.batch_first {
        (shape[0], shape[1])
    } else {
        (shape[1], shape[0])
    };
    let t = p.len.unwrap_or(cap);
    if t > cap {
        return Err(NnError::InputShape {
            layer: "scaled_dot_product_attention",
            expected: format!("{what} with at least {t} positions"),
            found: shape,
        });
    }
    Ok(Dims {
        b,
        t,
        cap,
        w: shape[2],
    })
}

/// `softmax(scale · Q Kᵀ + mask) V` over `heads` heads, with PyTorch's semantics: the
/// function behind [`MultiheadAttention`](super::MultiheadAttention), the Transformer
/// layers and the key/value-cached decoding path.
///
/// When a gradient is recorded, the probabilities are one differentiable op
/// ([`attention_probs`]) followed by dropout and a batched product with the values.
/// Otherwise (inside [`no_grad`](glassbox_autograd::no_grad), or with constant operands)
/// the fused kernel [`attention_forward`] reads the heads where they lie and writes the
/// merged output directly, storing the probabilities only when `need_weights` is set.
pub fn scaled_dot_product_attention(
    q: PackedHeads<'_>,
    k: PackedHeads<'_>,
    v: PackedHeads<'_>,
    cfg: &SdpaConfig<'_>,
) -> Result<SdpaOutput> {
    let (qd, kd, vd) = (
        dims("query", &q, cfg)?,
        dims("key", &k, cfg)?,
        dims("value", &v, cfg)?,
    );
    if kd.b != qd.b || vd.b != qd.b || vd.t != kd.t {
        return Err(NnError::InputShape {
            layer: "scaled_dot_product_attention",
            expected: format!(
                "key and value with batch {} and one length (key length {})",
                qd.b, kd.t
            ),
            found: v.x.shape(),
        });
    }
    let dropout_active = cfg.training && cfg.dropout.is_some_and(|(p, _)| p > 0.0);
    let records = is_grad_enabled() && [q.x, k.x, v.x].iter().any(|x| x.requires_grad());
    if records || dropout_active {
        graph_path(q, k, v, cfg, &qd)
    } else {
        fused_path(q, k, v, cfg, [&qd, &kd, &vd])
    }
}

/// `[B, T, W]` / `[T, B, W]` columns `column..column + H·D` as `[B, H, T, D]`.
fn split_heads(p: &PackedHeads, cfg: &SdpaConfig, d: &Dims) -> Result<Var> {
    let width = cfg.heads * cfg.head_dim;
    let mut x = if p.column == 0 && d.w == width {
        p.x.clone()
    } else {
        p.x.narrow(2, p.column, width)?
    };
    if d.t < d.cap {
        x = x.narrow(if cfg.batch_first { 1 } else { 0 }, 0, d.t)?;
    }
    if cfg.batch_first {
        let x = x.reshape(&[d.b, d.t, cfg.heads, cfg.head_dim])?;
        Ok(x.permute(&[0, 2, 1, 3])?)
    } else {
        let x = x.reshape(&[d.t, d.b, cfg.heads, cfg.head_dim])?;
        Ok(x.permute(&[1, 2, 0, 3])?)
    }
}

fn graph_path(
    q: PackedHeads,
    k: PackedHeads,
    v: PackedHeads,
    cfg: &SdpaConfig,
    qd: &Dims,
) -> Result<SdpaOutput> {
    let kd = dims("key", &k, cfg)?;
    let q4 = split_heads(&q, cfg, qd)?;
    let k4 = split_heads(&k, cfg, &kd)?;
    let v4 = split_heads(&v, cfg, &kd)?;
    let mut probs = attention_probs(&q4, &k4, cfg.mask, cfg.scale, cfg.causal)?;
    if let Some((p, rng)) = cfg.dropout {
        let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
        probs = dropout(&probs, p, cfg.training, &mut rng)?;
    }
    let out = probs.matmul(&v4)?; // [B, H, L, D]
    let width = cfg.heads * cfg.head_dim;
    let output = if cfg.batch_first {
        out.permute(&[0, 2, 1, 3])?.reshape(&[qd.b, qd.t, width])?
    } else {
        out.permute(&[2, 0, 1, 3])?.reshape(&[qd.t, qd.b, width])?
    };
    Ok(SdpaOutput {
        output,
        weights: cfg.need_weights.then_some(probs),
    })
}

fn dense(x: &Var) -> Tensor {
    let t = x.value();
    if t.is_contiguous() {
        t
    } else {
        t.contiguous()
    }
}

fn fused_path(
    q: PackedHeads,
    k: PackedHeads,
    v: PackedHeads,
    cfg: &SdpaConfig,
    [qd, kd, vd]: [&Dims; 3],
) -> Result<SdpaOutput> {
    let (h, d, bf) = (cfg.heads, cfg.head_dim, cfg.batch_first);
    let (qt, kt) = (dense(q.x), dense(k.x));
    let vt = if v.x.ptr_eq(k.x) {
        kt.clone()
    } else {
        dense(v.x)
    };
    fn heads<'t>(
        t: &'t Tensor,
        p: &PackedHeads,
        dm: &Dims,
        h: usize,
        d: usize,
        bf: bool,
    ) -> Heads<'t> {
        Heads {
            data: t.as_slice().expect("dense"),
            layout: HeadLayout {
                len: dm.t,
                ..HeadLayout::packed(dm.b, dm.cap, h, d, dm.w, p.column, bf)
            },
        }
    }
    let mask = cfg.mask.map(|m| m.contiguous());
    let mask_ref = match &mask {
        Some(m) if m.rank() == 4 => Some(MaskRef {
            data: m.as_slice().expect("dense"),
            shape: [m.shape()[0], m.shape()[1], m.shape()[2], m.shape()[3]],
        }),
        Some(m) => {
            return Err(NnError::InputShape {
                layer: "scaled_dot_product_attention",
                expected: "mask [B|1, H|1, L|1, S]".into(),
                found: m.shape().to_vec(),
            })
        }
        None => None,
    };
    let width = h * d;
    let mut out = vec![0.0f32; qd.b * qd.t * width];
    let mut probs = cfg
        .need_weights
        .then(|| vec![0.0f32; qd.b * h * qd.t * kd.t]);
    attention_forward(
        heads(&qt, &q, qd, h, d, bf),
        heads(&kt, &k, kd, h, d, bf),
        heads(&vt, &v, vd, h, d, bf),
        mask_ref,
        AttentionParams {
            scale: cfg.scale,
            causal: cfg.causal,
        },
        &mut out,
        HeadLayout::packed(qd.b, qd.t, h, d, width, 0, bf),
        probs.as_deref_mut(),
    )?;
    let shape = if bf {
        [qd.b, qd.t, width]
    } else {
        [qd.t, qd.b, width]
    };
    let weights = probs
        .map(|p| Tensor::from_vec(p, &[qd.b, h, qd.t, kd.t]))
        .transpose()?
        .map(Var::constant);
    Ok(SdpaOutput {
        output: Var::constant(Tensor::from_vec(out, &shape)?),
        weights,
    })
}
