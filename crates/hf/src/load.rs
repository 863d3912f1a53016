//! Building `glassbox-nn` layers from checkpoint tensors: the pieces BERT and GPT-2 share.

use glassbox_nn::attention::{MultiheadAttention, TransformerEncoderLayer};
use glassbox_nn::{ActivationKind, LayerNorm, Linear, NnError};
use glassbox_tensor::Tensor;

use crate::error::{HfError, Result};
use crate::weights::{transposed, Checkpoint};

/// Takes `key` with `shape`; when it is missing, the miss is recorded for the final
/// missing-keys error and zeros stand in so that loading goes on to find every other
/// missing key.
pub(crate) fn need(ck: &mut Checkpoint, key: &str, shape: &[usize]) -> Result<Tensor> {
    Ok(ck.take(key, shape)?.unwrap_or_else(|| Tensor::zeros(shape)))
}

/// `{p}.weight`, `{p}.bias` as a LayerNorm over `width` with `eps`.
pub(crate) fn layer_norm(
    ck: &mut Checkpoint,
    p: &str,
    width: usize,
    eps: f64,
) -> Result<LayerNorm> {
    let w = need(ck, &format!("{p}.weight"), &[width])?;
    let b = need(ck, &format!("{p}.bias"), &[width])?;
    Ok(LayerNorm::from_tensors(w, Some(b), eps as f32)?)
}

/// `{p}.weight` `[out, in]` and `{p}.bias` `[out]` as a Linear.
pub(crate) fn linear(ck: &mut Checkpoint, p: &str, inp: usize, out: usize) -> Result<Linear> {
    let w = need(ck, &format!("{p}.weight"), &[out, inp])?;
    let b = need(ck, &format!("{p}.bias"), &[out])?;
    Ok(Linear::from_tensors(w, Some(b))?)
}

/// GPT-2's Conv1D `{p}.weight` `[in, out]` (`y = x W + b`) as a Linear (`[out, in]`).
pub(crate) fn conv1d(ck: &mut Checkpoint, p: &str, inp: usize, out: usize) -> Result<Linear> {
    let w = transposed(&need(ck, &format!("{p}.weight"), &[inp, out])?)?;
    let b = need(ck, &format!("{p}.bias"), &[out])?;
    Ok(Linear::from_tensors(w, Some(b))?)
}

/// The parts of one Transformer block, in `glassbox-nn`'s (PyTorch's) layout.
pub(crate) struct BlockParts {
    pub heads: usize,
    /// `[3E, E]`: query, key, value rows.
    pub in_proj_weight: Tensor,
    /// `[3E]`.
    pub in_proj_bias: Tensor,
    pub out_proj: Linear,
    pub linear1: Linear,
    pub linear2: Linear,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub activation: ActivationKind,
    pub norm_first: bool,
}

impl BlockParts {
    /// The batch-first encoder layer made of these parts (weights shared, not copied).
    pub(crate) fn build(self) -> Result<TransformerEncoderLayer> {
        let out_proj_bias = self.out_proj.bias.as_ref().map(|b| b.value());
        let attn = MultiheadAttention::from_tensors(
            self.heads,
            true,
            self.in_proj_weight,
            Some(self.in_proj_bias),
            self.out_proj.weight.value(),
            out_proj_bias,
        )?;
        Ok(TransformerEncoderLayer::from_parts(
            attn,
            self.linear1,
            self.linear2,
            self.norm1,
            self.norm2,
            self.activation,
            self.norm_first,
        )?)
    }
}

/// Token ids held as f32 (the `Module::forward` convention): non-negative integers.
pub(crate) fn ids_from_floats(t: &Tensor) -> glassbox_nn::Result<Vec<u32>> {
    t.to_vec()
        .into_iter()
        .enumerate()
        .map(|(pos, v)| {
            if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f32 {
                Ok(v as u32)
            } else {
                Err(NnError::InvalidTarget {
                    op: "token ids",
                    reason: format!("value {v} at position {pos} is not a token id"),
                })
            }
        })
        .collect()
}

/// An [`HfError`] reported through the `Module` trait's error type.
pub(crate) fn to_nn(e: HfError) -> NnError {
    match e {
        HfError::Nn(e) => e,
        other => NnError::InvalidTarget {
            op: "glassbox-hf",
            reason: other.to_string(),
        },
    }
}

/// A batch (all tokens real, segment 0) from ids `[batch, seq_len]` held as f32.
pub(crate) fn batch_from_ids(x: &glassbox_autograd::Var) -> glassbox_nn::Result<crate::Batch> {
    let t = x.value();
    let shape = t.shape().to_vec();
    if shape.len() != 2 {
        return Err(NnError::InputShape {
            layer: "glassbox-hf model",
            expected: "[batch, seq_len] token ids".into(),
            found: shape,
        });
    }
    let ids = ids_from_floats(&t)?;
    let n = ids.len();
    crate::Batch::new(shape[0], shape[1], ids, vec![1; n], vec![0; n]).map_err(to_nn)
}
