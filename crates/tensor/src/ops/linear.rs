//! The fully connected product `x Wᵀ + b` in one pass over the output.
//!
//! The output is first filled with the bias rows, then the `gemm` kernel accumulates
//! `x Wᵀ` into it, so the bias costs one write instead of a separate read-add-write pass
//! over the product. `W` keeps PyTorch's `[out, in]` layout and is read through strides.

use crate::error::{Result, TensorError};
use crate::macros::panicking;
use crate::ops::fastmath::vectorized;
use crate::ops::gemm_kernel::packs_any_layout;
use crate::ops::matmul::{sgemm_new_rows, MatRef};
use crate::parallel::{self, MATMUL_PARALLEL_FLOPS};
use crate::tensor::Tensor;
use rayon::prelude::*;

/// Inputs with at least this many rows, through layers with at least
/// [`TRANSPOSE_MIN_IN`] inputs, get a row-major copy of `Wᵀ` (see `try_linear`).
const TRANSPOSE_MIN_ROWS: usize = 512;

/// For narrow layers the copy does not pay: on the 64-128-64-10 digits MLP, Kernel SHAP
/// (2048-row batches) ran 33 → 31 ms without it and Integrated Gradients was unchanged.
const TRANSPOSE_MIN_IN: usize = 256;

/// `Wᵀ` of an `[n, k]` tensor as a row-major `[k, n]` buffer, in cache-sized tiles; bands
/// of output rows go to rayon threads when the weight is large.
fn transposed(weight: &Tensor, n: usize, k: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let w = weight.contiguous();
    let ws = w.as_slice().expect("contiguous tensor");
    let mut out = vec![0.0f32; n * k];
    // Output rows `p0..p0 + TILE` (a band of `Wᵀ`), read from columns `p0..` of `W`.
    let band = |(b, rows): (usize, &mut [f32])| {
        let p0 = b * TILE;
        for j0 in (0..n).step_by(TILE) {
            for (dp, row) in rows.chunks_exact_mut(n).enumerate() {
                let p = p0 + dp;
                for j in j0..(j0 + TILE).min(n) {
                    row[j] = ws[j * k + p];
                }
            }
        }
    };
    if parallel::use_parallel(n * k) {
        out.par_chunks_mut(TILE * n).enumerate().for_each(band);
    } else {
        out.chunks_mut(TILE * n).enumerate().for_each(band);
    }
    out
}

/// `row ← f(row + bias)` for every row of `rows` (rows of `bias.len()`); inlined into its
/// caller so [`vectorized`] compiles the loop for the CPU's widest vectors.
#[inline(always)]
fn bias_map_rows(rows: &mut [f32], bias: &[f32], f: impl Fn(f32) -> f32) {
    for row in rows.chunks_exact_mut(bias.len()) {
        for (o, b) in row.iter_mut().zip(bias) {
            *o = f(*o + b);
        }
    }
}

/// `v ← f(v)` for every element (see [`bias_map_rows`]).
#[inline(always)]
fn map_all(values: &mut [f32], f: impl Fn(f32) -> f32) {
    for v in values {
        *v = f(*v);
    }
}

impl Tensor {
    /// `self · weightᵀ + bias` for `self: [.., in]`, `weight: [out, in]`, `bias: [out]`;
    /// the result is `[.., out]`.
    pub fn try_linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        self.linear_impl(weight, bias, None::<fn(f32) -> f32>, None)
    }

    /// `f(self · weightᵀ + bias)` elementwise, for inference: `f` (an activation) is applied
    /// to each block of output rows right after its product, while the block is in cache,
    /// so the activation costs no pass of its own over memory. Equal to
    /// `try_linear(..)?.map(f)` element for element.
    pub fn try_linear_map(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        f: impl Fn(f32) -> f32 + Sync,
    ) -> Result<Tensor> {
        self.linear_impl(weight, bias, Some(f), None)
    }

    /// `self · weightᵀ + bias` passed through an in-place SIMD `kernel` (such as
    /// [`gelu_inplace`](crate::ops::unary::gelu_inplace)) block by block, like
    /// [`try_linear_map`](Self::try_linear_map). Prefer this where such a kernel exists: a
    /// mapped closure runs at the baseline x86-64 width (LLVM does not inline it into the
    /// AVX2 / AVX-512 epilogue), a kernel at the CPU's full width (GELU: 4× faster here).
    pub fn try_linear_kernel(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        kernel: fn(&mut [f32]),
    ) -> Result<Tensor> {
        self.linear_impl(weight, bias, None::<fn(f32) -> f32>, Some(kernel))
    }

    fn linear_impl(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        f: Option<impl Fn(f32) -> f32 + Sync>,
        kernel: Option<fn(&mut [f32])>,
    ) -> Result<Tensor> {
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
        let out = if m > 0 && n > 0 && k > 0 {
            let xs = x.as_slice().expect("contiguous tensor");
            let a = MatRef {
                ptr: xs.as_ptr(),
                rs: k as isize,
                cs: 1,
            };
            let ws = weight.strides();
            // `gemm` reads a column-major right operand (`Wᵀ` of a row-major `W`) about a
            // fifth slower than a row-major one for wide layers. For tall inputs a row-major
            // copy of `Wᵀ` (n·k moves) costs far less than that share of the 2·m·n·k product.
            let packed: Vec<f32>;
            // This crate's own AVX2 kernel packs either layout at the same cost; it runs each
            // thread's block of rows (see `sgemm_new_rows`).
            let block_rows = m.div_ceil(crate::parallel::threads());
            let copy = m >= TRANSPOSE_MIN_ROWS
                && k >= TRANSPOSE_MIN_IN
                && ws[0] != 1
                && !packs_any_layout(block_rows, n);
            let wt = if copy {
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
            let bv = bias.map(Tensor::to_vec);
            // Bias and activation per block of rows, right after the block's product.
            let epilogue = |rows: &mut [f32]| {
                match (&bv, &f) {
                    (Some(b), Some(f)) => vectorized(|| bias_map_rows(rows, b, f)),
                    (Some(b), None) => vectorized(|| bias_map_rows(rows, b, |v| v)),
                    (None, Some(f)) => vectorized(|| map_all(rows, f)),
                    (None, None) => {}
                }
                if let Some(kernel) = kernel {
                    kernel(rows);
                }
            };
            // SAFETY: `a` is the contiguous `[m, k]` input, `wt` the `[k, n]` transposed view
            // of the live `[n, k]` weight (or its row-major copy).
            unsafe { sgemm_new_rows(m, n, k, a, wt, parallel, &epilogue) }
        } else {
            // No product: the bias rows (or zeros), through `f`.
            let mut out = match bias {
                Some(b) => b.to_vec().repeat(m),
                None => vec![0.0f32; m * n],
            };
            if let Some(f) = &f {
                out.iter_mut().for_each(|o| *o = f(*o));
            }
            if let Some(kernel) = kernel {
                kernel(&mut out);
            }
            out
        };
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
    fn fused_activation_matches_a_naive_loop() {
        let mut rng = Rng::new(5);
        // Tiny (portable kernel); tall enough for several epilogue blocks with a ragged last
        // one on two threads; wider than tall (one epilogue pass after the product).
        for &(m, k, n) in &[(3, 2, 4), (1000, 64, 128), (2049, 33, 10), (40, 30, 300)] {
            let x = Tensor::rand_normal(&[m, k], 0.0, 1.0, &mut rng);
            let w = Tensor::rand_normal(&[n, k], 0.0, 1.0, &mut rng);
            let b = Tensor::rand_normal(&[n], 0.0, 1.0, &mut rng);
            for bias in [Some(&b), None] {
                let relu = x
                    .try_linear_map(&w, bias, |v| if v > 0.0 { v } else { 0.0 })
                    .unwrap();
                let leaky = x
                    .try_linear_map(&w, bias, |v| if v > 0.0 { v } else { 0.1 * v })
                    .unwrap();
                assert_eq!(relu.shape(), &[m, n]);
                let bv = b.to_vec();
                let want = naive(&x.to_vec(), &w.to_vec(), bias.map(|_| &bv[..]), m, k, n);
                for ((r, l), w) in relu.to_vec().iter().zip(leaky.to_vec()).zip(&want) {
                    let tol = 1e-4 * (1.0 + w.abs());
                    assert!((*r as f64 - w.max(0.0)).abs() <= tol, "relu {r} vs {w}");
                    let wl = if *w > 0.0 { *w } else { 0.1 * w };
                    assert!((l as f64 - wl).abs() <= tol, "leaky {l} vs {wl}");
                }
                // Element for element the unfused product followed by the map.
                let unfused = x.linear(&w, bias).relu();
                assert_eq!(relu.to_vec(), unfused.to_vec());
            }
        }
        let e = Tensor::zeros(&[2, 3])
            .try_linear_map(&Tensor::zeros(&[4, 5]), None, |v| v)
            .unwrap_err();
        assert!(e.to_string().contains("in_features = 5"), "{e}");
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
