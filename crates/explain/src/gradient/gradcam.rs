//! Grad-CAM (Selvaraju et al., 2017) on a named layer, and Captum's
//! `LayerAttribution.interpolate` to lay a map over the input.

use glassbox_autograd::{no_grad, Var};
use glassbox_tensor::Tensor;
use ndarray::{Array4, ArrayD, IxDyn};

use super::core::{by_chunks, expand_targets, grad_from};
use super::error::{GradientError, Result};
use super::model::{GradModel, Rule};

const OP: &str = "grad_cam";

/// Grad-CAM of output `targets` on the layer at dotted path `layer` (output `[N, C, …]`,
/// e.g. a Conv2d's `[N, C, h, w]`): `Σ_c α_c A_c` with `α_c` the spatial mean of
/// `∂f_t/∂A_c`, clamped at 0 when `relu` (Captum's `relu_attributions`). Returns
/// `[N, 1, …spatial]`. The model is split at the layer: the prefix runs without a graph.
/// Rows go through the model in chunks of [`GradModel::cap`] rows; the model's stop check
/// is asked before each pass.
pub fn grad_cam(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    layer: &str,
    relu: bool,
) -> Result<ArrayD<f64>> {
    let targets = expand_targets(OP, x, targets)?;
    let idx = model.layer_index(OP, layer)?;
    by_chunks(OP, model, x, &targets, |xc, tc| {
        chunk(model, xc, tc, idx, relu)
    })
}

/// Grad-CAM of one chunk of rows on layer `idx`.
fn chunk(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    idx: usize,
    relu: bool,
) -> Result<ArrayD<f64>> {
    let a = no_grad(|| model.forward_range(&Var::constant(x.clone()), 0, idx + 1, Rule::Plain))?
        .value();
    let s = a.shape().to_vec();
    if s.len() < 3 {
        return Err(GradientError::Shape {
            op: OP,
            what: "layer output",
            expected: "[N, channels, spatial…] (a convolutional feature map)".into(),
            found: s,
        });
    }
    let (g, _) = grad_from(OP, model, &a, idx + 1, targets, Rule::Plain)?;
    let (n, c) = (s[0], s[1]);
    let sp: usize = s[2..].iter().product();
    let (av, gv) = (a.contiguous().to_vec(), g.contiguous().to_vec());
    let mut cam = vec![0f64; n * sp];
    for i in 0..n {
        for ch in 0..c {
            let off = (i * c + ch) * sp;
            let alpha = gv[off..off + sp].iter().map(|&v| v as f64).sum::<f64>() / sp as f64;
            for (dst, &v) in cam[i * sp..(i + 1) * sp].iter_mut().zip(&av[off..off + sp]) {
                *dst += alpha * v as f64;
            }
        }
    }
    if relu {
        cam.iter_mut().for_each(|v| *v = v.max(0.0));
    }
    let mut shape = vec![n, 1];
    shape.extend_from_slice(&s[2..]);
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), cam).expect("shape"))
}

/// Resampling of [`interpolate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interpolation {
    /// PyTorch `mode="nearest"` (Captum's default): source index `⌊dst · in / out⌋`.
    #[default]
    Nearest,
    /// PyTorch `mode="bilinear", align_corners=False`.
    Bilinear,
}

/// Resizes a `[N, C, h, w]` map to `[N, C, height, width]` as
/// `LayerAttribution.interpolate` (PyTorch's `F.interpolate`).
pub fn interpolate(
    map: &ArrayD<f64>,
    height: usize,
    width: usize,
    mode: Interpolation,
) -> Result<Array4<f64>> {
    let m = map
        .view()
        .into_dimensionality::<ndarray::Ix4>()
        .map_err(|_| GradientError::Shape {
            op: "interpolate",
            what: "map",
            expected: "[N, C, h, w]".into(),
            found: map.shape().to_vec(),
        })?;
    let (n, c, h, w) = m.dim();
    if h == 0 || w == 0 || height == 0 || width == 0 {
        return Err(GradientError::InvalidArgument {
            op: "interpolate",
            field: "size",
            reason: format!("cannot resize {h}×{w} to {height}×{width}"),
        });
    }
    let (sy, sx) = (h as f64 / height as f64, w as f64 / width as f64);
    Ok(Array4::from_shape_fn(
        (n, c, height, width),
        |(i, ch, y, x)| match mode {
            Interpolation::Nearest => {
                let yi = ((y as f64 * sy).floor() as usize).min(h - 1);
                let xi = ((x as f64 * sx).floor() as usize).min(w - 1);
                m[[i, ch, yi, xi]]
            }
            Interpolation::Bilinear => {
                let src = |d: usize, s: f64, len: usize| {
                    let v = ((d as f64 + 0.5) * s - 0.5).max(0.0);
                    let i0 = (v.floor() as usize).min(len - 1);
                    let i1 = (i0 + 1).min(len - 1);
                    (i0, i1, v - i0 as f64)
                };
                let (y0, y1, fy) = src(y, sy, h);
                let (x0, x1, fx) = src(x, sx, w);
                (1.0 - fy) * ((1.0 - fx) * m[[i, ch, y0, x0]] + fx * m[[i, ch, y0, x1]])
                    + fy * ((1.0 - fx) * m[[i, ch, y1, x0]] + fx * m[[i, ch, y1, x1]])
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_and_bilinear_as_pytorch() {
        let m = ArrayD::from_shape_vec(IxDyn(&[1, 1, 2, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let up = interpolate(&m, 4, 4, Interpolation::Nearest).unwrap();
        assert_eq!(up.dim(), (1, 1, 4, 4));
        assert_eq!(up[[0, 0, 1, 1]], 1.0);
        assert_eq!(up[[0, 0, 2, 3]], 4.0);
        // F.interpolate([[1,2],[3,4]], size=4, mode="bilinear") row 0: 1, 1.25, 1.75, 2
        let b = interpolate(&m, 4, 4, Interpolation::Bilinear).unwrap();
        let r: Vec<f64> = (0..4).map(|x| b[[0, 0, 0, x]]).collect();
        assert_eq!(r, vec![1.0, 1.25, 1.75, 2.0]);
        assert!(interpolate(
            &m.clone().into_shape_with_order(IxDyn(&[4])).unwrap(),
            2,
            2,
            Interpolation::Nearest
        )
        .is_err());
    }
}
