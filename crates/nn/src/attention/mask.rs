//! Attention masks with PyTorch's polarity, and their combination into one additive mask.

use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};

/// An attention or key-padding mask, as PyTorch takes them.
///
/// - `Bool`: a 0/1 tensor where a **nonzero value excludes** the position (PyTorch's
///   `True` = "not allowed to attend" / "ignore this key").
/// - `Additive`: values added to the scaled scores (`-inf` excludes, 0 keeps).
///
/// Shapes: a key-padding mask is `[B, S]` (`[S]` for unbatched input); an attention mask is
/// `[L, S]` (shared by every sequence and head) or `[B·H, L, S]` (batch-major, PyTorch's
/// layout).
#[derive(Clone, Debug)]
pub enum Mask {
    /// Nonzero = excluded.
    Bool(Tensor),
    /// Added to the scores.
    Additive(Tensor),
}

impl Mask {
    /// A boolean mask from `true` = excluded flags in row-major order.
    pub fn from_bools(excluded: &[bool], shape: &[usize]) -> Result<Mask> {
        let data = excluded
            .iter()
            .map(|&b| if b { 1.0 } else { 0.0 })
            .collect();
        Ok(Mask::Bool(Tensor::from_vec(data, shape)?))
    }

    /// PyTorch's `generate_square_subsequent_mask(len)`: additive `[len, len]`, `-inf`
    /// above the diagonal.
    pub fn causal(len: usize) -> Mask {
        let mut data = vec![0.0f32; len * len];
        for i in 0..len {
            data[i * len + i + 1..(i + 1) * len].fill(f32::NEG_INFINITY);
        }
        Mask::Additive(Tensor::from_vec(data, &[len, len]).expect("len * len values"))
    }

    /// The tensor, whatever its kind.
    pub fn tensor(&self) -> &Tensor {
        match self {
            Mask::Bool(t) | Mask::Additive(t) => t,
        }
    }

    /// The additive form: a boolean mask becomes 0 / `-inf`.
    pub fn to_additive(&self) -> Tensor {
        match self {
            Mask::Bool(t) => t.map(|v| if v != 0.0 { f32::NEG_INFINITY } else { 0.0 }),
            Mask::Additive(t) => t.clone(),
        }
    }
}

/// Sizes the masks are checked against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MaskDims {
    pub batch: usize,
    pub heads: usize,
    pub tgt: usize,
    pub src: usize,
}

/// `attn_mask` and `key_padding_mask` as one additive tensor `[B|1, H|1, L|1, S]`, or
/// `None` when neither is given. `layer` names the caller in errors.
pub(crate) fn combine_masks(
    layer: &'static str,
    attn_mask: Option<&Mask>,
    key_padding_mask: Option<&Mask>,
    d: MaskDims,
) -> Result<Option<Tensor>> {
    let attn = match attn_mask {
        None => None,
        Some(m) => {
            let t = m.tensor();
            let shape = t.shape();
            let full = [d.batch * d.heads, d.tgt, d.src];
            let four = if shape == [d.tgt, d.src] {
                [1, 1, d.tgt, d.src]
            } else if shape == full {
                [d.batch, d.heads, d.tgt, d.src]
            } else {
                return Err(NnError::InputShape {
                    layer,
                    expected: format!("attn_mask [{}, {}] or {full:?}", d.tgt, d.src),
                    found: shape.to_vec(),
                });
            };
            Some(m.to_additive().try_reshape(&four)?)
        }
    };
    let kpm = match key_padding_mask {
        None => None,
        Some(m) => {
            let shape = m.tensor().shape();
            if shape != [d.batch, d.src] {
                return Err(NnError::InputShape {
                    layer,
                    expected: format!("key_padding_mask [{}, {}]", d.batch, d.src),
                    found: shape.to_vec(),
                });
            }
            Some(m.to_additive().try_reshape(&[d.batch, 1, 1, d.src])?)
        }
    };
    Ok(match (attn, kpm) {
        (Some(a), Some(k)) => Some(a.try_add(&k)?),
        (a, k) => a.or(k),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polarity_shapes_and_errors() {
        let kpm = Mask::from_bools(&[false, true, false, false], &[2, 2]).unwrap();
        assert_eq!(
            kpm.to_additive().to_vec(),
            vec![0.0, f32::NEG_INFINITY, 0.0, 0.0]
        );
        let d = MaskDims {
            batch: 2,
            heads: 3,
            tgt: 2,
            src: 2,
        };
        let causal = Mask::causal(2);
        let m = combine_masks("t", Some(&causal), Some(&kpm), d)
            .unwrap()
            .unwrap();
        assert_eq!(m.shape(), &[2, 1, 2, 2]);
        // Batch 0: key 1 padded, and query 0 may not see key 1 anyway.
        assert_eq!(
            m.to_vec()[..4],
            [0.0, f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY]
        );
        assert_eq!(m.to_vec()[4..], [0.0, f32::NEG_INFINITY, 0.0, 0.0]);
        assert!(combine_masks("t", None, None, d).unwrap().is_none());
        let bad = Mask::causal(3);
        let err = combine_masks("t", Some(&bad), None, d).unwrap_err();
        assert!(err.to_string().contains("attn_mask"), "{err}");
        assert!(combine_masks("t", None, Some(&bad), d).is_err());
        let per_head = Mask::Additive(Tensor::zeros(&[6, 2, 2]));
        let m = combine_masks("t", Some(&per_head), None, d)
            .unwrap()
            .unwrap();
        assert_eq!(m.shape(), &[2, 3, 2, 2]);
    }
}
