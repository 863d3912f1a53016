//! Attention probabilities `softmax(scale · Q Kᵀ + mask)` as one recorded op.
//!
//! The forward and backward are the tensor kernels
//! [`attention_probs`](glassbox_tensor::ops::attention::attention_probs) and
//! [`attention_probs_backward`](glassbox_tensor::ops::attention::attention_probs_backward);
//! the product with the values is an ordinary [`Var::matmul`], so the probabilities are a
//! `Var` of their own (their gradient can be kept with [`Var::retain_grad`]).

use glassbox_tensor::ops::attention::{
    attention_probs as probs_kernel, attention_probs_backward, AttentionParams, HeadLayout, Heads,
    MaskRef,
};
use glassbox_tensor::Tensor;

use crate::error::{AutogradError, Result};
use crate::op::BackwardOp;
use crate::var::Var;

struct AttentionProbsBackward {
    probs: Tensor,
    scale: f32,
}

fn dense(t: &Tensor) -> Tensor {
    if t.is_contiguous() {
        t.clone()
    } else {
        t.contiguous()
    }
}

fn bhld(t: &Tensor) -> HeadLayout {
    let s = t.shape();
    HeadLayout::bhld(s[0], s[1], s[2], s[3])
}

impl BackwardOp for AttentionProbsBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let (q, k) = (dense(&inputs[0].value()), dense(&inputs[1].value()));
        let g = dense(g);
        let (dq, dk) = attention_probs_backward(
            self.probs.as_slice().expect("dense probabilities"),
            g.as_slice().expect("dense gradient"),
            Heads {
                data: q.as_slice().expect("dense"),
                layout: bhld(&q),
            },
            Heads {
                data: k.as_slice().expect("dense"),
                layout: bhld(&k),
            },
            self.scale,
        )?;
        let dq = inputs[0]
            .requires_grad()
            .then(|| Tensor::from_vec(dq, q.shape()))
            .transpose()?;
        let dk = inputs[1]
            .requires_grad()
            .then(|| Tensor::from_vec(dk, k.shape()))
            .transpose()?;
        Ok(vec![dq, dk])
    }

    fn name(&self) -> &'static str {
        "attention_probs"
    }
}

/// `softmax(scale · q kᵀ + mask)` over the last axis, for `q: [B, H, L, D]` and
/// `k: [B, H, S, D]` (any strides), giving `[B, H, L, S]`.
///
/// `mask` is additive (`-inf` excludes a key) and shaped `[B|1, H|1, L|1, S]`; it is a
/// constant (no gradient flows into it). With `causal`, query `i` sees keys
/// `j ≤ i + S − L`. Rows with no visible key are all zero.
///
/// ```
/// use glassbox_autograd::{ops::attention::attention_probs, Var};
/// use glassbox_tensor::Tensor;
/// let q = Var::parameter(Tensor::ones(&[1, 1, 2, 3]));
/// let p = attention_probs(&q, &q, None, 1.0, true).unwrap();
/// assert_eq!(p.value().to_vec(), vec![1.0, 0.0, 0.5, 0.5]);
/// ```
pub fn attention_probs(
    q: &Var,
    k: &Var,
    mask: Option<&Tensor>,
    scale: f32,
    causal: bool,
) -> Result<Var> {
    let (qv, kv) = (dense(&q.value()), dense(&k.value()));
    if qv.rank() != 4 || kv.rank() != 4 {
        return Err(AutogradError::invalid(
            "attention_probs",
            format!(
                "queries {:?} and keys {:?} must be [B, H, L, D] and [B, H, S, D]",
                qv.shape(),
                kv.shape()
            ),
        ));
    }
    let mask = mask.map(dense);
    let mask_ref = match &mask {
        Some(m) if m.rank() == 4 => Some(MaskRef {
            data: m.as_slice().expect("dense"),
            shape: [m.shape()[0], m.shape()[1], m.shape()[2], m.shape()[3]],
        }),
        Some(m) => {
            return Err(AutogradError::invalid(
                "attention_probs",
                format!("mask {:?} must be [B|1, H|1, L|1, S]", m.shape()),
            ))
        }
        None => None,
    };
    let params = AttentionParams { scale, causal };
    let probs = probs_kernel(
        Heads {
            data: qv.as_slice().expect("dense"),
            layout: bhld(&qv),
        },
        Heads {
            data: kv.as_slice().expect("dense"),
            layout: bhld(&kv),
        },
        mask_ref,
        params,
    )?;
    let (b, h, l, s) = (qv.shape()[0], qv.shape()[1], qv.shape()[2], kv.shape()[2]);
    let value = Tensor::from_vec(probs, &[b, h, l, s])?;
    let saved = value.clone();
    Ok(Var::record(value, &[q, k], || AttentionProbsBackward {
        probs: saved,
        scale,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck;
    use glassbox_tensor::rng::Rng;

    #[test]
    fn matches_composed_ops_and_finite_differences() {
        let mut rng = Rng::new(4);
        let q = Tensor::rand_normal(&[2, 2, 3, 4], 0.0, 1.0, &mut rng);
        let k = Tensor::rand_normal(&[2, 2, 5, 4], 0.0, 1.0, &mut rng);
        let mut m = Tensor::rand_normal(&[2, 1, 1, 5], 0.0, 1.0, &mut rng).to_vec();
        m[2] = f32::NEG_INFINITY;
        let mask = Tensor::from_vec(m, &[2, 1, 1, 5]).unwrap();
        // Composed from existing ops (an independent path): softmax(q kᵀ · s + mask).
        let (qv, kv) = (Var::parameter(q.clone()), Var::parameter(k.clone()));
        let composed = qv
            .matmul(&kv.transpose(2, 3).unwrap())
            .unwrap()
            .mul_scalar(0.5)
            .add(&Var::constant(mask.clone()))
            .unwrap()
            .softmax(3)
            .unwrap();
        let fused = attention_probs(&qv, &kv, Some(&mask), 0.5, false).unwrap();
        assert!(fused.value().allclose(&composed.value(), 1e-5, 1e-6));
        let report = gradcheck(
            |v: &[Var]| {
                let p = attention_probs(&v[0], &v[1], Some(&mask), 0.5, true)?;
                p.mul(&p.sin())
            },
            &[q, k],
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(report.passed(), "{report}");
    }

    #[test]
    fn bad_shapes_are_errors() {
        let q = Var::parameter(Tensor::ones(&[2, 3]));
        assert!(attention_probs(&q, &q, None, 1.0, false).is_err());
        let q = Var::parameter(Tensor::ones(&[1, 1, 2, 3]));
        let m = Tensor::ones(&[2, 2]);
        assert!(attention_probs(&q, &q, Some(&m), 1.0, false).is_err());
        let m = Tensor::ones(&[1, 1, 1, 3]);
        assert!(attention_probs(&q, &q, Some(&m), 1.0, false).is_err());
    }
}
