//! The fused backward pass of [`conv2d`](super::conv2d): input, weight and bias gradients
//! computed in one sweep over the batch, split into one run of images per thread.

use std::ops::Range;

use rayon::prelude::*;

use super::im2col::{col2im, im2col, Scratch};
use super::{mat, plan, Geom};
use crate::ops::matmul::sgemm;
use crate::tensor::Tensor;

/// Which gradients [`conv2d_backward`](super::conv2d_backward) computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvGradsWanted {
    /// Gradient of the input `x`.
    pub input: bool,
    /// Gradient of the weight.
    pub weight: bool,
    /// Gradient of a bias (the sum of `grad_out` per output channel).
    pub bias: bool,
}

/// The gradients of a convolution, `None` where not requested.
#[derive(Debug, Clone)]
pub struct ConvGrads {
    /// `[N, C, H, W]`.
    pub input: Option<Tensor>,
    /// `[O, C/groups, kh, kw]`.
    pub weight: Option<Tensor>,
    /// `[O]`.
    pub bias: Option<Tensor>,
}

/// Per-thread partial weight and bias gradients (bias sums in f64).
struct Partial {
    dw: Vec<f32>,
    db: Vec<f64>,
}

impl Partial {
    fn add(mut self, other: Partial) -> Partial {
        self.dw.iter_mut().zip(&other.dw).for_each(|(a, b)| *a += b);
        self.db.iter_mut().zip(&other.db).for_each(|(a, b)| *a += b);
        self
    }
}

/// Sum of `v` with 16 independent partial sums (vectorisable, unlike a sequential sum).
fn lane_sum(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let mut chunks = v.chunks_exact(16);
    for c in &mut chunks {
        acc.iter_mut().zip(c).for_each(|(a, x)| *a += x);
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// The slices one run reads.
struct Inputs<'a> {
    gy: &'a [f32],
    x: &'a [f32],
    w: &'a [f32],
}

/// Accumulates image `i`'s weight gradient into `dw`: `dW_g [og, ck] += dy_g [og, l] · cols_g^T`.
fn weight_image(g: &Geom, xi: &[f32], gy: &[f32], dw: &mut [f32], sc: &mut Scratch, par: bool) {
    let (l, ck, og, cg) = (g.l(), g.ck(), g.og(), g.cg());
    let Scratch { cols, pad } = sc;
    for grp in 0..g.p.groups {
        let b = if g.pointwise() {
            mat(xi[grp * cg * l..].as_ptr(), 1, l)
        } else {
            cols.resize(ck * l, 0.0);
            im2col(g, xi, grp * cg, cols, pad);
            mat(cols.as_ptr(), 1, l)
        };
        let a = mat(gy[grp * og * l..].as_ptr(), l, 1);
        let dst = dw[grp * og * ck..].as_mut_ptr();
        // SAFETY: `a` is og×l of `gy`, `b` l×ck of cols/x, dst og×ck of `dw`; disjoint.
        unsafe { sgemm(og, ck, l, dst, ck as isize, true, a, b, par) };
    }
}

/// Writes image `i`'s input gradient into `dxi` (zeroed): `dcols = W_g^T · dy_g`, col2im.
fn input_image(g: &Geom, w: &[f32], gy: &[f32], dxi: &mut [f32], sc: &mut Scratch, par: bool) {
    let (l, ck, og, cg) = (g.l(), g.ck(), g.og(), g.cg());
    let Scratch { cols, pad } = sc;
    for grp in 0..g.p.groups {
        let a = mat(w[grp * og * ck..].as_ptr(), 1, ck);
        let b = mat(gy[grp * og * l..].as_ptr(), l, 1);
        if g.pointwise() {
            let dst = dxi[grp * cg * l..].as_mut_ptr();
            // SAFETY: `a` is ck×og of `w`, `b` og×l of `gy`, dst ck×l of `dxi`; disjoint.
            unsafe { sgemm(ck, l, og, dst, l as isize, false, a, b, par) };
        } else {
            cols.resize(ck * l, 0.0);
            // SAFETY: as above; `cols` is a private buffer of ck·l elements.
            unsafe { sgemm(ck, l, og, cols.as_mut_ptr(), l as isize, false, a, b, par) };
            col2im(g, cols, grp * cg, dxi, pad);
        }
    }
}

/// One run of images: writes their input gradients into `dx` (the run's slice, if wanted)
/// and returns the run's partial weight/bias gradients.
fn run_images(
    g: &Geom,
    src: &Inputs,
    want: ConvGradsWanted,
    images: Range<usize>,
    mut dx: Option<&mut [f32]>,
    par: bool,
) -> Partial {
    let (img_in, img_out, l) = (g.c * g.h * g.w, g.o * g.l(), g.l());
    let mut part = Partial {
        dw: vec![0.0; if want.weight { g.o * g.ck() } else { 0 }],
        db: vec![0.0; if want.bias { g.o } else { 0 }],
    };
    let mut sc = Scratch::default();
    let first = images.start;
    for i in images {
        let gy = &src.gy[i * img_out..(i + 1) * img_out];
        if want.bias {
            for (d, row) in part.db.iter_mut().zip(gy.chunks_exact(l)) {
                *d += lane_sum(row) as f64;
            }
        }
        if want.weight {
            let xi = &src.x[i * img_in..(i + 1) * img_in];
            weight_image(g, xi, gy, &mut part.dw, &mut sc, par);
        }
        if let Some(dx) = dx.as_deref_mut() {
            let k = i - first;
            input_image(
                g,
                src.w,
                gy,
                &mut dx[k * img_in..(k + 1) * img_in],
                &mut sc,
                par,
            );
        }
    }
    part
}

/// The fused backward: validated geometry `g`, `grad_out` of the forward output's shape,
/// `x` present when the weight gradient is wanted, `w` when the input gradient is.
pub(super) fn run(
    g: &Geom,
    grad_out: &Tensor,
    x: Option<&Tensor>,
    w: Option<&Tensor>,
    want: ConvGradsWanted,
) -> ConvGrads {
    let want = ConvGradsWanted {
        input: want.input && w.is_some(),
        weight: want.weight && x.is_some(),
        bias: want.bias,
    };
    let (img_in, img_out) = (g.c * g.h * g.w, g.o * g.l());
    let gc = grad_out.contiguous();
    let xc = x.filter(|_| want.weight).map(Tensor::contiguous);
    let wc = w.filter(|_| want.input).map(Tensor::contiguous);
    let src = Inputs {
        gy: gc.as_slice().expect("contiguous"),
        x: xc
            .as_ref()
            .map_or(&[][..], |t| t.as_slice().expect("contiguous")),
        w: wc
            .as_ref()
            .map_or(&[][..], |t| t.as_slice().expect("contiguous")),
    };
    let mut dx = want.input.then(|| vec![0.0f32; g.n * img_in]);
    let mut total = Partial {
        dw: vec![0.0; if want.weight { g.o * g.ck() } else { 0 }],
        db: vec![0.0; if want.bias { g.o } else { 0 }],
    };
    if img_in > 0 && img_out > 0 {
        let (runs, par) = plan(g);
        let per = runs.first().map_or(1, |r| r.len());
        let mut jobs: Vec<(Range<usize>, Option<&mut [f32]>)> = match dx.as_mut() {
            Some(d) => runs
                .into_iter()
                .zip(d.chunks_mut(per * img_in).map(Some))
                .collect(),
            None => runs.into_iter().map(|r| (r, None)).collect(),
        };
        let parts: Vec<Partial> = if jobs.len() > 1 {
            jobs.into_par_iter()
                .map(|(r, d)| run_images(g, &src, want, r, d, false))
                .collect()
        } else {
            jobs.drain(..)
                .map(|(r, d)| run_images(g, &src, want, r, d, par))
                .collect()
        };
        total = parts.into_iter().fold(total, Partial::add);
    } else if want.bias && img_out > 0 {
        // No input pixels: only the bias sees the gradient.
        for (k, row) in src.gy.chunks_exact(g.l()).enumerate() {
            total.db[k % g.o] += lane_sum(row) as f64;
        }
    }
    let wshape = [g.o, g.cg(), g.kh, g.kw];
    ConvGrads {
        input: dx.map(|d| Tensor::from_vec_unchecked(d, &[g.n, g.c, g.h, g.w])),
        weight: want
            .weight
            .then(|| Tensor::from_vec_unchecked(total.dw, &wshape)),
        bias: want.bias.then(|| {
            let db = total.db.iter().map(|&v| v as f32).collect();
            Tensor::from_vec_unchecked(db, &[g.o])
        }),
    }
}
