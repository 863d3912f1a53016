//! 1-D and 2-D convolution (cross-correlation, as PyTorch) with their backward kernels.
//!
//! Layout is PyTorch's: inputs `[N, C, H, W]` (`[N, C, L]` in 1-D), weights
//! `[O, C / groups, kh, kw]` (`[O, C / groups, k]`). The forward pass is im2col + GEMM per
//! image and group (a 1×1 stride-1 unpadded kernel skips im2col); large batches run images in
//! parallel on rayon, each with a single-threaded GEMM.
//!
//! ```
//! use glassbox_tensor::{Tensor, conv::{conv2d, Conv2dParams}};
//! let x = Tensor::ones(&[1, 1, 4, 4]);
//! let w = Tensor::ones(&[2, 1, 3, 3]);
//! let y = conv2d(&x, &w, None, &Conv2dParams::default().padding(1, 1))?;
//! assert_eq!(y.shape(), &[1, 2, 4, 4]);
//! assert_eq!(y.get(&[0, 0, 0, 0])?, 4.0); // corner sees a 2×2 patch of ones
//! assert_eq!(y.get(&[0, 1, 1, 1])?, 9.0);
//! # Ok::<(), glassbox_tensor::TensorError>(())
//! ```

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TensorError};
use crate::ops::matmul::{sgemm, MatRef};
use crate::parallel::MATMUL_PARALLEL_FLOPS;
use crate::tensor::Tensor;

#[path = "conv_backward.rs"]
mod backward;
#[path = "conv_im2col.rs"]
mod im2col;

pub use backward::{ConvGrads, ConvGradsWanted};
use im2col::{im2col, image_runs, Scratch};

/// Stride, padding, dilation and groups of a 2-D convolution, as `(height, width)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conv2dParams {
    /// Step between output positions.
    pub stride: (usize, usize),
    /// Zero padding added on both sides.
    pub padding: (usize, usize),
    /// Spacing between kernel taps.
    pub dilation: (usize, usize),
    /// Channel groups (`C` and `O` must both be divisible by it).
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

impl Conv2dParams {
    /// Sets the stride.
    pub fn stride(mut self, h: usize, w: usize) -> Self {
        self.stride = (h, w);
        self
    }
    /// Sets the zero padding.
    pub fn padding(mut self, h: usize, w: usize) -> Self {
        self.padding = (h, w);
        self
    }
    /// Sets the dilation.
    pub fn dilation(mut self, h: usize, w: usize) -> Self {
        self.dilation = (h, w);
        self
    }
    /// Sets the number of groups.
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
}

/// Stride, padding, dilation and groups of a 1-D convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conv1dParams {
    /// Step between output positions.
    pub stride: usize,
    /// Zero padding added on both sides.
    pub padding: usize,
    /// Spacing between kernel taps.
    pub dilation: usize,
    /// Channel groups.
    pub groups: usize,
}

impl Default for Conv1dParams {
    fn default() -> Self {
        Conv1dParams {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
        }
    }
}

impl Conv1dParams {
    /// Sets the stride.
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = s;
        self
    }
    /// Sets the zero padding.
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = p;
        self
    }
    /// Sets the dilation.
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = d;
        self
    }
    /// Sets the number of groups.
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
    fn to_2d(self) -> Conv2dParams {
        Conv2dParams {
            stride: (1, self.stride),
            padding: (0, self.padding),
            dilation: (1, self.dilation),
            groups: self.groups,
        }
    }
}

/// Output length of one spatial axis, or `None` if the kernel does not fit.
pub fn conv_out_len(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dil: usize,
) -> Option<usize> {
    let span = dil.checked_mul(kernel.checked_sub(1)?)? + 1;
    let padded = input + 2 * pad;
    if stride == 0 || padded < span {
        return None;
    }
    Some((padded - span) / stride + 1)
}

/// Validated geometry of a 2-D convolution.
#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    p: Conv2dParams,
}

impl Geom {
    fn new(op: &'static str, x: &[usize], w: &[usize], p: &Conv2dParams) -> Result<Geom> {
        if x.len() != 4 || w.len() != 4 {
            return Err(TensorError::mismatch(
                op,
                x,
                w,
                "input must be [N, C, H, W] and weight [O, C/groups, kh, kw]",
            ));
        }
        let g = p.groups;
        if g == 0 || p.dilation.0 == 0 || p.dilation.1 == 0 {
            return Err(TensorError::arg(
                op,
                x,
                format!("groups and dilation must be positive, got {p:?}"),
            ));
        }
        let (n, c, h, wd) = (x[0], x[1], x[2], x[3]);
        let (o, cg, kh, kw) = (w[0], w[1], w[2], w[3]);
        if c % g != 0 || o % g != 0 || cg * g != c {
            return Err(TensorError::mismatch(
                op,
                x,
                w,
                format!("input has {c} channels but weight expects {cg} × {g} groups (and {o} outputs must divide by {g})"),
            ));
        }
        let oh = conv_out_len(h, kh, p.stride.0, p.padding.0, p.dilation.0);
        let ow = conv_out_len(wd, kw, p.stride.1, p.padding.1, p.dilation.1);
        match (oh, ow) {
            (Some(oh), Some(ow)) if kh > 0 && kw > 0 => Ok(Geom { n, c, h, w: wd, o, kh, kw, oh, ow, p: *p }),
            _ => Err(TensorError::mismatch(
                op,
                x,
                w,
                format!("kernel {kh}×{kw} with {p:?} does not fit the {h}×{wd} input (stride must be positive)"),
            )),
        }
    }
    fn cg(&self) -> usize {
        self.c / self.p.groups
    }
    fn og(&self) -> usize {
        self.o / self.p.groups
    }
    /// Rows of the im2col matrix of one group.
    fn ck(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    /// Output positions per image.
    fn l(&self) -> usize {
        self.oh * self.ow
    }
    fn pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.p.stride == (1, 1) && self.p.padding == (0, 0)
    }
    fn flops(&self) -> usize {
        2 * self.n * self.o * self.ck() * self.l()
    }
}

/// Whether to split the batch across threads (else each GEMM may use the pool itself).
fn batch_parallel(g: &Geom) -> bool {
    let t = crate::parallel::threads();
    t > 1 && g.n >= 2 * t && g.flops() >= MATMUL_PARALLEL_FLOPS / 4
}

fn mat(ptr: *const f32, rs: usize, cs: usize) -> MatRef {
    MatRef {
        ptr,
        rs: rs as isize,
        cs: cs as isize,
    }
}

/// The thread split of a convolution over its batch: the image runs and whether the GEMMs
/// themselves may use the pool (only when the batch is not split).
fn plan(g: &Geom) -> (Vec<Range<usize>>, bool) {
    let runs = image_runs(g.n, batch_parallel(g));
    let par_gemm = runs.len() <= 1 && g.flops() / g.n.max(1) >= MATMUL_PARALLEL_FLOPS;
    (runs, par_gemm)
}

/// Forward of one image: `y` (`[O, L]`) = W · im2col(x) per group, plus `bias` per channel.
fn forward_image(
    g: &Geom,
    w: &[f32],
    bias: Option<&[f32]>,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut Scratch,
    par: bool,
) {
    let (l, ck, og, cg) = (g.l(), g.ck(), g.og(), g.cg());
    let Scratch { cols, pad } = scratch;
    if let Some(b) = bias {
        for (row, &v) in y.chunks_exact_mut(l).zip(b) {
            row.fill(v);
        }
    }
    for grp in 0..g.p.groups {
        let b = if g.pointwise() {
            mat(x[grp * cg * l..].as_ptr(), l, 1)
        } else {
            cols.resize(ck * l, 0.0);
            im2col(g, x, grp * cg, cols, pad);
            mat(cols.as_ptr(), l, 1)
        };
        let a = mat(w[grp * og * ck..].as_ptr(), ck, 1);
        // SAFETY: `a` covers og×ck of `w`, `b` ck×l of cols/x, dst og×l of `y`; no aliasing.
        unsafe {
            sgemm(
                og,
                l,
                ck,
                y[grp * og * l..].as_mut_ptr(),
                l as isize,
                bias.is_some(),
                a,
                b,
                par,
            )
        };
    }
}

/// 2-D convolution (PyTorch `F.conv2d`): `x` `[N, C, H, W]`, `w` `[O, C/groups, kh, kw]`,
/// optional `bias` `[O]`; returns `[N, O, OH, OW]` with
/// `OH = (H + 2·pad − dil·(kh − 1) − 1) / stride + 1`.
///
/// The batch is split into one run of images per thread (each with its own column buffer
/// and single-threaded GEMMs); the bias is written before the GEMM accumulates onto it.
pub fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, p: &Conv2dParams) -> Result<Tensor> {
    let g = Geom::new("conv2d", x.shape(), w.shape(), p)?;
    if let Some(b) = bias {
        if b.shape() != [g.o] {
            return Err(TensorError::mismatch(
                "conv2d",
                w.shape(),
                b.shape(),
                format!("bias must have shape [{}]", g.o),
            ));
        }
    }
    let (xc, wc) = (x.contiguous(), w.contiguous());
    let (xs, ws) = (
        xc.as_slice().expect("contiguous"),
        wc.as_slice().expect("contiguous"),
    );
    let bv = bias.map(Tensor::to_vec);
    let bs = bv.as_deref();
    let (img_in, img_out) = (g.c * g.h * g.w, g.o * g.l());
    let mut out = vec![0.0f32; g.n * img_out];
    if img_out > 0 && img_in == 0 {
        if let Some(b) = bs {
            for (row, &v) in out.chunks_exact_mut(g.l()).zip(b.iter().cycle()) {
                row.fill(v);
            }
        }
    } else if img_out > 0 {
        let (runs, par) = plan(&g);
        let per = runs.first().map_or(1, |r| r.len());
        let run = |r: &Range<usize>, ys: &mut [f32]| {
            let mut scratch = Scratch::default();
            for (i, y) in r.clone().zip(ys.chunks_exact_mut(img_out)) {
                let xi = &xs[i * img_in..(i + 1) * img_in];
                forward_image(&g, ws, bs, xi, y, &mut scratch, par);
            }
        };
        if runs.len() > 1 {
            out.par_chunks_mut(per * img_out)
                .zip(runs.par_iter())
                .for_each(|(ys, r)| run(r, ys));
        } else if let Some(r) = runs.first() {
            run(r, &mut out);
        }
    }
    Ok(Tensor::from_vec_unchecked(out, &[g.n, g.o, g.oh, g.ow]))
}

fn check_grad_out(op: &'static str, g: &Geom, grad_out: &Tensor) -> Result<()> {
    let want = [g.n, g.o, g.oh, g.ow];
    if grad_out.shape() != want {
        return Err(TensorError::mismatch(
            op,
            grad_out.shape(),
            &want,
            "grad_out must have the forward output's shape",
        ));
    }
    Ok(())
}

/// Gradient of [`conv2d`] with respect to its input: `grad_out` `[N, O, OH, OW]`, weight
/// `w`, and the forward input's shape `[N, C, H, W]`; returns `[N, C, H, W]`.
pub fn conv2d_backward_input(
    grad_out: &Tensor,
    w: &Tensor,
    input_shape: &[usize],
    p: &Conv2dParams,
) -> Result<Tensor> {
    let g = Geom::new("conv2d_backward_input", input_shape, w.shape(), p)?;
    check_grad_out("conv2d_backward_input", &g, grad_out)?;
    let need = ConvGradsWanted {
        input: true,
        weight: false,
        bias: false,
    };
    let grads = backward::run(&g, grad_out, None, Some(w), need);
    Ok(grads.input.expect("requested"))
}

/// Gradient of [`conv2d`] with respect to its weight: `grad_out` `[N, O, OH, OW]`, the
/// forward input `x`, and the weight's shape `[O, C/groups, kh, kw]`; returns that shape.
pub fn conv2d_backward_weight(
    grad_out: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    p: &Conv2dParams,
) -> Result<Tensor> {
    let g = Geom::new("conv2d_backward_weight", x.shape(), weight_shape, p)?;
    check_grad_out("conv2d_backward_weight", &g, grad_out)?;
    let need = ConvGradsWanted {
        input: false,
        weight: true,
        bias: false,
    };
    let grads = backward::run(&g, grad_out, Some(x), None, need);
    Ok(grads.weight.expect("requested"))
}

/// All requested gradients of [`conv2d`] in one pass over the batch (one thread hand-off;
/// each image's `grad_out` is read while it is in cache): `grad_out` `[N, O, OH, OW]`, the
/// forward input `x` and weight `w`. Unrequested gradients are `None`.
pub fn conv2d_backward(
    grad_out: &Tensor,
    x: &Tensor,
    w: &Tensor,
    p: &Conv2dParams,
    want: ConvGradsWanted,
) -> Result<ConvGrads> {
    let g = Geom::new("conv2d_backward", x.shape(), w.shape(), p)?;
    check_grad_out("conv2d_backward", &g, grad_out)?;
    Ok(backward::run(&g, grad_out, Some(x), Some(w), want))
}

/// Gradient of a convolution's bias: `grad_out` summed over every axis but 1 (channels).
pub fn conv_backward_bias(grad_out: &Tensor) -> Result<Tensor> {
    if grad_out.rank() < 2 {
        return Err(TensorError::arg(
            "conv_backward_bias",
            grad_out.shape(),
            "grad_out must be [N, O, ...]",
        ));
    }
    let axes: Vec<usize> = (0..grad_out.rank()).filter(|&a| a != 1).collect();
    grad_out.try_sum_axes(&axes, false)
}

fn as_2d(op: &'static str, t: &Tensor) -> Result<Tensor> {
    if t.rank() != 3 {
        return Err(TensorError::arg(
            op,
            t.shape(),
            "expected a rank-3 tensor [N, C, L] / [O, C, k]",
        ));
    }
    t.try_unsqueeze(2)
}

fn shape_2d(op: &'static str, s: &[usize]) -> Result<Vec<usize>> {
    if s.len() != 3 {
        return Err(TensorError::arg(op, s, "expected a rank-3 shape"));
    }
    Ok(vec![s[0], s[1], 1, s[2]])
}

/// 1-D convolution (PyTorch `F.conv1d`): `x` `[N, C, L]`, `w` `[O, C/groups, k]`, optional
/// `bias` `[O]`; returns `[N, O, OL]`. Runs as a 2-D convolution of height 1.
pub fn conv1d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, p: &Conv1dParams) -> Result<Tensor> {
    let y = conv2d(&as_2d("conv1d", x)?, &as_2d("conv1d", w)?, bias, &p.to_2d())?;
    y.try_squeeze(2)
}

/// Gradient of [`conv1d`] with respect to its input (`[N, C, L]`).
pub fn conv1d_backward_input(
    grad_out: &Tensor,
    w: &Tensor,
    input_shape: &[usize],
    p: &Conv1dParams,
) -> Result<Tensor> {
    let op = "conv1d_backward_input";
    let s = shape_2d(op, input_shape)?;
    conv2d_backward_input(&as_2d(op, grad_out)?, &as_2d(op, w)?, &s, &p.to_2d())?.try_squeeze(2)
}

/// Gradient of [`conv1d`] with respect to its weight (`[O, C/groups, k]`).
pub fn conv1d_backward_weight(
    grad_out: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    p: &Conv1dParams,
) -> Result<Tensor> {
    let op = "conv1d_backward_weight";
    let s = shape_2d(op, weight_shape)?;
    conv2d_backward_weight(&as_2d(op, grad_out)?, &as_2d(op, x)?, &s, &p.to_2d())?.try_squeeze(2)
}

/// All requested gradients of [`conv1d`] in one pass (see [`conv2d_backward`]); the input
/// gradient is `[N, C, L]` and the weight gradient `[O, C/groups, k]`.
pub fn conv1d_backward(
    grad_out: &Tensor,
    x: &Tensor,
    w: &Tensor,
    p: &Conv1dParams,
    want: ConvGradsWanted,
) -> Result<ConvGrads> {
    let op = "conv1d_backward";
    let (g2, x2, w2) = (as_2d(op, grad_out)?, as_2d(op, x)?, as_2d(op, w)?);
    let grads = conv2d_backward(&g2, &x2, &w2, &p.to_2d(), want)?;
    let squeeze = |t: Option<Tensor>| t.map(|t| t.try_squeeze(2)).transpose();
    Ok(ConvGrads {
        input: squeeze(grads.input)?,
        weight: squeeze(grads.weight)?,
        bias: grads.bias,
    })
}

#[cfg(test)]
#[path = "conv_tests.rs"]
mod tests;
