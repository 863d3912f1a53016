//! The data-movement kernels of the convolutions: im2col, col2im, and how a batch is split
//! over threads (one contiguous run of images per thread, so each thread reuses one
//! cache-resident column buffer and calls single-threaded GEMMs).

use std::ops::Range;

use super::Geom;

/// The valid output range `[lo, hi)` along one axis for kernel tap offset `off = k·dil − pad`
/// (positions whose input index `o·stride + off` lies in `[0, size)`).
pub(super) fn valid_range(out: usize, size: usize, stride: usize, off: isize) -> (usize, usize) {
    let s = stride as isize;
    let lo = if off >= 0 { 0 } else { ((-off) + s - 1) / s };
    let hi = if (size as isize) <= off {
        0
    } else {
        ((size as isize - off) + s - 1) / s
    };
    let lo = (lo as usize).min(out);
    (lo, (hi as usize).min(out).max(lo))
}

/// Per-thread buffers of the convolution kernels: the column matrix and a padded image.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) cols: Vec<f32>,
    pub(super) pad: Vec<f32>,
}

/// Whether the kernel taps are unit-spaced and unit-strided (the common case, which has
/// branch-free kernels over a zero-padded copy of the input).
fn unit(g: &Geom) -> bool {
    g.p.stride == (1, 1) && g.p.dilation == (1, 1)
}

/// Copies `s` into `d` (same length) with fixed 8-element moves (a last, overlapping one for
/// the tail), avoiding a `memcpy` call per short row.
#[inline(always)]
fn copy_row(d: &mut [f32], s: &[f32]) {
    let n = d.len().min(s.len());
    if n < 8 {
        d[..n].iter_mut().zip(&s[..n]).for_each(|(d, s)| *d = *s);
        return;
    }
    let mut i = 0;
    while i + 8 <= n {
        d[i..i + 8].copy_from_slice(&s[i..i + 8]);
        i += 8;
    }
    if i < n {
        d[n - 8..n].copy_from_slice(&s[n - 8..n]);
    }
}

/// Channels `c0..c0+cg` of `x` (`[C, H, W]`) with the convolution's zero padding added, in
/// `buf` (`[cg, H + 2ph, W + 2pw]`); returns the padded row length.
#[inline(always)]
fn pad_into(g: &Geom, x: &[f32], c0: usize, buf: &mut Vec<f32>) -> usize {
    let (ph, pw) = g.p.padding;
    let (hp, wp) = (g.h + 2 * ph, g.w + 2 * pw);
    buf.clear();
    buf.resize(g.cg() * hp * wp, 0.0);
    for c in 0..g.cg() {
        let plane = &x[(c0 + c) * g.h * g.w..(c0 + c + 1) * g.h * g.w];
        for (r, src) in plane.chunks_exact(g.w).enumerate() {
            let at = (c * hp + r + ph) * wp + pw;
            copy_row(&mut buf[at..at + g.w], src);
        }
    }
    wp
}

/// im2col of channels `c0..c0+cg` of one image `x` (`[C, H, W]`) into `cols` (`[cg·kh·kw, L]`);
/// `pad` is scratch for the unit-stride path.
pub(super) fn im2col(g: &Geom, x: &[f32], c0: usize, cols: &mut [f32], pad: &mut Vec<f32>) {
    if unit(g) {
        return im2col_unit(g, x, c0, cols, pad);
    }
    im2col_general(g, x, c0, cols)
}

/// Unit stride and dilation: every column row is `OH` full copies of `OW` padded-input
/// elements.
fn im2col_unit(g: &Geom, x: &[f32], c0: usize, cols: &mut [f32], pad: &mut Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { im2col_unit_avx2(g, x, c0, cols, pad) };
    }
    im2col_unit_body(g, x, c0, cols, pad)
}

/// [`im2col_unit`] compiled with AVX2 (256-bit row copies).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn im2col_unit_avx2(g: &Geom, x: &[f32], c0: usize, cols: &mut [f32], pad: &mut Vec<f32>) {
    im2col_unit_body(g, x, c0, cols, pad)
}

#[inline(always)]
fn im2col_unit_body(g: &Geom, x: &[f32], c0: usize, cols: &mut [f32], pad: &mut Vec<f32>) {
    let (l, ow) = (g.l(), g.ow);
    let (src, hp, wp) = if g.p.padding == (0, 0) {
        (&x[c0 * g.h * g.w..(c0 + g.cg()) * g.h * g.w], g.h, g.w)
    } else {
        let wp = pad_into(g, x, c0, pad);
        (&pad[..], g.h + 2 * g.p.padding.0, wp)
    };
    for c in 0..g.cg() {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = ((c * g.kh + ki) * g.kw + kj) * l;
                let dst = &mut cols[row..row + l];
                for (oh, d) in dst.chunks_exact_mut(ow).enumerate() {
                    let at = (c * hp + oh + ki) * wp + kj;
                    copy_row(d, &src[at..at + ow]);
                }
            }
        }
    }
}

/// im2col for any stride and dilation.
fn im2col_general(g: &Geom, x: &[f32], c0: usize, cols: &mut [f32]) {
    let (l, ow) = (g.l(), g.ow);
    let (sh, sw) = g.p.stride;
    let (dh, dw) = g.p.dilation;
    let (ph, pw) = g.p.padding;
    for c in 0..g.cg() {
        let plane = &x[(c0 + c) * g.h * g.w..(c0 + c + 1) * g.h * g.w];
        for ki in 0..g.kh {
            let offh = (ki * dh) as isize - ph as isize;
            let (oh_lo, oh_hi) = valid_range(g.oh, g.h, sh, offh);
            for kj in 0..g.kw {
                let row = ((c * g.kh + ki) * g.kw + kj) * l;
                let dst = &mut cols[row..row + l];
                let offw = (kj * dw) as isize - pw as isize;
                let (ow_lo, ow_hi) = valid_range(ow, g.w, sw, offw);
                dst[..oh_lo * ow].fill(0.0);
                dst[oh_hi * ow..].fill(0.0);
                for oh in oh_lo..oh_hi {
                    let ih = (oh * sh) as isize + offh;
                    let src = &plane[ih as usize * g.w..(ih as usize + 1) * g.w];
                    let d = &mut dst[oh * ow..(oh + 1) * ow];
                    d[..ow_lo].fill(0.0);
                    d[ow_hi..].fill(0.0);
                    if ow_lo == ow_hi {
                        // No tap of this column lands inside the row (and `ow_lo` may have
                        // been clamped to the output width, so it gives no valid start).
                        continue;
                    }
                    if sw == 1 {
                        let start = (ow_lo as isize + offw) as usize;
                        d[ow_lo..ow_hi].copy_from_slice(&src[start..start + (ow_hi - ow_lo)]);
                    } else {
                        for (o, v) in d[ow_lo..ow_hi].iter_mut().enumerate() {
                            *v = src[(((ow_lo + o) * sw) as isize + offw) as usize];
                        }
                    }
                }
            }
        }
    }
}

/// col2im: adds `cols` (`[cg·kh·kw, L]`) back into channels `c0..c0+cg` of `dx` (`[C, H, W]`);
/// `pad` is scratch for the unit-stride path.
pub(super) fn col2im(g: &Geom, cols: &[f32], c0: usize, dx: &mut [f32], pad: &mut Vec<f32>) {
    if unit(g) {
        return col2im_unit(g, cols, c0, dx, pad);
    }
    col2im_general(g, cols, c0, dx)
}

/// Unit stride and dilation: full-row adds into a zero-padded accumulator, whose interior
/// is then added to `dx`.
fn col2im_unit(g: &Geom, cols: &[f32], c0: usize, dx: &mut [f32], pad: &mut Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { col2im_unit_avx2(g, cols, c0, dx, pad) };
    }
    col2im_unit_body(g, cols, c0, dx, pad)
}

/// [`col2im_unit`] compiled with AVX2 (256-bit row adds).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn col2im_unit_avx2(g: &Geom, cols: &[f32], c0: usize, dx: &mut [f32], pad: &mut Vec<f32>) {
    col2im_unit_body(g, cols, c0, dx, pad)
}

#[inline(always)]
fn col2im_unit_body(g: &Geom, cols: &[f32], c0: usize, dx: &mut [f32], pad: &mut Vec<f32>) {
    let (l, ow) = (g.l(), g.ow);
    let (ph, pw) = g.p.padding;
    let (hp, wp) = (g.h + 2 * ph, g.w + 2 * pw);
    pad.clear();
    pad.resize(g.cg() * hp * wp, 0.0);
    for c in 0..g.cg() {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = ((c * g.kh + ki) * g.kw + kj) * l;
                for (oh, s) in cols[row..row + l].chunks_exact(ow).enumerate() {
                    let at = (c * hp + oh + ki) * wp + kj;
                    let d = &mut pad[at..at + ow];
                    d.iter_mut().zip(s).for_each(|(d, s)| *d += s);
                }
            }
        }
    }
    for c in 0..g.cg() {
        let plane = &mut dx[(c0 + c) * g.h * g.w..(c0 + c + 1) * g.h * g.w];
        for (r, d) in plane.chunks_exact_mut(g.w).enumerate() {
            let at = (c * hp + r + ph) * wp + pw;
            d.iter_mut()
                .zip(&pad[at..at + g.w])
                .for_each(|(d, s)| *d += s);
        }
    }
}

/// col2im for any stride and dilation.
fn col2im_general(g: &Geom, cols: &[f32], c0: usize, dx: &mut [f32]) {
    let (l, ow) = (g.l(), g.ow);
    let (sh, sw) = g.p.stride;
    let (dh, dw) = g.p.dilation;
    let (ph, pw) = g.p.padding;
    for c in 0..g.cg() {
        let plane = &mut dx[(c0 + c) * g.h * g.w..(c0 + c + 1) * g.h * g.w];
        for ki in 0..g.kh {
            let offh = (ki * dh) as isize - ph as isize;
            let (oh_lo, oh_hi) = valid_range(g.oh, g.h, sh, offh);
            for kj in 0..g.kw {
                let row = ((c * g.kh + ki) * g.kw + kj) * l;
                let src = &cols[row..row + l];
                let offw = (kj * dw) as isize - pw as isize;
                let (ow_lo, ow_hi) = valid_range(ow, g.w, sw, offw);
                if ow_hi == ow_lo {
                    continue;
                }
                for oh in oh_lo..oh_hi {
                    let ih = ((oh * sh) as isize + offh) as usize;
                    let dst = &mut plane[ih * g.w..(ih + 1) * g.w];
                    let s = &src[oh * ow + ow_lo..oh * ow + ow_hi];
                    if sw == 1 {
                        // Contiguous on both sides: a vectorisable slice add.
                        let start = (ow_lo as isize + offw) as usize;
                        let d = &mut dst[start..start + s.len()];
                        d.iter_mut().zip(s).for_each(|(d, s)| *d += s);
                    } else {
                        for (o, &v) in s.iter().enumerate() {
                            dst[(((ow_lo + o) * sw) as isize + offw) as usize] += v;
                        }
                    }
                }
            }
        }
    }
}

/// Runs per rayon thread: a few, so a thread that is descheduled (a busy machine) does not
/// hold up the whole op, while each run is still long enough to amortise its set-up.
const RUNS_PER_THREAD: usize = 4;

/// Splits `n` images into contiguous runs of equal length (the last may be shorter): a few
/// per rayon thread when `parallel`, else a single run (work stays on the calling thread).
pub(super) fn image_runs(n: usize, parallel: bool) -> Vec<Range<usize>> {
    let t = if parallel {
        (crate::parallel::threads() * RUNS_PER_THREAD).clamp(1, n.max(1))
    } else {
        1
    };
    let per = n.div_ceil(t).max(1);
    (0..n).step_by(per).map(|s| s..(s + per).min(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_the_batch_once() {
        for n in [0usize, 1, 2, 3, 7, 64] {
            for par in [false, true] {
                let runs = image_runs(n, par);
                let flat: Vec<usize> = runs.iter().flat_map(|r| r.clone()).collect();
                assert_eq!(flat, (0..n).collect::<Vec<_>>(), "n {n} par {par}");
                assert!(runs.len() <= RUNS_PER_THREAD * crate::parallel::threads().max(1));
                if !par {
                    assert!(runs.len() <= 1);
                }
            }
        }
    }
}
