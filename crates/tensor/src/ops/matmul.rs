//! Matrix multiplication: 2-D, batched with broadcast batch dims, strided operands.
//!
//! The kernel is the `gemm` crate (runtime CPU dispatch: AVX-512 where available, else
//! AVX2/FMA, else scalar), or on AVX2-only CPUs this crate's packing kernel for products of
//! at least 64 × 64 outputs (`gemm_avx2`, chosen in `gemm_kernel::gemm_strided`). Operands
//! are passed with their strides, so transposed views cost no copy. Products below [`MATMUL_PARALLEL_FLOPS`] run on the calling thread.
//! Setting the environment variable `GLASSBOX_GEMM_PORTABLE=1` (read once) routes every
//! matmul through [`Tensor::try_matmul_portable`], a plain-Rust kernel with no SIMD
//! intrinsics, which is also callable directly to test that fallback path.

use std::sync::OnceLock;

use rayon::prelude::*;

use crate::error::{Result, TensorError};
use crate::macros::panicking;
use crate::ops::gemm_kernel::{gemm_strided, Strided};
use crate::ops::shape::broadcast_shapes;
use crate::parallel::MATMUL_PARALLEL_FLOPS;
use crate::tensor::Tensor;

pub use crate::ops::gemm_into::{gemm_into, GemmOperand};

/// Which kernel runs the per-matrix product.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kernel {
    Gemm,
    Portable,
}

fn portable_forced() -> bool {
    static FLAG: OnceLock<bool> = OnceLock::new();
    *FLAG.get_or_init(|| {
        std::env::var("GLASSBOX_GEMM_PORTABLE").is_ok_and(|v| !v.is_empty() && v != "0")
    })
}

/// A strided matrix operand: pointer to element (0, 0) plus row and column strides.
#[derive(Clone, Copy)]
pub(crate) struct MatRef {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}

// SAFETY: a `MatRef` only reads from tensor storage that outlives every kernel call made
// with it; concurrent reads are sound.
unsafe impl Send for MatRef {}
unsafe impl Sync for MatRef {}

/// `dst (m × n, row stride dst_rs, unit column stride) (+)= a (m × k) · b (k × n)`.
///
/// # Safety
/// All pointers must be valid for the addressed elements and `dst` must not alias `a`/`b`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: isize,
    accumulate: bool,
    a: MatRef,
    b: MatRef,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                std::slice::from_raw_parts_mut(dst.offset(i as isize * dst_rs), n).fill(0.0);
            }
        }
        return;
    }
    if portable_forced() || m * n * k <= TINY_MNK {
        return portable_kernel(m, n, k, dst, dst_rs, accumulate, a, b);
    }
    let threads = crate::parallel::threads();
    if parallel && threads > 1 {
        return split_parallel(m, n, k, dst, dst_rs, accumulate, a, b, threads);
    }
    gemm_serial(m, n, k, dst, dst_rs, accumulate, a, b);
}

/// A fresh row-major `[m, n]` buffer holding `a (m × k) · b (k × n)`.
///
/// When the `gemm` kernel runs, the buffer is never filled first: `gemm` with
/// `read_dst = false` only writes `dst` (it zeroes its `alpha`, so the first depth block
/// stores `beta·lhs·rhs` without a load, and later blocks read what it stored). That spares
/// a pass over the output, which for the tall-thin products of inference is a tenth of the
/// time. The portable kernel and the degenerate shapes get a zeroed buffer.
///
/// # Safety
/// `a` and `b` must be valid for the addressed elements.
pub(crate) unsafe fn sgemm_new(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef,
    b: MatRef,
    parallel: bool,
) -> Vec<f32> {
    let len = m * n;
    if len == 0 || k == 0 || portable_forced() || m * n * k <= TINY_MNK {
        let mut out = vec![0.0f32; len];
        sgemm(m, n, k, out.as_mut_ptr(), n as isize, false, a, b, parallel);
        return out;
    }
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let dst = out.as_mut_ptr();
    let threads = crate::parallel::threads();
    if parallel && threads > 1 {
        split_parallel(m, n, k, dst, n as isize, false, a, b, threads);
    } else {
        gemm_serial(m, n, k, dst, n as isize, false, a, b);
    }
    // SAFETY: every one of the `m·n` elements was written by `gemm` above (each row or
    // column block of `split_parallel` covers its part, and the blocks tile the output).
    out.set_len(len);
    out
}

/// Rows per product in [`sgemm_new_rows`]: a `[1024, n]` output block of an MLP layer
/// stays in L2 between the product and its epilogue (on the digits MLP, 256, 512 and 1024
/// rows ran within noise of each other; 128 was slower).
const EPILOGUE_ROWS: usize = 1024;

/// Wider-than-tall products with at least this many rows still go by blocks of rows in
/// [`sgemm_new_rows`] (each thread then packs all of the right operand, which costs little
/// next to its share of the product).
const EPILOGUE_MIN_ROWS: usize = 4 * SPLIT_ALIGN_ROWS;

/// [`sgemm_new`] followed by `epilogue` over the output, run block by block: the rows are
/// cut into blocks of [`EPILOGUE_ROWS`], each block's product is one single-threaded `gemm`
/// and `epilogue` gets the block's rows (a multiple of `n` elements) right after, while
/// they are still in cache. Blocks go to rayon threads when `parallel` is set. Products
/// with few rows (fewer than [`EPILOGUE_MIN_ROWS`], and wider than tall), or too small for
/// `gemm`, run [`sgemm_new`] and then `epilogue` over the whole output.
///
/// Wide products with many rows (a Transformer's `[1024, 384] → [1024, 1536]` feed-forward
/// layer) are cut by rows too: otherwise their epilogue (bias and GELU over 1.5 M values)
/// ran on one thread after the parallel product, and a 2-thread BERT forward was no faster
/// than a 1-thread one.
///
/// # Safety
/// As [`sgemm_new`].
pub(crate) unsafe fn sgemm_new_rows(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef,
    b: MatRef,
    parallel: bool,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) -> Vec<f32> {
    let len = m * n;
    if len == 0
        || k == 0
        || portable_forced()
        || m * n * k <= TINY_MNK
        || (m < n && m < EPILOGUE_MIN_ROWS)
    {
        let mut out = sgemm_new(m, n, k, a, b, parallel);
        epilogue(&mut out);
        return out;
    }
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let dst_addr = out.as_mut_ptr() as usize;
    // Rows `r0..r1` as a sequence of blocks of at most EPILOGUE_ROWS rows.
    let run = |r0: usize, r1: usize| {
        // Capture the operands whole (they are `Sync`), not their raw-pointer fields.
        let (a, b) = (&a, &b);
        let mut start = r0;
        while start < r1 {
            let rows = EPILOGUE_ROWS.min(r1 - start);
            let a_blk = MatRef {
                ptr: a.ptr.wrapping_offset(start as isize * a.rs),
                ..*a
            };
            let dst = (dst_addr as *mut f32).wrapping_add(start * n);
            // SAFETY: rows `start..start + rows` of the `[m, k]` left operand and of the
            // `[m, n]` output exist; ranges are disjoint, and `gemm` with
            // `read_dst = false` writes the whole block before `epilogue` reads it.
            unsafe {
                gemm_serial(rows, n, k, dst, n as isize, false, a_blk, *b);
                epilogue(std::slice::from_raw_parts_mut(dst, rows * n));
            }
            start += rows;
        }
    };
    let threads = crate::parallel::threads();
    if parallel && threads > 1 && m >= 2 * SPLIT_ALIGN_ROWS {
        // One contiguous range of rows per thread, as `split_parallel` does.
        let per = m
            .div_ceil(threads)
            .next_multiple_of(SPLIT_ALIGN_ROWS)
            .min(m);
        (0..m.div_ceil(per))
            .into_par_iter()
            .for_each(|t| run(t * per, ((t + 1) * per).min(m)));
    } else {
        run(0, m);
    }
    // SAFETY: the blocks tile all `m` rows, and each was written by its `gemm` call.
    out.set_len(len);
    out
}

/// One single-threaded `gemm` call (see [`sgemm`] for the contract).
///
/// # Safety
/// As [`sgemm`].
#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn gemm_serial(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: isize,
    accumulate: bool,
    a: MatRef,
    b: MatRef,
) {
    gemm_strided(
        m,
        n,
        k,
        dst,
        dst_rs,
        1,
        accumulate,
        Strided {
            ptr: a.ptr,
            rs: a.rs,
            cs: a.cs,
        },
        Strided {
            ptr: b.ptr,
            rs: b.rs,
            cs: b.cs,
        },
        1.0f32,
        1.0f32,
    );
}

/// Granularity of the row blocks [`split_parallel`] hands out (one AVX-512 register of
/// rows), and of the column blocks (a multiple of the 4- and 6-column microkernel widths).
const SPLIT_ALIGN_ROWS: usize = 16;
const SPLIT_ALIGN_COLS: usize = 12;

/// Multi-threaded product: the output is cut into one block of rows (or of columns,
/// whichever dimension is longer) per thread, and each block is a single-threaded `gemm`.
///
/// The `gemm` crate's own rayon mode re-synchronises the pool once per depth block of `k`
/// (four or more fork/joins for one product of the sizes an MLP uses), which cost about a
/// fifth of the wall time of a 784-256-128-10 training step on 2 cores; this needs one
/// fork/join per product. Each thread packs its own operand panels.
///
/// # Safety
/// As [`sgemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn split_parallel(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: isize,
    accumulate: bool,
    a: MatRef,
    b: MatRef,
    threads: usize,
) {
    let along_rows = m >= n;
    let len = if along_rows { m } else { n };
    let align = if along_rows {
        SPLIT_ALIGN_ROWS
    } else {
        SPLIT_ALIGN_COLS
    };
    let per = len.div_ceil(threads).next_multiple_of(align).min(len);
    let blocks = len.div_ceil(per);
    if blocks < 2 {
        return gemm_serial(m, n, k, dst, dst_rs, accumulate, a, b);
    }
    // The address crosses threads as an integer; each block writes its own disjoint part.
    let dst_addr = dst as usize;
    (0..blocks).into_par_iter().for_each(|blk| {
        let (a, b) = (&a, &b);
        let start = blk * per;
        let size = per.min(len - start);
        let dst = dst_addr as *mut f32;
        // SAFETY: `start + size <= len`, so every offset stays inside the operands and the
        // destination the caller vouched for; the blocks are disjoint.
        if along_rows {
            let a_blk = MatRef {
                ptr: a.ptr.wrapping_offset(start as isize * a.rs),
                ..*a
            };
            let d = dst.wrapping_offset(start as isize * dst_rs);
            gemm_serial(size, n, k, d, dst_rs, accumulate, a_blk, *b);
        } else {
            let b_blk = MatRef {
                ptr: b.ptr.wrapping_offset(start as isize * b.cs),
                ..*b
            };
            let d = dst.wrapping_add(start);
            gemm_serial(m, size, k, d, dst_rs, accumulate, *a, b_blk);
        }
    });
}

/// Products with at most this many multiply-adds (m·n·k) skip the `gemm` crate's dispatch
/// and packing and run [`portable_kernel`] directly.
const TINY_MNK: usize = 4096;

/// Plain-Rust kernel with no SIMD intrinsics (LLVM auto-vectorises the inner loops): dot
/// products when both operands are contiguous along `k`, i-k-j row updates when `b` rows are
/// contiguous, and otherwise `b` is first packed row-major.
///
/// # Safety
/// As [`sgemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn portable_kernel(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: isize,
    accumulate: bool,
    a: MatRef,
    b: MatRef,
) {
    if a.cs == 1 && b.rs == 1 {
        // out[i][j] = <a row i, b column j>, both contiguous.
        for i in 0..m {
            let ar = std::slice::from_raw_parts(a.ptr.offset(i as isize * a.rs), k);
            let out = std::slice::from_raw_parts_mut(dst.offset(i as isize * dst_rs), n);
            for (j, o) in out.iter_mut().enumerate() {
                let bc = std::slice::from_raw_parts(b.ptr.offset(j as isize * b.cs), k);
                let d = crate::ops::reduce::dot(ar, bc);
                *o = if accumulate { *o + d } else { d };
            }
        }
        return;
    }
    let packed: Vec<f32>;
    let (bptr, brs) = if b.cs == 1 {
        (b.ptr, b.rs)
    } else {
        let mut v = Vec::with_capacity(k * n);
        for p in 0..k {
            for j in 0..n {
                v.push(*b.ptr.offset(p as isize * b.rs + j as isize * b.cs));
            }
        }
        packed = v;
        (packed.as_ptr(), n as isize)
    };
    for i in 0..m {
        let out = std::slice::from_raw_parts_mut(dst.offset(i as isize * dst_rs), n);
        if !accumulate {
            out.fill(0.0);
        }
        for p in 0..k {
            let aip = *a.ptr.offset(i as isize * a.rs + p as isize * a.cs);
            let row = std::slice::from_raw_parts(bptr.offset(p as isize * brs), n);
            out.iter_mut().zip(row).for_each(|(o, &x)| *o += aip * x);
        }
    }
}

impl Tensor {
    fn matmul_impl(&self, rhs: &Tensor, kernel: Kernel) -> Result<Tensor> {
        let op = "matmul";
        if self.rank() == 0 || rhs.rank() == 0 {
            return Err(TensorError::mismatch(
                op,
                self.shape(),
                rhs.shape(),
                "operands must have rank at least 1",
            ));
        }
        if self.rank() == 2 && rhs.rank() == 2 {
            return self.matmul_2d(rhs, kernel);
        }
        let a = if self.rank() == 1 {
            self.try_unsqueeze(0)?
        } else {
            self.clone()
        };
        let b = if rhs.rank() == 1 {
            rhs.try_unsqueeze(1)?
        } else {
            rhs.clone()
        };
        let (ra, rb) = (a.rank(), b.rank());
        let (m, k) = (a.shape()[ra - 2], a.shape()[ra - 1]);
        let (k2, n) = (b.shape()[rb - 2], b.shape()[rb - 1]);
        if k != k2 {
            return Err(TensorError::mismatch(
                op,
                self.shape(),
                rhs.shape(),
                format!("inner dimensions {k} and {k2} differ"),
            ));
        }
        let batch =
            broadcast_shapes(op, &a.shape()[..ra - 2], &b.shape()[..rb - 2]).map_err(|_| {
                TensorError::mismatch(
                    op,
                    self.shape(),
                    rhs.shape(),
                    format!(
                        "batch dimensions {:?} and {:?} do not broadcast",
                        &a.shape()[..ra - 2],
                        &b.shape()[..rb - 2]
                    ),
                )
            })?;
        let nb: usize = batch.iter().product();
        let mut out = vec![0.0f32; nb * m * n];
        // Per-batch element offsets of each operand (stride 0 on broadcast batch axes).
        let offsets = |t: &Tensor| -> Vec<isize> {
            let r = t.rank() - 2;
            let lead = batch.len() - r;
            let mut offs = Vec::with_capacity(nb);
            let mut idx = vec![0usize; batch.len()];
            for _ in 0..nb {
                let mut o = 0isize;
                for i in 0..r {
                    if t.shape()[i] != 1 {
                        o += idx[lead + i] as isize * t.strides()[i];
                    }
                }
                offs.push(o);
                for ax in (0..batch.len()).rev() {
                    idx[ax] += 1;
                    if idx[ax] < batch[ax] {
                        break;
                    }
                    idx[ax] = 0;
                }
            }
            offs
        };
        let (oa, ob) = (offsets(&a), offsets(&b));
        let sa = a.strides();
        let sb = b.strides();
        let ar = MatRef {
            ptr: a.data.as_ptr(),
            rs: sa[ra - 2],
            cs: sa[ra - 1],
        };
        let br = MatRef {
            ptr: b.data.as_ptr(),
            rs: sb[rb - 2],
            cs: sb[rb - 1],
        };
        let flops = 2 * nb * m * n * k;
        let big = flops >= MATMUL_PARALLEL_FLOPS && crate::parallel::threads() > 1;
        let run = |bi: usize, dst: *mut f32, parallel: bool| {
            // Capture the whole `MatRef`s (Send + Sync), not their raw-pointer fields.
            let (ar, br) = (&ar, &br);
            let am = MatRef {
                ptr: ar.ptr.wrapping_offset(oa[bi]),
                ..*ar
            };
            let bm = MatRef {
                ptr: br.ptr.wrapping_offset(ob[bi]),
                ..*br
            };
            // SAFETY: offsets and strides come from live ndarray views of `a` and `b`; `dst`
            // is a distinct m×n block of `out`.
            unsafe {
                match kernel {
                    Kernel::Gemm => sgemm(m, n, k, dst, n as isize, false, am, bm, parallel),
                    Kernel::Portable => portable_kernel(m, n, k, dst, n as isize, false, am, bm),
                }
            }
        };
        if m * n > 0 {
            if big && nb >= crate::parallel::threads() * 2 {
                // The address crosses threads as an integer; each task writes its own block.
                let base = out.as_mut_ptr() as usize;
                (0..nb)
                    .into_par_iter()
                    .for_each(|bi| run(bi, (base as *mut f32).wrapping_add(bi * m * n), false));
            } else {
                for bi in 0..nb {
                    run(bi, out.as_mut_ptr().wrapping_add(bi * m * n), big);
                }
            }
        }
        let mut shape = batch;
        if self.rank() > 1 {
            shape.push(m);
        }
        if rhs.rank() > 1 {
            shape.push(n);
        }
        Ok(Tensor::from_vec_unchecked(out, &shape))
    }

    /// The common 2-D case without batch bookkeeping (keeps tiny products cheap).
    fn matmul_2d(&self, rhs: &Tensor, kernel: Kernel) -> Result<Tensor> {
        let (m, k) = (self.shape()[0], self.shape()[1]);
        let (k2, n) = (rhs.shape()[0], rhs.shape()[1]);
        if k != k2 {
            return Err(TensorError::mismatch(
                "matmul",
                self.shape(),
                rhs.shape(),
                format!("inner dimensions {k} and {k2} differ"),
            ));
        }
        let (sa, sb) = (self.strides(), rhs.strides());
        let a = MatRef {
            ptr: self.data.as_ptr(),
            rs: sa[0],
            cs: sa[1],
        };
        let b = MatRef {
            ptr: rhs.data.as_ptr(),
            rs: sb[0],
            cs: sb[1],
        };
        let mut out = vec![0.0f32; m * n];
        let big = 2 * m * n * k >= MATMUL_PARALLEL_FLOPS && crate::parallel::threads() > 1;
        // SAFETY: `a` and `b` describe live ndarray storage with its own strides; `out` is a
        // fresh m×n buffer.
        unsafe {
            match kernel {
                Kernel::Gemm => sgemm(m, n, k, out.as_mut_ptr(), n as isize, false, a, b, big),
                Kernel::Portable if m * n > 0 => {
                    portable_kernel(m, n, k, out.as_mut_ptr(), n as isize, false, a, b)
                }
                Kernel::Portable => {}
            }
        }
        Ok(Tensor::from_vec_unchecked(out, &[m, n]))
    }

    /// Matrix product with NumPy/PyTorch semantics: 2-D `(m, k) × (k, n)`, batched
    /// `(…, m, k) × (…, k, n)` with broadcast batch dims, and 1-D operands treated as a row
    /// (lhs) or column (rhs) vector whose axis is then removed.
    pub fn try_matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        let kernel = if portable_forced() {
            Kernel::Portable
        } else {
            Kernel::Gemm
        };
        self.matmul_impl(rhs, kernel)
    }

    /// [`Tensor::try_matmul`] through the portable plain-Rust kernel (no SIMD intrinsics,
    /// single-threaded per matrix). Runs on any CPU; used to test the fallback path.
    pub fn try_matmul_portable(&self, rhs: &Tensor) -> Result<Tensor> {
        self.matmul_impl(rhs, Kernel::Portable)
    }
}

panicking! {
    matmul => try_matmul(rhs: &Tensor) -> Tensor;
    matmul_portable => try_matmul_portable(rhs: &Tensor) -> Tensor;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &Tensor, b: &Tensor) -> Vec<f32> {
        let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    s += a.get(&[i, p]).unwrap() as f64 * b.get(&[p, j]).unwrap() as f64;
                }
                out[i * n + j] = s as f32;
            }
        }
        out
    }

    #[test]
    fn small_known() {
        // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]]
        let a = Tensor::from_vec(vec![1., 2., 3., 4.], &[2, 2]).unwrap();
        let b = Tensor::from_vec(vec![5., 6., 7., 8.], &[2, 2]).unwrap();
        assert_eq!(a.matmul(&b).to_vec(), vec![19., 22., 43., 50.]);
        assert_eq!(a.matmul_portable(&b).to_vec(), vec![19., 22., 43., 50.]);
        // a^T @ b = [[1,3],[2,4]] @ b = [[26,30],[38,44]]
        assert_eq!(a.t().matmul(&b).to_vec(), vec![26., 30., 38., 44.]);
        let v = Tensor::from_vec(vec![1., 1.], &[2]).unwrap();
        assert_eq!(a.matmul(&v).to_vec(), vec![3., 7.]);
        assert_eq!(v.matmul(&a).shape(), &[2]);
        assert_eq!(v.matmul(&v).shape(), &[] as &[usize]);
    }

    #[test]
    fn large_and_transposed_match_naive() {
        let mut rng = crate::rng::Rng::new(5);
        let a = Tensor::rand_normal(&[130, 70], 0.0, 1.0, &mut rng);
        let b = Tensor::rand_normal(&[90, 70], 0.0, 1.0, &mut rng);
        let bt = b.t();
        let want = naive(&a, &bt);
        for got in [a.matmul(&bt).to_vec(), a.matmul_portable(&bt).to_vec()] {
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{g} vs {w}");
            }
        }
        let big_a = Tensor::rand_normal(&[300, 200], 0.0, 1.0, &mut rng);
        let big_b = Tensor::rand_normal(&[200, 100], 0.0, 1.0, &mut rng);
        let want = naive(&big_a, &big_b);
        for (g, w) in big_a.matmul(&big_b).to_vec().iter().zip(&want) {
            assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()));
        }
    }

    #[test]
    fn threaded_split_matches_naive_for_row_and_column_blocks() {
        // Big enough to take the multi-threaded path; shapes chosen so the row split
        // (m >= n) and the column split (n > m) both run, with ragged last blocks, a
        // transposed operand, and m or n smaller than one alignment block.
        let mut rng = crate::rng::Rng::new(11);
        for &(m, k, n) in &[(301, 97, 150), (23, 301, 517), (5, 700, 613), (613, 700, 7)] {
            let a = Tensor::rand_normal(&[m, k], 0.0, 1.0, &mut rng);
            let b = Tensor::rand_normal(&[n, k], 0.0, 1.0, &mut rng).t();
            assert!(2 * m * n * k >= MATMUL_PARALLEL_FLOPS);
            let want = naive(&a, &b);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            for got in [a.matmul(&b), pool.install(|| a.matmul(&b))] {
                for (g, w) in got.to_vec().iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-3 * (1.0 + w.abs()),
                        "{m}x{k}x{n}: {g} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn batched_broadcast() {
        let mut rng = crate::rng::Rng::new(9);
        let a = Tensor::rand_normal(&[2, 1, 3, 4], 0.0, 1.0, &mut rng);
        let b = Tensor::rand_normal(&[5, 4, 2], 0.0, 1.0, &mut rng);
        let c = a.matmul(&b);
        assert_eq!(c.shape(), &[2, 5, 3, 2]);
        for i in 0..2 {
            for j in 0..5 {
                let ai = a.narrow(0, i, 1).reshape(&[3, 4]);
                let bj = b.narrow(0, j, 1).reshape(&[4, 2]);
                let cij = c.narrow(0, i, 1).narrow(1, j, 1).reshape(&[3, 2]);
                for (g, w) in cij.to_vec().iter().zip(naive(&ai, &bj)) {
                    assert!((g - w).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn errors() {
        let e = Tensor::zeros(&[2, 3])
            .try_matmul(&Tensor::zeros(&[4, 5]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "matmul: lhs [2, 3] and rhs [4, 5]: inner dimensions 3 and 4 differ"
        );
        assert!(Tensor::zeros(&[2, 2, 3])
            .try_matmul(&Tensor::zeros(&[3, 3, 5]))
            .is_err());
        assert!(Tensor::scalar(1.0)
            .try_matmul(&Tensor::zeros(&[1]))
            .is_err());
        assert_eq!(
            Tensor::zeros(&[2, 0])
                .matmul(&Tensor::zeros(&[0, 3]))
                .to_vec(),
            vec![0.0; 6]
        );
    }
}
