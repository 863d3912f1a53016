//! The fully connected product `x Wᵀ + b` in one pass over the output.
//!
//! The output is first filled with the bias rows, then the `gemm` kernel accumulates
//! `x Wᵀ` into it, so the bias costs one write instead of a separate read-add-write pass
//! over the product. `W` keeps PyTorch's `[out, in]` layout and is read through strides.

use crate::error::{Result, TensorError};
use crate::macros::panicking;
use crate::ops::matmul::{sgemm, MatRef};
use crate::parallel::MATMUL_PARALLEL_FLOPS;
use crate::tensor::Tensor;

/// Inputs with at least this many rows get a row-major copy of `Wᵀ` (see `try_linear`).
const TRANSPOSE_MIN_ROWS: usize = 512;

/// `Wᵀ` of an `[n, k]` tensor as a row-major `[k, n]` buffer, in cache-sized tiles.
fn transposed(weight: &Tensor, n: usize, k: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let w = weight.contiguous();
    let ws = w.as_slice().expect("contiguous tensor");
    let mut out = vec![0.0f32; n * k];
    for j0 in (0..n).step_by(TILE) {
        for p0 in (0..k).step_by(TILE) {
            for j in j0..(j0 + TILE).min(n) {
                for p in p0..(p0 + TILE).min(k) {
                    out[p * n + j] = ws[j * k + p];
                }
            }
        }
    }
    out
}

impl Tensor {
    /// `self · weightᵀ + bias` for `self: [.., in]`, `weight: [out, in]`, `bias: [out]`;
    /// the result is `[.., out]`.
    pub fn try_linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let op = "linear";
        if weight.rank() != 2 {
            return Err(TensorError::arg(
                op,
                weight.shape(),
                "weight must be [out, in]",
            ));
        }
        let (n, k) = (weight.shape()[0], weight.shape()[1]);
        if self.rank() == 0 || self.shape()[self.rank() - 1] != k {
            return Err(TensorError::mismatch(
                op,
                self.shape(),
                weight.shape(),
                format!("input must end with in_features = {k}"),
            ));
        }
        if let Some(b) = bias {
            if b.shape() != [n] {
                return Err(TensorError::mismatch(
                    op,
                    weight.shape(),
                    b.shape(),
                    format!("bias must be [{n}]"),
                ));
            }
        }
        let x = self.contiguous();
        let m = x.len() / k.max(1);
        // The GEMM accumulates into `out`: start from the bias rows (or zeros).
        let out_len = m * n;
        let mut out = match bias {
            Some(b) => {
                let bv = b.to_vec();
                let mut out = Vec::with_capacity(out_len);
                for _ in 0..m {
                    out.extend_from_slice(&bv);
                }
                out
            }
            None => vec![0.0f32; out_len],
        };
        if m > 0 && n > 0 && k > 0 {
            let xs = x.as_slice().expect("contiguous tensor");
            let a = MatRef {
                ptr: xs.as_ptr(),
                rs: k as isize,
                cs: 1,
            };
            let ws = weight.strides();
            // `gemm` reads a column-major right operand (`Wᵀ` of a row-major `W`) about a
            // fifth slower than a row-major one. For tall inputs a row-major copy of `Wᵀ`
            // (n·k moves) costs far less than that share of the 2·m·n·k product.
            let packed: Vec<f32>;
            let wt = if m >= TRANSPOSE_MIN_ROWS && ws[0] != 1 {
                packed = transposed(weight, n, k);
                MatRef {
                    ptr: packed.as_ptr(),
                    rs: n as isize,
                    cs: 1,
                }
            } else {
                MatRef {
                    ptr: weight.as_array().as_ptr(),
                    rs: ws[1],
                    cs: ws[0],
                }
            };
            let parallel = 2 * m * n * k >= MATMUL_PARALLEL_FLOPS;
            // SAFETY: `a` is the contiguous `[m, k]` input, `wt` the `[k, n]` transposed view
            // of the live `[n, k]` weight; `out` is a fresh `[m, n]` buffer.
            unsafe {
                sgemm(m, n, k, out.as_mut_ptr(), n as isize, true, a, wt, parallel);
            }
        }
        let mut shape = self.shape().to_vec();
        let last = shape.len() - 1;
        shape[last] = n;
        Ok(Tensor::from_vec_unchecked(out, &shape))
    }
}

panicking! {
    linear => try_linear(weight: &Tensor, bias: Option<&Tensor>) -> Tensor;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn naive(x: &[f32], w: &[f32], b: Option<&[f32]>, m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = b.map_or(0.0, |b| b[j] as f64);
                for p in 0..k {
                    s += x[i * k + p] as f64 * w[j * k + p] as f64;
                }
                out[i * n + j] = s;
            }
        }
        out
    }

    #[test]
    fn matches_a_naive_loop() {
        let mut rng = Rng::new(4);
        // Tiny (portable kernel), mid-size, and large enough to run multi-threaded; a rank-3
        // input; k = 1.
        for &(lead, k, n) in &[
            (&[3][..], 2, 4),
            (&[64][..], 37, 29),
            (&[2, 300][..], 200, 70),
            (&[600][..], 33, 45),
            (&[5][..], 1, 3),
        ] {
            let mut xs = lead.to_vec();
            xs.push(k);
            let x = Tensor::rand_normal(&xs, 0.0, 1.0, &mut rng);
            let w = Tensor::rand_normal(&[n, k], 0.0, 1.0, &mut rng);
            let b = Tensor::rand_normal(&[n], 0.0, 1.0, &mut rng);
            let m: usize = lead.iter().product();
            for bias in [Some(&b), None] {
                let y = x.linear(&w, bias);
                let mut want_shape = lead.to_vec();
                want_shape.push(n);
                assert_eq!(y.shape(), &want_shape[..]);
                let bv = b.to_vec();
                let want = naive(&x.to_vec(), &w.to_vec(), bias.map(|_| &bv[..]), m, k, n);
                for (g, w) in y.to_vec().iter().zip(&want) {
                    assert!(
                        (*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                        "{g} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn strided_operands() {
        let mut rng = Rng::new(8);
        // x as a transposed view, W as a transposed view of an [in, out] tensor.
        let x = Tensor::rand_normal(&[6, 5], 0.0, 1.0, &mut rng).t();
        let w = Tensor::rand_normal(&[6, 4], 0.0, 1.0, &mut rng).t();
        let y = x.linear(&w, None);
        let want = x.matmul(&w.t());
        for (g, w) in y.to_vec().iter().zip(want.to_vec()) {
            assert!((g - w).abs() < 1e-5);
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        let x = Tensor::zeros(&[2, 3]);
        let e = x.try_linear(&Tensor::zeros(&[4, 5]), None).unwrap_err();
        assert!(e.to_string().contains("in_features = 5"), "{e}");
        let e = x
            .try_linear(&Tensor::zeros(&[4, 3]), Some(&Tensor::zeros(&[3])))
            .unwrap_err();
        assert!(e.to_string().contains("bias must be [4]"), "{e}");
        assert!(x.try_linear(&Tensor::zeros(&[3]), None).is_err());
    }
}
