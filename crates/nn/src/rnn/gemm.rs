//! A register-blocked GEMM for the small per-step products of the recurrent kernels
//! (`[B_block, H] × [H, gH]` forward, `[B_block, gH] × [gH, H]` backward): no packing, no
//! dispatch, no allocation. Generic over the tile (`MR` rows × `NR` columns) and over fused
//! multiply-add, so the callers in [`super::cells`] instantiate it inside
//! `#[target_feature]` functions where LLVM keeps the accumulator tile in vector registers.
//!
//! Every output element is one chain `acc = a·b + acc` over `p = 0..k` started from zero,
//! whatever tile it lands in, so a row's result does not depend on which other rows are
//! computed with it (the threaded and single-threaded paths agree bit for bit).

/// `a·b + c`, fused when `FMA` (only instantiate `FMA = true` where the CPU has FMA).
#[inline(always)]
pub(super) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `dst[i·dst_rs + j] (+)= Σ_p a[i·a_rs + p] · b[p·n + j]` for `i < m`, `j < n`: `a` has
/// rows of length `k` at stride `a_rs`, `b` is a dense row-major `k × n` matrix.
///
/// # Panics
/// If a slice is too short for the addressed elements (callers size them exactly).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn gemm<const FMA: bool, const MR: usize, const NR: usize>(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_rs: usize,
    b: &[f32],
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(b.len() >= k * n, "gemm: b too short");
    assert!(a.len() >= (m - 1) * a_rs + k, "gemm: a too short");
    assert!(dst.len() >= (m - 1) * dst_rs + n, "gemm: dst too short");
    let mut i = 0;
    while i + MR <= m {
        rows::<FMA, MR, NR>(i, n, k, a, a_rs, b, dst, dst_rs, accumulate);
        i += MR;
    }
    match m - i {
        0 => {}
        1 => rows::<FMA, 1, NR>(i, n, k, a, a_rs, b, dst, dst_rs, accumulate),
        2 => rows::<FMA, 2, NR>(i, n, k, a, a_rs, b, dst, dst_rs, accumulate),
        3 => rows::<FMA, 3, NR>(i, n, k, a, a_rs, b, dst, dst_rs, accumulate),
        4 => rows::<FMA, 4, NR>(i, n, k, a, a_rs, b, dst, dst_rs, accumulate),
        5 => rows::<FMA, 5, NR>(i, n, k, a, a_rs, b, dst, dst_rs, accumulate),
        6 => rows::<FMA, 6, NR>(i, n, k, a, a_rs, b, dst, dst_rs, accumulate),
        7 => rows::<FMA, 7, NR>(i, n, k, a, a_rs, b, dst, dst_rs, accumulate),
        _ => {
            for r in i..m {
                rows::<FMA, 1, NR>(r, n, k, a, a_rs, b, dst, dst_rs, accumulate);
            }
        }
    }
}

/// Rows `i0..i0 + R` of the product: full `NR`-wide column tiles, then the column tail.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn rows<const FMA: bool, const R: usize, const NR: usize>(
    i0: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_rs: usize,
    b: &[f32],
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
) {
    let arows: [&[f32]; R] = std::array::from_fn(|r| &a[(i0 + r) * a_rs..][..k]);
    let mut j0 = 0;
    while j0 + NR <= n {
        let mut acc = [[0.0f32; NR]; R];
        for p in 0..k {
            let bp = &b[p * n + j0..][..NR];
            for r in 0..R {
                // SAFETY: `arows[r]` has length `k` (sliced above) and `p < k`.
                let av = unsafe { *arows[r].get_unchecked(p) };
                for c in 0..NR {
                    acc[r][c] = madd::<FMA>(av, bp[c], acc[r][c]);
                }
            }
        }
        store(&acc, i0, j0, dst, dst_rs, accumulate);
        j0 += NR;
    }
    // Column tail, same per-element chain.
    for j in j0..n {
        for (r, ar) in arows.iter().enumerate() {
            let mut s = 0.0f32;
            for (p, &av) in ar.iter().enumerate() {
                s = madd::<FMA>(av, b[p * n + j], s);
            }
            let o = &mut dst[(i0 + r) * dst_rs + j];
            *o = if accumulate { *o + s } else { s };
        }
    }
}

#[inline(always)]
fn store<const R: usize, const NR: usize>(
    acc: &[[f32; NR]; R],
    i0: usize,
    j0: usize,
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
) {
    for (r, row) in acc.iter().enumerate() {
        let out: &mut [f32; NR] = (&mut dst[(i0 + r) * dst_rs + j0..][..NR])
            .try_into()
            .expect("NR-wide tile");
        // Whole-array expressions so the tile is written with vector operations.
        *out = if accumulate {
            std::array::from_fn(|c| out[c] + row[c])
        } else {
            *row
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, b: &[f32]) -> Vec<f64> {
        let mut out = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    out[i * n + j] += a[i * a_rs + p] as f64 * b[p * n + j] as f64;
                }
            }
        }
        out
    }

    #[test]
    fn matches_naive_on_odd_shapes() {
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 7, 5),
            (9, 33, 17),
            (16, 256, 64),
            (13, 80, 20),
        ] {
            let a_rs = k + 2;
            let a: Vec<f32> = (0..m * a_rs).map(|v| ((v * 7) % 11) as f32 - 5.0).collect();
            let b: Vec<f32> = (0..k * n)
                .map(|v| ((v * 5) % 13) as f32 * 0.25 - 1.5)
                .collect();
            let want = naive(m, n, k, &a, a_rs, &b);
            let dst_rs = n + 1;
            let mut d1 = vec![0.5f32; m * dst_rs];
            let mut d2 = d1.clone();
            gemm::<false, 4, 8>(m, n, k, &a, a_rs, &b, &mut d1, dst_rs, true);
            gemm::<true, 8, 32>(m, n, k, &a, a_rs, &b, &mut d2, dst_rs, false);
            for i in 0..m {
                for j in 0..n {
                    let w = want[i * n + j];
                    assert!(
                        (d1[i * dst_rs + j] as f64 - 0.5 - w).abs() < 1e-3,
                        "{i} {j}"
                    );
                    assert!((d2[i * dst_rs + j] as f64 - w).abs() < 1e-3, "{i} {j}");
                }
                assert_eq!(d1[i * dst_rs + n], 0.5, "padding untouched");
            }
        }
    }

    #[test]
    fn row_results_do_not_depend_on_the_tile() {
        let (m, n, k) = (11, 40, 9);
        let a: Vec<f32> = (0..m * k).map(|v| (v as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|v| (v as f32 * 0.11).cos()).collect();
        let mut all = vec![0.0f32; m * n];
        gemm::<false, 4, 16>(m, n, k, &a, k, &b, &mut all, n, false);
        for i in 0..m {
            let mut one = vec![0.0f32; n];
            gemm::<false, 4, 16>(1, n, k, &a[i * k..], k, &b, &mut one, n, false);
            assert_eq!(&all[i * n..(i + 1) * n], &one[..]);
        }
    }
}
