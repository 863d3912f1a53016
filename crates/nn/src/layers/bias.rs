//! A fused bias addition along one axis, shared by Linear and the convolutions.
//!
//! `y = x + b` with `b` broadcast along `axis` of `x` (`[.., C, ..]`, `b: [C]`). The backward
//! pass sums the upstream gradient into `[C]` with one contiguous pass, instead of a general
//! broadcasting reduction.

use glassbox_autograd::{BackwardOp, Result as AgResult, Var};
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};

struct BiasAdd {
    outer: usize,
    channels: usize,
    inner: usize,
}

impl BackwardOp for BiasAdd {
    fn backward(&self, grad_out: &Tensor, inputs: &[Var]) -> AgResult<Vec<Option<Tensor>>> {
        let dx = inputs[0].requires_grad().then(|| grad_out.clone());
        let db = if inputs[1].requires_grad() {
            let g = grad_out.contiguous();
            let gs = g.as_slice().expect("contiguous");
            let mut acc = vec![0.0f64; self.channels];
            if self.inner == 1 {
                column_sums(gs, self.channels, &mut acc);
            } else {
                for block in gs.chunks_exact(self.channels * self.inner) {
                    for (c, a) in acc.iter_mut().enumerate() {
                        let s: f32 = block[c * self.inner..(c + 1) * self.inner].iter().sum();
                        *a += s as f64;
                    }
                }
            }
            debug_assert_eq!(gs.len(), self.outer * self.channels * self.inner);
            Some(Tensor::from_vec(
                acc.into_iter().map(|v| v as f32).collect(),
                &[self.channels],
            )?)
        } else {
            None
        };
        Ok(vec![dx, db])
    }

    fn name(&self) -> &'static str {
        "bias_add"
    }
}

/// Rows of a `[rows, C]` buffer summed into `acc` (`[C]`): vectorised f32 sums over blocks
/// of rows, each block added into the f64 accumulators (so long batches keep f64 accuracy).
pub(crate) fn column_sums(data: &[f32], channels: usize, acc: &mut [f64]) {
    const ROWS_PER_BLOCK: usize = 64;
    let mut partial = vec![0.0f32; channels];
    for block in data.chunks(channels * ROWS_PER_BLOCK) {
        partial.fill(0.0);
        for row in block.chunks_exact(channels) {
            partial.iter_mut().zip(row).for_each(|(p, v)| *p += v);
        }
        acc.iter_mut()
            .zip(&partial)
            .for_each(|(a, p)| *a += *p as f64);
    }
}

/// `x + b` with `b: [C]` broadcast along `axis` of `x` (where `x.shape()[axis] == C`).
pub(crate) fn bias_add(layer: &'static str, x: &Var, b: &Var, axis: usize) -> Result<Var> {
    let shape = x.shape();
    let c = b.shape().iter().product::<usize>();
    if axis >= shape.len() || shape[axis] != c {
        return Err(NnError::InputShape {
            layer,
            expected: format!("{c} features along axis {axis}"),
            found: shape,
        });
    }
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut y = x.value().contiguous();
    let bv = b.value().to_vec();
    {
        let ys = y.as_slice_mut();
        if inner == 1 {
            // `[rows, C]`: add `b` to every row (a loop LLVM vectorises).
            for row in ys.chunks_exact_mut(c) {
                row.iter_mut().zip(&bv).for_each(|(v, bc)| *v += bc);
            }
        } else {
            for block in ys.chunks_exact_mut(c * inner) {
                for (ch, &bc) in bv.iter().enumerate() {
                    block[ch * inner..(ch + 1) * inner]
                        .iter_mut()
                        .for_each(|v| *v += bc);
                }
            }
        }
    }
    Ok(Var::from_op(
        y,
        &[x.clone(), b.clone()],
        Box::new(BiasAdd {
            outer,
            channels: c,
            inner,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_autograd::gradcheck;

    #[test]
    fn rows_case_matches_a_naive_loop() {
        // `[rows, C]` (Linear's case) with more rows than one accumulation block.
        let (rows, c) = (150, 7);
        let x = Tensor::from_vec(
            (0..rows * c).map(|v| (v % 13) as f32 - 6.0).collect(),
            &[rows, c],
        )
        .unwrap();
        let b = Tensor::from_vec((0..c).map(|v| v as f32 * 0.25 - 1.0).collect(), &[c]).unwrap();
        let bv = Var::parameter(b.clone());
        let y = bias_add("t", &Var::constant(x.clone()), &bv, 1).unwrap();
        let (xs, bs) = (x.to_vec(), b.to_vec());
        for (i, v) in y.value().to_vec().iter().enumerate() {
            assert_eq!(*v, xs[i] + bs[i % c]);
        }
        let up = Tensor::from_vec(
            (0..rows * c).map(|v| ((v * 7) % 11) as f32 * 0.1).collect(),
            &[rows, c],
        )
        .unwrap();
        y.backward_with(&up).unwrap();
        let us = up.to_vec();
        let g = bv.grad().unwrap().to_vec();
        for ch in 0..c {
            let want: f64 = (0..rows).map(|r| us[r * c + ch] as f64).sum();
            assert!(
                (g[ch] as f64 - want).abs() < 1e-4,
                "channel {ch}: {} vs {want}",
                g[ch]
            );
        }
    }

    #[test]
    fn matches_broadcast_add_and_finite_differences() {
        let x = Tensor::from_vec((0..24).map(|v| v as f32 * 0.1).collect(), &[2, 3, 4]).unwrap();
        let b = Tensor::from_vec(vec![1.0, -2.0, 0.5], &[3]).unwrap();
        let y = bias_add("t", &Var::constant(x.clone()), &Var::constant(b.clone()), 1).unwrap();
        let want = x.try_add(&b.try_reshape(&[1, 3, 1]).unwrap()).unwrap();
        assert_eq!(y.value().to_vec(), want.to_vec());
        let report = gradcheck(
            |v: &[Var]| {
                bias_add("t", &v[0], &v[1], 1).map_err(|e| {
                    glassbox_autograd::AutogradError::invalid("bias_add", e.to_string())
                })
            },
            &[x, b],
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(report.passed(), "{report}");
    }
}
