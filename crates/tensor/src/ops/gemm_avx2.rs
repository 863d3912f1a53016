//! Single-threaded f32 GEMM for x86-64 CPUs with AVX2 and FMA but no AVX-512 (AMD EPYC up
//! to Zen 3, older Intel), in the BLIS layout: the right operand is packed into `KC × NR`
//! micro-panels that stay in L1, the left operand into `MR × KC` micro-panels of an
//! `MC × KC` block that stays in L2, and a `6 × 16` register-blocked micro-kernel
//! (12 accumulators of 8 lanes, unrolled by 4 along the depth) runs over them.
//!
//! Why a second kernel beside the `gemm` crate's: on an AVX2-only EPYC, `gemm`'s f32
//! kernel reached 0.79–0.95× of MKL on square products and read a column-major right
//! operand (a PyTorch-layout weight `Wᵀ`) about a fifth slower, so `linear` copied every
//! large weight before each product. Packing here reads either layout at the same cost.
//! [`crate::ops::gemm_kernel::gemm_strided`] routes to it only where it measured faster
//! (AVX2 without AVX-512, both output sides at least [`MIN_SIDE`]); AVX-512 machines and
//! thin products (GEMV-like decoding, 10-class heads) keep the `gemm` crate's kernels.

use std::arch::x86_64::*;
use std::cell::RefCell;

use crate::ops::gemm_kernel::Strided;

type Mat = Strided<f32>;

/// Rows of the micro-kernel's output tile.
const MR: usize = 6;
/// Columns of the micro-kernel's output tile (two 8-lane vectors).
const NR: usize = 16;
/// Depth of one packed block: a `KC × NR` right micro-panel is 16 KiB (half of L1d).
const KC: usize = 256;
/// Rows of one packed left block: `MC × KC` floats are 144 KiB, inside a 512 KiB L2.
const MC: usize = 144;
/// Columns of one packed right block (a few MiB, in L3).
const NC: usize = 3072;

/// Products whose output has fewer rows or columns than this stay on the `gemm` crate.
pub const MIN_SIDE: usize = 64;

thread_local! {
    /// Packing buffers of this thread, reused across calls: (left block, right block).
    static PACK: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Whether [`sgemm`] is the kernel for this CPU (decided once): by default on CPUs with
/// AVX2 and FMA but no AVX-512. The environment variable `GLASSBOX_GEMM_KERNEL` overrides
/// the choice for comparisons: `own` (this kernel wherever AVX2 + FMA exist) or `gemm`
/// (the `gemm` crate everywhere).
pub fn preferred() -> bool {
    use crate::ops::fastmath::{simd_level, SimdLevel};
    use std::sync::OnceLock;
    static PREFERRED: OnceLock<bool> = OnceLock::new();
    *PREFERRED.get_or_init(|| {
        let level = simd_level();
        match std::env::var("GLASSBOX_GEMM_KERNEL").as_deref() {
            Ok("own") => level != SimdLevel::Portable,
            Ok("gemm") => false,
            _ => level == SimdLevel::Avx2Fma,
        }
    })
}

/// `dst (m × n, row stride dst_rs, unit column stride) (+)= a (m × k) · b (k × n)`; without
/// `accumulate`, `dst` is only written (it may be uninitialised). Empty and degenerate
/// products never come here: `gemm_kernel::gemm_strided` sends only `m, n ≥ MIN_SIDE` and
/// `k ≥ 1` (the `gemm` crate handles the rest).
///
/// # Safety
/// The CPU must have AVX2 and FMA; every addressed element must be valid, `dst` writable and
/// not overlapping `a` or `b`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: isize,
    accumulate: bool,
    a: Mat,
    b: Mat,
) {
    debug_assert!(m > 0 && n > 0 && k > 0, "empty products are the caller's");
    PACK.with(|cell| {
        let mut bufs = cell.borrow_mut();
        let (pa, pb) = &mut *bufs;
        let kc_max = KC.min(k);
        let a_len = MC.min(m).next_multiple_of(MR) * kc_max;
        let b_len = NC.min(n).next_multiple_of(NR) * kc_max;
        if pa.len() < a_len {
            pa.resize(a_len, 0.0);
        }
        if pb.len() < b_len {
            pb.resize(b_len, 0.0);
        }
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let b_blk = Mat {
                    ptr: b.ptr.offset(pc as isize * b.rs + jc as isize * b.cs),
                    ..b
                };
                pack_b(pb, kc, nc, b_blk);
                let overwrite = pc == 0 && !accumulate;
                for ic in (0..m).step_by(MC) {
                    let mc = MC.min(m - ic);
                    let a_blk = Mat {
                        ptr: a.ptr.offset(ic as isize * a.rs + pc as isize * a.cs),
                        ..a
                    };
                    pack_a(pa, mc, kc, a_blk);
                    let c_blk = dst.offset(ic as isize * dst_rs).add(jc);
                    macro_block(mc, nc, kc, pa, pb, c_blk, dst_rs, overwrite);
                }
            }
        }
    });
}

/// Runs the micro-kernel over every tile of one `mc × nc` block.
#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn macro_block(
    mc: usize,
    nc: usize,
    kc: usize,
    pa: &[f32],
    pb: &[f32],
    c: *mut f32,
    rs: isize,
    overwrite: bool,
) {
    for jr in (0..nc).step_by(NR) {
        let cols = NR.min(nc - jr);
        let b_panel = pb.as_ptr().add(jr * kc);
        for ir in (0..mc).step_by(MR) {
            let rows = MR.min(mc - ir);
            let a_panel = pa.as_ptr().add(ir * kc);
            kernel_6x16(
                kc,
                a_panel,
                b_panel,
                c.offset(ir as isize * rs).add(jr),
                rs,
                rows,
                cols,
                overwrite,
            );
        }
    }
}

/// Packs `mc × kc` of `a` into micro-panels of `MR` rows: element `(i, p)` of panel `r`
/// at `r·MR·kc + p·MR + i`; rows past `mc` are zero.
unsafe fn pack_a(buf: &mut [f32], mc: usize, kc: usize, a: Mat) {
    for (r, panel) in buf[..mc.next_multiple_of(MR) * kc]
        .chunks_exact_mut(MR * kc)
        .enumerate()
    {
        let i0 = r * MR;
        let rows = MR.min(mc - i0);
        let base = a.ptr.offset(i0 as isize * a.rs);
        if a.cs == 1 && rows == MR {
            let src: [*const f32; MR] = std::array::from_fn(|i| base.offset(i as isize * a.rs));
            for (p, out) in panel.chunks_exact_mut(MR).enumerate() {
                for i in 0..MR {
                    out[i] = *src[i].add(p);
                }
            }
        } else if a.rs == 1 && rows == MR {
            for (p, out) in panel.chunks_exact_mut(MR).enumerate() {
                let s = base.offset(p as isize * a.cs);
                out.copy_from_slice(std::slice::from_raw_parts(s, MR));
            }
        } else {
            for (p, out) in panel.chunks_exact_mut(MR).enumerate() {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = if i < rows {
                        *base.offset(i as isize * a.rs + p as isize * a.cs)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// Packs `kc × nc` of `b` into micro-panels of `NR` columns: element `(p, j)` of panel `q`
/// at `q·NR·kc + p·NR + j`; columns past `nc` are zero.
unsafe fn pack_b(buf: &mut [f32], kc: usize, nc: usize, b: Mat) {
    for (q, panel) in buf[..nc.next_multiple_of(NR) * kc]
        .chunks_exact_mut(NR * kc)
        .enumerate()
    {
        let j0 = q * NR;
        let cols = NR.min(nc - j0);
        let base = b.ptr.offset(j0 as isize * b.cs);
        if b.cs == 1 && cols == NR {
            for (p, out) in panel.chunks_exact_mut(NR).enumerate() {
                let s = base.offset(p as isize * b.rs);
                out.copy_from_slice(std::slice::from_raw_parts(s, NR));
            }
        } else if b.rs == 1 && cols == NR {
            let src: [*const f32; NR] = std::array::from_fn(|j| base.offset(j as isize * b.cs));
            for (p, out) in panel.chunks_exact_mut(NR).enumerate() {
                for j in 0..NR {
                    out[j] = *src[j].add(p);
                }
            }
        } else {
            for (p, out) in panel.chunks_exact_mut(NR).enumerate() {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = if j < cols {
                        *base.offset(p as isize * b.rs + j as isize * b.cs)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// One `6 × 16` output tile: `c (+)= a_panel · b_panel` over depth `kc`; only the first
/// `rows × cols` of the tile are stored.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_6x16(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    rs: isize,
    rows: usize,
    cols: usize,
    overwrite: bool,
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    // Bring the output tile towards L1 while the products run.
    for i in 0..rows {
        _mm_prefetch::<_MM_HINT_T0>(c.offset(i as isize * rs) as *const i8);
        _mm_prefetch::<_MM_HINT_T0>(c.offset(i as isize * rs).add(NR - 1) as *const i8);
    }
    let (mut a, mut b) = (a, b);
    macro_rules! step {
        ($off:expr) => {{
            let b0 = _mm256_loadu_ps(b.add($off * NR));
            let b1 = _mm256_loadu_ps(b.add($off * NR + 8));
            for (i, row) in acc.iter_mut().enumerate() {
                let x = _mm256_broadcast_ss(&*a.add($off * MR + i));
                row[0] = _mm256_fmadd_ps(x, b0, row[0]);
                row[1] = _mm256_fmadd_ps(x, b1, row[1]);
            }
        }};
    }
    for _ in 0..kc / 4 {
        _mm_prefetch::<_MM_HINT_T0>(a.add(8 * MR) as *const i8);
        step!(0);
        step!(1);
        step!(2);
        step!(3);
        a = a.add(4 * MR);
        b = b.add(4 * NR);
    }
    for _ in 0..kc % 4 {
        step!(0);
        a = a.add(MR);
        b = b.add(NR);
    }
    if rows == MR && cols == NR {
        for (i, row) in acc.iter().enumerate() {
            let p = c.offset(i as isize * rs);
            if overwrite {
                _mm256_storeu_ps(p, row[0]);
                _mm256_storeu_ps(p.add(8), row[1]);
            } else {
                _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), row[0]));
                _mm256_storeu_ps(p.add(8), _mm256_add_ps(_mm256_loadu_ps(p.add(8)), row[1]));
            }
        }
    } else {
        let mut tile = [0.0f32; MR * NR];
        for (i, row) in acc.iter().enumerate() {
            _mm256_storeu_ps(tile.as_mut_ptr().add(i * NR), row[0]);
            _mm256_storeu_ps(tile.as_mut_ptr().add(i * NR + 8), row[1]);
        }
        for i in 0..rows {
            let p = c.offset(i as isize * rs);
            for j in 0..cols {
                let v = tile[i * NR + j];
                *p.add(j) = if overwrite { v } else { *p.add(j) + v };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn reference(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        a_s: (isize, isize),
        b: &[f32],
        b_s: (isize, isize),
    ) -> Vec<f64> {
        let mut out = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|p| {
                        let x = a[(i as isize * a_s.0 + p as isize * a_s.1) as usize] as f64;
                        let y = b[(p as isize * b_s.0 + j as isize * b_s.1) as usize] as f64;
                        x * y
                    })
                    .sum();
            }
        }
        out
    }

    /// Every layout of both operands, edge tiles in every dimension, depths across the
    /// `KC` block boundary, blocks of rows past `MC` and of columns past `NC`, overwrite
    /// and accumulate, against an f64 triple loop.
    #[test]
    fn matches_a_triple_loop_on_edges_layouts_and_block_boundaries() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            eprintln!("no AVX2/FMA on this CPU: nothing to check");
            return;
        }
        let mut rng = Rng::new(7);
        for &(m, n, k) in &[
            (1, 1, 1),
            (6, 16, 4),
            (7, 17, 5),
            (13, 35, 257),
            (MC + 5, 40, 3),
            (20, NC + 9, 300),
            (150, 70, KC * 2 + 1),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.uniform() as f32 - 0.5).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.uniform() as f32 - 0.5).collect();
            for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                let a_s = if a_t {
                    (1, m as isize)
                } else {
                    (k as isize, 1)
                };
                let b_s = if b_t {
                    (1, k as isize)
                } else {
                    (n as isize, 1)
                };
                let want = reference(m, n, k, &a, a_s, &b, b_s);
                let lhs = Strided {
                    ptr: a.as_ptr(),
                    rs: a_s.0,
                    cs: a_s.1,
                };
                let rhs = Strided {
                    ptr: b.as_ptr(),
                    rs: b_s.0,
                    cs: b_s.1,
                };
                // Row stride wider than n: a view into a larger buffer.
                let rs = n + 3;
                let mut dst = vec![f32::NAN; m * rs];
                let mut acc = vec![2.0f32; m * rs];
                unsafe {
                    sgemm(m, n, k, dst.as_mut_ptr(), rs as isize, false, lhs, rhs);
                    sgemm(m, n, k, acc.as_mut_ptr(), rs as isize, true, lhs, rhs);
                }
                let tol = 1e-5 * (k as f64).sqrt().max(1.0);
                for i in 0..m {
                    for j in 0..n {
                        let w = want[i * n + j];
                        let (d, c) = (dst[i * rs + j] as f64, acc[i * rs + j] as f64);
                        assert!(
                            (d - w).abs() <= tol,
                            "{m}x{n}x{k} {a_t} {b_t} ({i},{j}): {d} vs {w}"
                        );
                        assert!((c - 2.0 - w).abs() <= tol, "accumulate ({i},{j})");
                    }
                    // Padding columns past n are never written.
                    for j in n..rs {
                        assert!(dst[i * rs + j].is_nan() && acc[i * rs + j] == 2.0);
                    }
                }
            }
        }
    }
}
