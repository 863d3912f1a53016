//! A checked, slice-level GEMM for kernels that manage their own buffers (the fused RNN
//! kernel): strided operands over plain slices, written into an existing destination.

use crate::error::{Result, TensorError};
use crate::ops::matmul::{sgemm, MatRef};
use crate::parallel::MATMUL_PARALLEL_FLOPS;

/// A read-only strided matrix operand of [`gemm_into`]: element `(r, c)` is
/// `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct GemmOperand<'a> {
    /// Backing storage; every addressed element must lie inside it.
    pub data: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Distance between consecutive rows, in elements.
    pub row_stride: usize,
    /// Distance between consecutive columns, in elements.
    pub col_stride: usize,
}

impl<'a> GemmOperand<'a> {
    /// A row-major `rows × cols` matrix stored densely in `data`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        GemmOperand {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose (`cols × rows` view) of a dense row-major `rows × cols` matrix.
    pub fn transposed(data: &'a [f32], rows: usize, cols: usize) -> Self {
        GemmOperand {
            data,
            rows: cols,
            cols: rows,
            row_stride: 1,
            col_stride: cols,
        }
    }

    fn check(&self, what: &str) -> Result<()> {
        if self.rows == 0 || self.cols == 0 {
            return Ok(());
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .zip((self.cols - 1).checked_mul(self.col_stride))
            .and_then(|(r, c)| r.checked_add(c));
        match last {
            Some(l) if l < self.data.len() && l <= isize::MAX as usize => Ok(()),
            _ => Err(TensorError::arg(
                "gemm_into",
                &[self.rows, self.cols],
                format!(
                    "{what}: strides ({}, {}) address past its {} elements",
                    self.row_stride,
                    self.col_stride,
                    self.data.len()
                ),
            )),
        }
    }
}

/// `dst[i * dst_row_stride + j] (+)= Σ_p a(i, p) · b(p, j)` for the `m × n` product of
/// `a` (`m × k`) and `b` (`k × n`), written into an existing buffer with the GEMM kernel
/// used by [`Tensor::try_matmul`]. `accumulate = false` overwrites `dst`; `parallel` lets
/// large products use the rayon pool. Shapes and every addressed index are checked
/// (rows of `dst` must not overlap: `dst_row_stride ≥ n`); errors never panic.
pub fn gemm_into(
    dst: &mut [f32],
    dst_row_stride: usize,
    accumulate: bool,
    a: GemmOperand<'_>,
    b: GemmOperand<'_>,
    parallel: bool,
) -> Result<()> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        return Err(TensorError::mismatch(
            "gemm_into",
            &[a.rows, a.cols],
            &[b.rows, b.cols],
            format!("inner dimensions {k} and {} differ", b.rows),
        ));
    }
    a.check("lhs")?;
    b.check("rhs")?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let need = (m - 1)
        .checked_mul(dst_row_stride)
        .and_then(|v| v.checked_add(n));
    if dst_row_stride < n || !matches!(need, Some(v) if v <= dst.len() && v <= isize::MAX as usize)
    {
        return Err(TensorError::arg(
            "gemm_into",
            &[m, n],
            format!(
                "destination of {} elements with row stride {dst_row_stride} cannot hold the product",
                dst.len()
            ),
        ));
    }
    let op = |o: &GemmOperand<'_>| MatRef {
        ptr: o.data.as_ptr(),
        rs: o.row_stride as isize,
        cs: o.col_stride as isize,
    };
    // SAFETY: every index addressed through `a`, `b` (checked above, strides fit in isize)
    // and `dst` (rows of length n at stride ≥ n inside `dst`) is in bounds; `dst` is a
    // unique borrow, so it cannot alias the shared operands.
    unsafe {
        sgemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_row_stride as isize,
            accumulate,
            op(&a),
            op(&b),
            parallel && 2 * m * n * k >= MATMUL_PARALLEL_FLOPS,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &GemmOperand, b: &GemmOperand) -> Vec<f64> {
        let mut out = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    out[i * n + j] += a.data[i * a.row_stride + p * a.col_stride] as f64
                        * b.data[p * b.row_stride + j * b.col_stride] as f64;
                }
            }
        }
        out
    }

    fn data(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0
                    - 1.0
            })
            .collect()
    }

    #[test]
    fn strided_operands_match_naive_loops() {
        for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (33, 17, 65), (64, 200, 40)] {
            let ad = data(m * k, 1);
            let bd = data(k * n, 2);
            // a stored transposed (k × m), b row-major, dst with padded rows.
            let a = GemmOperand::transposed(&ad, k, m);
            let b = GemmOperand::row_major(&bd, k, n);
            let want = naive(m, n, k, &a, &b);
            let rs = n + 3;
            let mut dst = vec![1.0f32; (m - 1) * rs + n];
            gemm_into(&mut dst, rs, true, a, b, true).unwrap();
            for i in 0..m {
                for j in 0..n {
                    let got = dst[i * rs + j] as f64;
                    assert!(
                        (got - 1.0 - want[i * n + j]).abs() < 1e-4,
                        "{m}x{k}x{n} ({i},{j})"
                    );
                }
                if i + 1 < m {
                    assert!(dst[i * rs + n..(i + 1) * rs].iter().all(|&v| v == 1.0));
                }
            }
            gemm_into(&mut dst, rs, false, a, b, false).unwrap();
            assert!((dst[0] as f64 - want[0]).abs() < 1e-4);
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let ad = data(6, 1);
        let a = GemmOperand::row_major(&ad, 2, 3);
        let b = GemmOperand::row_major(&ad, 3, 2);
        let mut dst = vec![0.0f32; 4];
        assert!(gemm_into(&mut dst, 2, false, a, a, false).is_err());
        assert!(gemm_into(&mut dst[..3], 2, false, a, b, false).is_err());
        assert!(gemm_into(&mut dst, 1, false, a, b, false).is_err());
        let wide = GemmOperand { row_stride: 4, ..a };
        assert!(gemm_into(&mut dst, 2, false, wide, b, false).is_err());
        let huge = GemmOperand {
            col_stride: usize::MAX,
            ..a
        };
        assert!(gemm_into(&mut dst, 2, false, huge, b, false).is_err());
        assert!(gemm_into(&mut dst, 2, false, a, b, false).is_ok());
    }
}
