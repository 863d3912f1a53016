//! The one entry point into the `gemm` family's kernels (`gemm-f32`, `gemm-f64`): a strided,
//! single-threaded `dst = alpha·dst + beta·lhs·rhs` for `f32` and `f64`.
//!
//! The `gemm` umbrella crate would also compile the complex (`c32`, `c64`) kernels, which
//! nothing here uses and which cost about 45 s of a clean 2-core build. This reproduces the
//! only work its generic `gemm::gemm` does before dispatching: the destination is made
//! column-oriented (a row-major destination is computed as the transposed product) and
//! negative strides are turned positive. The kernel chosen at run time (AVX-512 through the
//! `x86-v4` feature, AVX2/FMA otherwise) and therefore every result are the same as through
//! `gemm::gemm`.

use gemm_common::Parallelism;

/// A float type with a `gemm` kernel.
pub trait GemmScalar: Copy + PartialEq + 'static {
    /// The multiplicative identity.
    #[doc(hidden)]
    const ONE: Self;

    /// The kernel picked for this CPU (cached by the kernel crate after its first call).
    #[doc(hidden)]
    fn kernel() -> GemmFn<Self>;

    /// Runs `dst (+)= lhs·rhs` (row-major `dst`, unit column stride) on this crate's own
    /// kernel when it is the faster one for this CPU and shape; false when it did not run.
    ///
    /// # Safety
    /// As [`gemm_strided`].
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn own_kernel(
        _m: usize,
        _n: usize,
        _k: usize,
        _dst: *mut Self,
        _dst_rs: isize,
        _accumulate: bool,
        _lhs: Strided<Self>,
        _rhs: Strided<Self>,
    ) -> bool {
        false
    }
}

/// Signature of a `gemm` family kernel.
#[doc(hidden)]
pub type GemmFn<T> = unsafe fn(
    usize,
    usize,
    usize,
    *mut T,
    isize,
    isize,
    bool,
    *const T,
    isize,
    isize,
    *const T,
    isize,
    isize,
    T,
    T,
    bool,
    bool,
    bool,
    Parallelism,
);

impl GemmScalar for f32 {
    const ONE: f32 = 1.0;

    fn kernel() -> GemmFn<f32> {
        gemm_f32::gemm::f32::get_gemm_fn()
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn own_kernel(
        m: usize,
        n: usize,
        k: usize,
        dst: *mut f32,
        dst_rs: isize,
        accumulate: bool,
        lhs: Strided<f32>,
        rhs: Strided<f32>,
    ) -> bool {
        use crate::ops::gemm_avx2::{preferred, sgemm, MIN_SIDE};
        if m < MIN_SIDE || n < MIN_SIDE || k == 0 || !preferred() {
            return false;
        }
        sgemm(m, n, k, dst, dst_rs, accumulate, lhs, rhs);
        true
    }
}

impl GemmScalar for f64 {
    const ONE: f64 = 1.0;

    fn kernel() -> GemmFn<f64> {
        gemm_f64::gemm::f64::get_gemm_fn()
    }
}

/// Whether an f32 product with an output of at least `rows × cols` runs on this crate's
/// packing kernel, which reads a column-major right operand as fast as a row-major one (so
/// callers need not copy a transposed weight first).
pub fn packs_any_layout(rows: usize, cols: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::ops::gemm_avx2::{preferred, MIN_SIDE};
        rows >= MIN_SIDE && cols >= MIN_SIDE && preferred()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (rows, cols);
        false
    }
}

/// A strided matrix operand: element `(r, c)` is at `ptr + r·rs + c·cs`.
#[derive(Clone, Copy, Debug)]
pub struct Strided<T> {
    /// Address of element `(0, 0)`.
    pub ptr: *const T,
    /// Row stride, in elements.
    pub rs: isize,
    /// Column stride, in elements.
    pub cs: isize,
}

/// `dst = alpha·dst + beta·lhs·rhs` on the calling thread, with `lhs` `[m, k]`, `rhs`
/// `[k, n]` and `dst` `[m, n]` (row stride `dst_rs`, column stride `dst_cs`). When
/// `read_dst` is false, `dst` is only written (it may be uninitialised).
///
/// # Safety
/// Every addressed element of the three operands must be valid (writable for `dst`), and
/// `dst` must not overlap `lhs` or `rhs`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_strided<T: GemmScalar>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: isize,
    dst_cs: isize,
    read_dst: bool,
    lhs: Strided<T>,
    rhs: Strided<T>,
    alpha: T,
    beta: T,
) {
    // This crate's AVX2 kernel, for `dst = dst + lhs·rhs` or `dst = lhs·rhs`, writes a
    // row-major destination; a column-major one is the transposed product.
    let plain = (alpha == T::ONE || !read_dst) && beta == T::ONE;
    if plain && dst_cs == 1 && T::own_kernel(m, n, k, dst, dst_rs, read_dst, lhs, rhs) {
        return;
    }
    if plain && dst_rs == 1 && dst_cs != 1 {
        let (lhs_t, rhs_t) = (
            Strided {
                ptr: rhs.ptr,
                rs: rhs.cs,
                cs: rhs.rs,
            },
            Strided {
                ptr: lhs.ptr,
                rs: lhs.cs,
                cs: lhs.rs,
            },
        );
        if T::own_kernel(n, m, k, dst, dst_cs, read_dst, lhs_t, rhs_t) {
            return;
        }
    }
    // The kernels prefer a column-oriented destination: compute (lhs·rhs)ᵀ = rhsᵀ·lhsᵀ.
    let (m, n, mut dst_cs, mut dst_rs, mut lhs, mut rhs) = if dst_cs.abs() < dst_rs.abs() {
        let lhs_t = Strided {
            ptr: rhs.ptr,
            rs: rhs.cs,
            cs: rhs.rs,
        };
        let rhs_t = Strided {
            ptr: lhs.ptr,
            rs: lhs.cs,
            cs: lhs.rs,
        };
        (n, m, dst_rs, dst_cs, lhs_t, rhs_t)
    } else {
        (m, n, dst_cs, dst_rs, lhs, rhs)
    };
    let mut dst = dst;
    if dst_rs < 0 && m > 0 {
        dst = dst.wrapping_offset((m - 1) as isize * dst_rs);
        dst_rs = -dst_rs;
        lhs.ptr = lhs.ptr.wrapping_offset((m - 1) as isize * lhs.rs);
        lhs.rs = -lhs.rs;
    }
    if dst_cs < 0 && n > 0 {
        dst = dst.wrapping_offset((n - 1) as isize * dst_cs);
        dst_cs = -dst_cs;
        rhs.ptr = rhs.ptr.wrapping_offset((n - 1) as isize * rhs.cs);
        rhs.cs = -rhs.cs;
    }
    if lhs.cs < 0 && k > 0 {
        lhs.ptr = lhs.ptr.wrapping_offset((k - 1) as isize * lhs.cs);
        lhs.cs = -lhs.cs;
        rhs.ptr = rhs.ptr.wrapping_offset((k - 1) as isize * rhs.rs);
        rhs.rs = -rhs.rs;
    }
    T::kernel()(
        m,
        n,
        k,
        dst,
        dst_cs,
        dst_rs,
        read_dst,
        lhs.ptr,
        lhs.cs,
        lhs.rs,
        rhs.ptr,
        rhs.cs,
        rhs.rs,
        alpha,
        beta,
        false,
        false,
        false,
        Parallelism::None,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain triple loop in f64 over the same strided addressing.
    fn reference(m: usize, n: usize, k: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    #[test]
    fn row_and_column_major_destinations_and_transposed_operands_match_a_triple_loop() {
        let (m, n, k) = (7, 5, 9);
        let a: Vec<f64> = (0..m * k)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let b: Vec<f64> = (0..k * n)
            .map(|i| ((i * 17 % 13) as f64 - 6.0) / 4.0)
            .collect();
        let want = reference(m, n, k, &a, &b);
        // Row-major destination, row-major operands.
        let mut row = vec![0.0f64; m * n];
        // Column-major destination, lhs read through its transpose's storage.
        let a_t: Vec<f64> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let mut col = vec![0.0f64; m * n];
        unsafe {
            let lhs = Strided {
                ptr: a.as_ptr(),
                rs: k as isize,
                cs: 1,
            };
            let rhs = Strided {
                ptr: b.as_ptr(),
                rs: n as isize,
                cs: 1,
            };
            gemm_strided(
                m,
                n,
                k,
                row.as_mut_ptr(),
                n as isize,
                1,
                false,
                lhs,
                rhs,
                0.0,
                1.0,
            );
            let lhs_t = Strided {
                ptr: a_t.as_ptr(),
                rs: 1,
                cs: m as isize,
            };
            gemm_strided(
                m,
                n,
                k,
                col.as_mut_ptr(),
                1,
                m as isize,
                false,
                lhs_t,
                rhs,
                0.0,
                1.0,
            );
        }
        for i in 0..m {
            for j in 0..n {
                let w = want[i * n + j];
                assert!((row[i * n + j] - w).abs() < 1e-12, "row-major ({i},{j})");
                assert!((col[j * m + i] - w).abs() < 1e-12, "col-major ({i},{j})");
            }
        }
        // f32, accumulating into the destination: dst = 1·dst + 1·a·b.
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        let mut acc = vec![1.0f32; m * n];
        unsafe {
            let lhs = Strided {
                ptr: a32.as_ptr(),
                rs: k as isize,
                cs: 1,
            };
            let rhs = Strided {
                ptr: b32.as_ptr(),
                rs: n as isize,
                cs: 1,
            };
            gemm_strided(
                m,
                n,
                k,
                acc.as_mut_ptr(),
                n as isize,
                1,
                true,
                lhs,
                rhs,
                1.0,
                1.0,
            );
        }
        for (got, w) in acc.iter().zip(&want) {
            assert!((f64::from(*got) - (w + 1.0)).abs() < 1e-4);
        }
    }
}
