//! 2-D max, average and adaptive-average pooling with their backward kernels (NCHW).
//!
//! ```
//! use glassbox_tensor::{Tensor, pool::{max_pool2d, Pool2dParams}};
//! let x = Tensor::arange(0.0, 16.0, 1.0)?.reshape(&[1, 1, 4, 4]);
//! let (y, idx) = max_pool2d(&x, &Pool2dParams::new(2, 2))?;
//! assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
//! assert_eq!(idx.iter().copied().collect::<Vec<_>>(), vec![5, 7, 13, 15]);
//! # Ok::<(), glassbox_tensor::TensorError>(())
//! ```

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TensorError};
use crate::parallel::use_parallel;
use crate::tensor::Tensor;

/// Window, stride and padding of a 2-D pooling, as `(height, width)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool2dParams {
    /// Window size.
    pub kernel: (usize, usize),
    /// Step between windows (PyTorch's default is the kernel size).
    pub stride: (usize, usize),
    /// Implicit padding on both sides (−∞ for max, 0 for average); at most half the kernel.
    pub padding: (usize, usize),
    /// Average pooling only: whether padded zeros count in the divisor (PyTorch default true).
    pub count_include_pad: bool,
}

impl Pool2dParams {
    /// A `kh × kw` window with stride equal to the window and no padding.
    pub fn new(kh: usize, kw: usize) -> Self {
        Pool2dParams {
            kernel: (kh, kw),
            stride: (kh, kw),
            padding: (0, 0),
            count_include_pad: true,
        }
    }
    /// Sets the stride.
    pub fn stride(mut self, h: usize, w: usize) -> Self {
        self.stride = (h, w);
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, h: usize, w: usize) -> Self {
        self.padding = (h, w);
        self
    }
    /// Sets `count_include_pad` (average pooling).
    pub fn count_include_pad(mut self, yes: bool) -> Self {
        self.count_include_pad = yes;
        self
    }
}

#[derive(Clone, Copy)]
struct Geom {
    nc: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

fn geom(op: &'static str, shape: &[usize], p: &Pool2dParams) -> Result<Geom> {
    if shape.len() != 4 {
        return Err(TensorError::arg(op, shape, "input must be [N, C, H, W]"));
    }
    let (kh, kw) = p.kernel;
    let (sh, sw) = p.stride;
    let (ph, pw) = p.padding;
    if kh == 0 || kw == 0 || sh == 0 || sw == 0 {
        return Err(TensorError::arg(
            op,
            shape,
            format!("kernel and stride must be positive, got {p:?}"),
        ));
    }
    if 2 * ph > kh || 2 * pw > kw {
        return Err(TensorError::arg(
            op,
            shape,
            format!(
                "padding {:?} must be at most half the kernel {:?}",
                p.padding, p.kernel
            ),
        ));
    }
    let (h, w) = (shape[2], shape[3]);
    if h + 2 * ph < kh || w + 2 * pw < kw {
        return Err(TensorError::arg(
            op,
            shape,
            format!("kernel {:?} is larger than the padded input", p.kernel),
        ));
    }
    Ok(Geom {
        nc: shape[0] * shape[1],
        h,
        w,
        oh: (h + 2 * ph - kh) / sh + 1,
        ow: (w + 2 * pw - kw) / sw + 1,
    })
}

/// Clipped window `[lo, hi)` of output position `o` along an axis.
fn window(o: usize, stride: usize, pad: usize, k: usize, size: usize) -> (usize, usize) {
    let start = (o * stride) as isize - pad as isize;
    let lo = start.max(0) as usize;
    let hi = ((start + k as isize).max(0) as usize).min(size);
    (lo, hi.max(lo))
}

fn per_plane<T: Send>(nc: usize, work: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if use_parallel(work) {
        (0..nc).into_par_iter().map(f).collect()
    } else {
        (0..nc).map(f).collect()
    }
}

/// Max over one window of `plane` (row length `w`): value and flat index (first maximum;
/// a NaN wins and stops the scan, as in PyTorch).
#[inline]
fn window_max(
    plane: &[f32],
    w: usize,
    (h0, h1): (usize, usize),
    (w0, w1): (usize, usize),
) -> (f32, usize) {
    let (mut best, mut bi) = (f32::NEG_INFINITY, h0 * w + w0);
    for yy in h0..h1 {
        let row = &plane[yy * w..yy * w + w1];
        for (xx, &v) in row.iter().enumerate().skip(w0) {
            if v > best {
                best = v;
                bi = yy * w + xx;
            } else if v.is_nan() {
                return (v, yy * w + xx);
            }
        }
    }
    (best, bi)
}

/// The common 2×2, stride-2, unpadded case: branch-free selects (random data makes
/// compare branches mispredict), same first-maximum and NaN rules as [`window_max`].
fn max_2x2(plane: &[f32], w: usize, oh: usize, ow: usize, vals: &mut [f32], idx: &mut [usize]) {
    for oy in 0..oh {
        let (r0, r1) = (2 * oy * w, (2 * oy + 1) * w);
        let top = &plane[r0..r0 + 2 * ow];
        let bot = &plane[r1..r1 + 2 * ow];
        let vrow = &mut vals[oy * ow..(oy + 1) * ow];
        let irow = &mut idx[oy * ow..(oy + 1) * ow];
        for ox in 0..ow {
            let c = 2 * ox;
            let (a, b, d, e) = (top[c], top[c + 1], bot[c], bot[c + 1]);
            if a.is_nan() | b.is_nan() | d.is_nan() | e.is_nan() {
                let (v, j) = window_max(plane, w, (2 * oy, 2 * oy + 2), (c, c + 2));
                vrow[ox] = v;
                irow[ox] = j;
                continue;
            }
            let (mut best, mut bi) = (a, r0 + c);
            let gt = b > best;
            best = if gt { b } else { best };
            bi = if gt { r0 + c + 1 } else { bi };
            let gt = d > best;
            best = if gt { d } else { best };
            bi = if gt { r1 + c } else { bi };
            let gt = e > best;
            best = if gt { e } else { best };
            bi = if gt { r1 + c + 1 } else { bi };
            vrow[ox] = best;
            irow[ox] = bi;
        }
    }
}

/// Max pooling. Returns the output `[N, C, OH, OW]` and, for each output, the flat index
/// `h·W + w` of its maximum within its input plane (PyTorch's `return_indices=True`).
pub fn max_pool2d(x: &Tensor, p: &Pool2dParams) -> Result<(Tensor, ArrayD<usize>)> {
    let (y, ind) = max_pool_impl(x, p, true)?;
    let ind = ArrayD::from_shape_vec(IxDyn(y.shape()), ind).expect("shape");
    Ok((y, ind))
}

/// Max pooling without the argmax indices (inference: no backward will need them), with the
/// same values as [`max_pool2d`].
pub fn max_pool2d_values(x: &Tensor, p: &Pool2dParams) -> Result<Tensor> {
    Ok(max_pool_impl(x, p, false)?.0)
}

/// The max-pooling kernel: the output and, when `keep_indices`, the flat argmax indices (else
/// they go to a small per-task scratch and an empty vector is returned).
fn max_pool_impl(x: &Tensor, p: &Pool2dParams, keep_indices: bool) -> Result<(Tensor, Vec<usize>)> {
    let g = geom("max_pool2d", x.shape(), p)?;
    let xc = x.contiguous();
    let xs = xc.as_slice().expect("contiguous");
    let (plane_len, l) = (g.h * g.w, g.oh * g.ow);
    let mut out = vec![0.0f32; g.nc * l];
    let mut ind = vec![0usize; if keep_indices { g.nc * l } else { 0 }];
    let fast_2x2 = p.kernel == (2, 2) && p.stride == (2, 2) && p.padding == (0, 0);
    let one = |i: usize, vals: &mut [f32], idx: &mut [usize]| {
        let plane = &xs[i * plane_len..(i + 1) * plane_len];
        if fast_2x2 {
            return max_2x2(plane, g.w, g.oh, g.ow, vals, idx);
        }
        for oy in 0..g.oh {
            let hw = window(oy, p.stride.0, p.padding.0, p.kernel.0, g.h);
            for ox in 0..g.ow {
                let ww = window(ox, p.stride.1, p.padding.1, p.kernel.1, g.w);
                let (v, j) = window_max(plane, g.w, hw, ww);
                vals[oy * g.ow + ox] = v;
                idx[oy * g.ow + ox] = j;
            }
        }
    };
    let scratch = || vec![0usize; l];
    if l > 0 && plane_len > 0 {
        match (use_parallel(xs.len()), keep_indices) {
            (true, true) => out
                .par_chunks_mut(l)
                .zip(ind.par_chunks_mut(l))
                .enumerate()
                .for_each(|(i, (v, j))| one(i, v, j)),
            (true, false) => out
                .par_chunks_mut(l)
                .enumerate()
                .for_each_init(scratch, |j, (i, v)| one(i, v, j)),
            (false, true) => out
                .chunks_mut(l)
                .zip(ind.chunks_mut(l))
                .enumerate()
                .for_each(|(i, (v, j))| one(i, v, j)),
            (false, false) => {
                let mut j = scratch();
                out.chunks_mut(l)
                    .enumerate()
                    .for_each(|(i, v)| one(i, v, &mut j))
            }
        }
    }
    let shape = [x.shape()[0], x.shape()[1], g.oh, g.ow];
    Ok((Tensor::from_vec_unchecked(out, &shape), ind))
}

/// Gradient of [`max_pool2d`]: routes each `grad_out` entry to the input position recorded
/// in `indices`; returns a tensor of `input_shape`.
pub fn max_pool2d_backward(
    grad_out: &Tensor,
    indices: &ArrayD<usize>,
    input_shape: &[usize],
) -> Result<Tensor> {
    let op = "max_pool2d_backward";
    if input_shape.len() != 4 || grad_out.rank() != 4 || grad_out.shape()[..2] != input_shape[..2] {
        return Err(TensorError::mismatch(
            op,
            grad_out.shape(),
            input_shape,
            "grad_out must be [N, C, OH, OW] for an input [N, C, H, W]",
        ));
    }
    if indices.shape() != grad_out.shape() {
        return Err(TensorError::mismatch(
            op,
            grad_out.shape(),
            indices.shape(),
            "indices must have grad_out's shape",
        ));
    }
    let plane = input_shape[2] * input_shape[3];
    let l = grad_out.shape()[2] * grad_out.shape()[3];
    let gc = grad_out.contiguous();
    let gs = gc.as_slice().expect("contiguous");
    // The indices are read in place when they are in standard layout (as max_pool2d makes them).
    let owned: Vec<usize>;
    let ind: &[usize] = match indices.as_slice() {
        Some(s) => s,
        None => {
            owned = indices.iter().copied().collect();
            &owned
        }
    };
    if ind.iter().fold(false, |bad, &i| bad | (i >= plane)) {
        let bad = ind.iter().copied().find(|&i| i >= plane).unwrap_or(plane);
        return Err(TensorError::IndexOutOfRange {
            op,
            index: bad,
            axis: 2,
            size: plane,
            shape: input_shape.to_vec(),
        });
    }
    let mut dx = vec![0.0f32; input_shape.iter().product()];
    let scatter = |(d, (g, i)): (&mut [f32], (&[f32], &[usize]))| {
        for (&gv, &iv) in g.iter().zip(i) {
            d[iv] += gv;
        }
    };
    if plane > 0 && l > 0 {
        if use_parallel(dx.len()) {
            dx.par_chunks_mut(plane)
                .zip(gs.par_chunks(l).zip(ind.par_chunks(l)))
                .with_min_len(16)
                .for_each(scatter);
        } else {
            dx.chunks_mut(plane)
                .zip(gs.chunks(l).zip(ind.chunks(l)))
                .for_each(scatter);
        }
    }
    Ok(Tensor::from_vec_unchecked(dx, input_shape))
}

fn avg_divisor(p: &Pool2dParams, g: &Geom, oy: usize, ox: usize) -> f32 {
    let (h0, h1) = window(oy, p.stride.0, p.padding.0, p.kernel.0, g.h);
    let (w0, w1) = window(ox, p.stride.1, p.padding.1, p.kernel.1, g.w);
    if p.count_include_pad {
        // Window clipped to the padded input (never beyond it without ceil_mode).
        (p.kernel.0 * p.kernel.1) as f32
    } else {
        ((h1 - h0) * (w1 - w0)).max(1) as f32
    }
}

/// Average pooling (`F.avg_pool2d`): returns `[N, C, OH, OW]`.
pub fn avg_pool2d(x: &Tensor, p: &Pool2dParams) -> Result<Tensor> {
    let g = geom("avg_pool2d", x.shape(), p)?;
    let xc = x.contiguous();
    let xs = xc.as_slice().expect("contiguous");
    let planes = per_plane(g.nc, xs.len(), |i| {
        let plane = &xs[i * g.h * g.w..(i + 1) * g.h * g.w];
        let mut vals = Vec::with_capacity(g.oh * g.ow);
        for oy in 0..g.oh {
            let (h0, h1) = window(oy, p.stride.0, p.padding.0, p.kernel.0, g.h);
            for ox in 0..g.ow {
                let (w0, w1) = window(ox, p.stride.1, p.padding.1, p.kernel.1, g.w);
                let s: f32 = (h0..h1)
                    .map(|yy| plane[yy * g.w + w0..yy * g.w + w1].iter().sum::<f32>())
                    .sum();
                vals.push(s / avg_divisor(p, &g, oy, ox));
            }
        }
        vals
    });
    let shape = [x.shape()[0], x.shape()[1], g.oh, g.ow];
    Ok(Tensor::from_vec_unchecked(planes.concat(), &shape))
}

/// Gradient of [`avg_pool2d`] for the forward input shape `input_shape`.
pub fn avg_pool2d_backward(
    grad_out: &Tensor,
    input_shape: &[usize],
    p: &Pool2dParams,
) -> Result<Tensor> {
    let op = "avg_pool2d_backward";
    let g = geom(op, input_shape, p)?;
    let want = [input_shape[0], input_shape[1], g.oh, g.ow];
    if grad_out.shape() != want {
        return Err(TensorError::mismatch(
            op,
            grad_out.shape(),
            &want,
            "grad_out must have the forward output's shape",
        ));
    }
    let gs = grad_out.to_vec();
    let mut dx = vec![0.0f32; input_shape.iter().product()];
    let (plane, l) = (g.h * g.w, g.oh * g.ow);
    if plane > 0 && l > 0 {
        dx.chunks_mut(plane).zip(gs.chunks(l)).for_each(|(d, gp)| {
            for oy in 0..g.oh {
                let (h0, h1) = window(oy, p.stride.0, p.padding.0, p.kernel.0, g.h);
                for ox in 0..g.ow {
                    let (w0, w1) = window(ox, p.stride.1, p.padding.1, p.kernel.1, g.w);
                    let v = gp[oy * g.ow + ox] / avg_divisor(p, &g, oy, ox);
                    for yy in h0..h1 {
                        d[yy * g.w + w0..yy * g.w + w1]
                            .iter_mut()
                            .for_each(|e| *e += v);
                    }
                }
            }
        });
    }
    Ok(Tensor::from_vec_unchecked(dx, input_shape))
}

/// PyTorch's adaptive window `[floor(i·in/out), ceil((i+1)·in/out))`.
fn adaptive_window(i: usize, out: usize, size: usize) -> (usize, usize) {
    (i * size / out, ((i + 1) * size).div_ceil(out))
}

fn adaptive_check(op: &'static str, shape: &[usize], out: (usize, usize)) -> Result<()> {
    if shape.len() != 4 {
        return Err(TensorError::arg(op, shape, "input must be [N, C, H, W]"));
    }
    if out.0 == 0 || out.1 == 0 || shape[2] == 0 || shape[3] == 0 {
        return Err(TensorError::arg(
            op,
            shape,
            format!("output size {out:?} and input plane must be non-empty"),
        ));
    }
    Ok(())
}

/// Adaptive average pooling to an `out = (OH, OW)` grid (`F.adaptive_avg_pool2d`).
pub fn adaptive_avg_pool2d(x: &Tensor, out: (usize, usize)) -> Result<Tensor> {
    adaptive_check("adaptive_avg_pool2d", x.shape(), out)?;
    let (nc, h, w) = (x.shape()[0] * x.shape()[1], x.shape()[2], x.shape()[3]);
    let xc = x.contiguous();
    let xs = xc.as_slice().expect("contiguous");
    let planes = per_plane(nc, xs.len(), |i| {
        let plane = &xs[i * h * w..(i + 1) * h * w];
        let mut vals = Vec::with_capacity(out.0 * out.1);
        for oy in 0..out.0 {
            let (h0, h1) = adaptive_window(oy, out.0, h);
            for ox in 0..out.1 {
                let (w0, w1) = adaptive_window(ox, out.1, w);
                let s: f32 = (h0..h1)
                    .map(|yy| plane[yy * w + w0..yy * w + w1].iter().sum::<f32>())
                    .sum();
                vals.push(s / ((h1 - h0) * (w1 - w0)) as f32);
            }
        }
        vals
    });
    Ok(Tensor::from_vec_unchecked(
        planes.concat(),
        &[x.shape()[0], x.shape()[1], out.0, out.1],
    ))
}

/// Gradient of [`adaptive_avg_pool2d`] for the forward input shape `input_shape`.
pub fn adaptive_avg_pool2d_backward(grad_out: &Tensor, input_shape: &[usize]) -> Result<Tensor> {
    let op = "adaptive_avg_pool2d_backward";
    adaptive_check(op, input_shape, (1, 1))?;
    if grad_out.rank() != 4
        || grad_out.shape()[..2] != input_shape[..2]
        || grad_out.shape()[2] == 0
        || grad_out.shape()[3] == 0
    {
        return Err(TensorError::mismatch(
            op,
            grad_out.shape(),
            input_shape,
            "grad_out must be [N, C, OH, OW] for an input [N, C, H, W]",
        ));
    }
    let (oh, ow) = (grad_out.shape()[2], grad_out.shape()[3]);
    let (h, w) = (input_shape[2], input_shape[3]);
    let gs = grad_out.to_vec();
    let mut dx = vec![0.0f32; input_shape.iter().product()];
    dx.chunks_mut(h * w)
        .zip(gs.chunks(oh * ow))
        .for_each(|(d, gp)| {
            for oy in 0..oh {
                let (h0, h1) = adaptive_window(oy, oh, h);
                for ox in 0..ow {
                    let (w0, w1) = adaptive_window(ox, ow, w);
                    let v = gp[oy * ow + ox] / ((h1 - h0) * (w1 - w0)) as f32;
                    for yy in h0..h1 {
                        d[yy * w + w0..yy * w + w1].iter_mut().for_each(|e| *e += v);
                    }
                }
            }
        });
    Ok(Tensor::from_vec_unchecked(dx, input_shape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn dot(a: &Tensor, b: &Tensor) -> f64 {
        a.to_vec()
            .iter()
            .zip(b.to_vec())
            .map(|(&x, y)| x as f64 * y as f64)
            .sum()
    }

    #[test]
    fn max_pool_padding_and_backward() {
        // 3×3 input 1..9, kernel 2, stride 1, padding 1 -> 4×4 output of window maxima.
        let x = Tensor::arange(1.0, 10.0, 1.0)
            .unwrap()
            .reshape(&[1, 1, 3, 3]);
        let p = Pool2dParams::new(2, 2).stride(1, 1).padding(1, 1);
        let (y, idx) = max_pool2d(&x, &p).unwrap();
        assert_eq!(y.shape(), &[1, 1, 4, 4]);
        assert_eq!(
            y.to_vec(),
            vec![1., 2., 3., 3., 4., 5., 6., 6., 7., 8., 9., 9., 7., 8., 9., 9.]
        );
        let dx = max_pool2d_backward(&Tensor::ones(y.shape()), &idx, x.shape()).unwrap();
        assert_eq!(dx.to_vec(), vec![1., 1., 2., 1., 1., 2., 2., 2., 4.]);
        assert!(max_pool2d(&x, &Pool2dParams::new(2, 2).padding(2, 0)).is_err());
    }

    #[test]
    fn max_pool_backward_parallel_and_strided_indices_match_a_plain_scatter() {
        let mut rng = Rng::new(9);
        // 4·8·46·46 > PARALLEL_THRESHOLD elements: the plane-parallel scatter runs.
        let x = Tensor::rand_normal(&[4, 8, 46, 46], 0.0, 1.0, &mut rng);
        let p = Pool2dParams::new(3, 3).stride(2, 2).padding(1, 1);
        let (y, idx) = max_pool2d(&x, &p).unwrap();
        let gy = Tensor::rand_normal(y.shape(), 0.0, 1.0, &mut rng);
        let mut want = vec![0.0f32; x.len()];
        let plane = 46 * 46;
        let l = y.shape()[2] * y.shape()[3];
        for (k, (&g, &i)) in gy.to_vec().iter().zip(idx.iter()).enumerate() {
            want[(k / l) * plane + i] += g;
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let dx = pool
            .install(|| max_pool2d_backward(&gy, &idx, x.shape()))
            .unwrap();
        assert_eq!(dx.to_vec(), want);
        // Indices in a non-standard layout (a transposed view) are read correctly too.
        let x1 = Tensor::rand_normal(&[1, 1, 6, 6], 0.0, 1.0, &mut rng);
        let (y1, idx1) = max_pool2d(&x1, &Pool2dParams::new(2, 2)).unwrap();
        let gy1 = Tensor::rand_normal(y1.shape(), 0.0, 1.0, &mut rng);
        let want1 = max_pool2d_backward(&gy1, &idx1, x1.shape()).unwrap();
        let t = idx1.clone().reversed_axes();
        let mut idx_t = ArrayD::from_elem(t.raw_dim(), 0usize);
        idx_t.assign(&t);
        let back = idx_t.reversed_axes();
        assert!(back.as_slice().is_none());
        let got1 = max_pool2d_backward(&gy1, &back, x1.shape()).unwrap();
        assert_eq!(got1.to_vec(), want1.to_vec());
        // An out-of-range index is an error, not a panic.
        let mut bad = idx1.clone();
        bad[[0, 0, 1, 2]] = 36;
        assert!(max_pool2d_backward(&gy1, &bad, x1.shape()).is_err());
    }

    #[test]
    fn values_only_max_pool_matches_the_indexed_one() {
        let mut rng = Rng::new(12);
        for (shape, p) in [
            ([4, 8, 46, 46], Pool2dParams::new(2, 2)),
            (
                [2, 3, 9, 7],
                Pool2dParams::new(3, 2).stride(2, 1).padding(1, 1),
            ),
            ([1, 1, 5, 5], Pool2dParams::new(2, 2)),
        ] {
            let mut x = Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng);
            x.as_slice_mut()[3] = f32::NAN;
            let (y, _) = max_pool2d(&x, &p).unwrap();
            let v = max_pool2d_values(&x, &p).unwrap();
            assert_eq!(v.shape(), y.shape());
            let same = y
                .to_vec()
                .iter()
                .zip(v.to_vec())
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{shape:?} {p:?}");
        }
        assert!(max_pool2d_values(&Tensor::zeros(&[2, 2]), &Pool2dParams::new(2, 2)).is_err());
    }

    #[test]
    fn avg_pool_known_and_adjoint() {
        let x = Tensor::arange(0.0, 16.0, 1.0)
            .unwrap()
            .reshape(&[1, 1, 4, 4]);
        let y = avg_pool2d(&x, &Pool2dParams::new(2, 2)).unwrap();
        assert_eq!(y.to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
        let mut rng = Rng::new(4);
        for p in [
            Pool2dParams::new(3, 2).stride(2, 1).padding(1, 1),
            Pool2dParams::new(3, 3)
                .stride(2, 2)
                .padding(1, 1)
                .count_include_pad(false),
        ] {
            let x = Tensor::rand_normal(&[2, 3, 7, 6], 0.0, 1.0, &mut rng);
            let y = avg_pool2d(&x, &p).unwrap();
            let gy = Tensor::rand_normal(y.shape(), 0.0, 1.0, &mut rng);
            let dx = avg_pool2d_backward(&gy, x.shape(), &p).unwrap();
            assert!((dot(&y, &gy) - dot(&x, &dx)).abs() < 1e-4);
        }
    }

    #[test]
    fn adaptive_known_and_adjoint() {
        let x = Tensor::arange(0.0, 16.0, 1.0)
            .unwrap()
            .reshape(&[1, 1, 4, 4]);
        assert_eq!(adaptive_avg_pool2d(&x, (1, 1)).unwrap().to_vec(), vec![7.5]);
        assert_eq!(
            adaptive_avg_pool2d(&x, (2, 2)).unwrap().to_vec(),
            vec![2.5, 4.5, 10.5, 12.5]
        );
        let mut rng = Rng::new(5);
        let x = Tensor::rand_normal(&[2, 2, 7, 5], 0.0, 1.0, &mut rng);
        let y = adaptive_avg_pool2d(&x, (3, 2)).unwrap();
        let gy = Tensor::rand_normal(y.shape(), 0.0, 1.0, &mut rng);
        let dx = adaptive_avg_pool2d_backward(&gy, x.shape()).unwrap();
        assert!((dot(&y, &gy) - dot(&x, &dx)).abs() < 1e-4);
    }
}
