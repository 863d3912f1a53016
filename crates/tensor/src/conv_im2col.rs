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

/// im2col of channels `c0..c0+cg` of one image `x` (`[C, H, W]`) into `cols` (`[cg·kh·kw, L]`).
pub(super) fn im2col(g: &Geom, x: &[f32], c0: usize, cols: &mut [f32]) {
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

/// col2im: adds `cols` (`[cg·kh·kw, L]`) back into channels `c0..c0+cg` of `dx` (`[C, H, W]`).
pub(super) fn col2im(g: &Geom, cols: &[f32], c0: usize, dx: &mut [f32]) {
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
        (rayon::current_num_threads() * RUNS_PER_THREAD).clamp(1, n.max(1))
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
                assert!(runs.len() <= RUNS_PER_THREAD * rayon::current_num_threads().max(1));
                if !par {
                    assert!(runs.len() <= 1);
                }
            }
        }
    }
}
