//! Gradient attributions of a [`Network`]: saliency, Integrated Gradients (with its
//! convergence delta) and Grad-CAM on a named convolutional layer.
//!
//! These are the small set the `glassbox` command and demo need; `glassbox-explain` is
//! the home of the full family (SmoothGrad, DeepLIFT, guided backprop, layer methods).

use glassbox_autograd::{no_grad, Var};
use glassbox_nn::Module;
use glassbox_tensor::Tensor;
use ndarray::{Array2, ArrayView2};

use crate::arch::Network;
use crate::error::{Error, Result};

fn rows_tensor(x: ArrayView2<f64>) -> Tensor {
    Tensor::from(x.mapv(|v| v as f32).into_dyn())
}

fn one_hot(n: usize, k: usize, targets: &[usize]) -> Result<Tensor> {
    let mut m = vec![0f32; n * k];
    for (i, &t) in targets.iter().enumerate() {
        if t >= k {
            return Err(Error::Input(format!(
                "target {t} of row {i} is not below {k} outputs"
            )));
        }
        m[i * k + t] = 1.0;
    }
    Ok(Tensor::from_vec(m, &[n, k])?)
}

fn check(x: ArrayView2<f64>, targets: &[usize], net: &Network) -> Result<()> {
    if x.nrows() != targets.len() {
        return Err(Error::Input(format!(
            "{} rows but {} targets",
            x.nrows(),
            targets.len()
        )));
    }
    let n_in = net.architecture().n_inputs();
    if x.ncols() != n_in {
        return Err(Error::Input(format!(
            "rows have {} features, the network takes {n_in}",
            x.ncols()
        )));
    }
    Ok(())
}

/// d output[target] / d input for each row (`[rows, features]`).
pub fn input_gradients(
    net: &Network,
    x: ArrayView2<f64>,
    targets: &[usize],
) -> Result<Array2<f64>> {
    check(x, targets, net)?;
    let xv = Var::leaf(rows_tensor(x), true);
    let out = net.forward(&xv)?;
    let k = out.shape()[1];
    let mask = Var::constant(one_hot(x.nrows(), k, targets)?);
    out.mul(&mask)?.sum_all().backward()?;
    let g = xv
        .grad()
        .ok_or_else(|| Error::Input("no gradient reached the input".into()))?;
    let v: Vec<f64> = g.to_vec().into_iter().map(f64::from).collect();
    Ok(Array2::from_shape_vec(x.dim(), v).expect("gradient has the input's shape"))
}

/// Saliency (Simonyan et al., 2014): |∂ output[target] / ∂ input|.
pub fn saliency(net: &Network, x: ArrayView2<f64>, targets: &[usize]) -> Result<Array2<f64>> {
    Ok(input_gradients(net, x, targets)?.mapv(f64::abs))
}

/// Integrated Gradients attributions and, per row, the convergence delta
/// `Σ attributions − (f(x) − f(baseline))`.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegratedGradients {
    /// Attributions `[rows, features]`.
    pub attributions: Array2<f64>,
    /// Completeness error per row.
    pub convergence_delta: Vec<f64>,
}

/// Integrated Gradients (Sundararajan et al., 2017) from `baseline` (one row per input
/// row, or a single shared row) with the trapezoid rule over `steps` intervals.
pub fn integrated_gradients(
    net: &Network,
    x: ArrayView2<f64>,
    baseline: ArrayView2<f64>,
    targets: &[usize],
    steps: usize,
) -> Result<IntegratedGradients> {
    check(x, targets, net)?;
    if steps == 0 {
        return Err(Error::Input(
            "integrated gradients needs at least 1 step".into(),
        ));
    }
    let (n, m) = x.dim();
    let base = |i: usize| -> Result<ndarray::ArrayView1<f64>> {
        match baseline.nrows() {
            1 if baseline.ncols() == m => Ok(baseline.row(0)),
            r if r == n && baseline.ncols() == m => Ok(baseline.row(i)),
            _ => Err(Error::Input(format!(
                "baseline has shape {:?}; expected [1, {m}] or [{n}, {m}]",
                baseline.dim()
            ))),
        }
    };
    let mut attributions = Array2::zeros((n, m));
    let mut deltas = Vec::with_capacity(n);
    for i in 0..n {
        let b = base(i)?.to_owned();
        let d = &x.row(i) - &b;
        // Path points alpha = j / steps, j = 0..=steps, trapezoid weights.
        let mut path = Array2::zeros((steps + 1, m));
        for j in 0..=steps {
            let a = j as f64 / steps as f64;
            path.row_mut(j).assign(&(&b + &(&d * a)));
        }
        let g = input_gradients(net, path.view(), &vec![targets[i]; steps + 1])?;
        let mut avg = ndarray::Array1::<f64>::zeros(m);
        for j in 0..=steps {
            let w = if j == 0 || j == steps { 0.5 } else { 1.0 } / steps as f64;
            avg += &(&g.row(j) * w);
        }
        let attr = &avg * &d;
        let ends = no_grad(|| net.forward(&Var::constant(rows_tensor(path.view()))))?.value();
        let k = ends.shape()[1];
        let e = ends.to_vec();
        let diff = e[steps * k + targets[i]] as f64 - e[targets[i]] as f64;
        deltas.push(attr.sum() - diff);
        attributions.row_mut(i).assign(&attr);
    }
    Ok(IntegratedGradients {
        attributions,
        convergence_delta: deltas,
    })
}

/// Grad-CAM (Selvaraju et al., 2017) on the layer named `layer` (its output must be
/// `[N, K, h, w]`): `ReLU(Σ_k α_k A_k)` with `α_k` the spatial mean of ∂ output[target] /
/// ∂ A_k, upsampled (nearest) to the input's `height × width`. Returns `[rows, height·width]`.
pub fn grad_cam(
    net: &Network,
    x: ArrayView2<f64>,
    targets: &[usize],
    layer: &str,
) -> Result<Array2<f64>> {
    check(x, targets, net)?;
    let shape = net.architecture().input_shape();
    let (height, width) = match shape.as_slice() {
        [_, h, w] => (*h, *w),
        _ => return Err(Error::Input("Grad-CAM needs an image network".into())),
    };
    let index: usize = layer.parse().map_err(|_| {
        Error::Input(format!(
            "layer `{layer}` is not a layer index of this network"
        ))
    })?;
    let xv = Var::constant(rows_tensor(x));
    let (out, acts) = net.forward_with_activations(&xv)?;
    let a = acts
        .get(index)
        .ok_or_else(|| Error::Input(format!("the network has no layer `{layer}`")))?
        .clone();
    let ashape = a.shape();
    if ashape.len() != 4 {
        return Err(Error::Input(format!(
            "layer `{layer}` output {ashape:?} is not a feature map"
        )));
    }
    a.retain_grad();
    let k = out.shape()[1];
    out.mul(&Var::constant(one_hot(x.nrows(), k, targets)?))?
        .sum_all()
        .backward()?;
    let g = a
        .grad()
        .ok_or_else(|| Error::Input(format!("no gradient reached layer `{layer}`")))?
        .to_vec();
    let av = a.value().to_vec();
    let (n, c, h, w) = (ashape[0], ashape[1], ashape[2], ashape[3]);
    let mut out = Array2::zeros((n, height * width));
    for i in 0..n {
        let mut cam = vec![0f64; h * w];
        for ch in 0..c {
            let base = (i * c + ch) * h * w;
            let alpha: f64 =
                g[base..base + h * w].iter().map(|&v| v as f64).sum::<f64>() / (h * w) as f64;
            for p in 0..h * w {
                cam[p] += alpha * av[base + p] as f64;
            }
        }
        for r in 0..height {
            for s in 0..width {
                let (rr, ss) = (r * h / height, s * w / width);
                out[[i, r * width + s]] = cam[rr * w + ss].max(0.0);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelSpec;
    use ndarray::Array2;

    fn f(net: &Network, x: &Array2<f64>, t: usize) -> f64 {
        let o = no_grad(|| net.forward(&Var::constant(rows_tensor(x.view()))))
            .unwrap()
            .value();
        o.to_vec()[t] as f64
    }

    #[test]
    fn input_gradients_match_finite_differences() {
        let arch = ModelSpec::Mlp(vec![6]).resolve(&[4], 3).unwrap();
        let net = arch.build(5).unwrap();
        let x = Array2::from_shape_vec((1, 4), vec![0.3, -0.7, 1.1, 0.2]).unwrap();
        let g = input_gradients(&net, x.view(), &[2]).unwrap();
        for j in 0..4 {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[[0, j]] += 1e-2;
            b[[0, j]] -= 1e-2;
            let fd = (f(&net, &a, 2) - f(&net, &b, 2)) / 2e-2;
            assert!(
                (fd - g[[0, j]]).abs() < 1e-2 * (1.0 + fd.abs()),
                "{j}: {fd} vs {}",
                g[[0, j]]
            );
        }
    }

    #[test]
    fn integrated_gradients_are_complete() {
        let arch = ModelSpec::Mlp(vec![8]).resolve(&[5], 2).unwrap();
        let net = arch.build(1).unwrap();
        let x = Array2::from_shape_fn((2, 5), |(i, j)| (i as f64 + 1.0) * (j as f64 - 2.0) / 3.0);
        let base = Array2::zeros((1, 5));
        let ig = integrated_gradients(&net, x.view(), base.view(), &[0, 1], 256).unwrap();
        for (i, d) in ig.convergence_delta.iter().enumerate() {
            let row = x.row(i).to_owned().insert_axis(ndarray::Axis(0));
            let diff = f(&net, &row, [0, 1][i]) - f(&net, &base, [0, 1][i]);
            assert!(
                (ig.attributions.row(i).sum() - diff).abs() < 1e-2,
                "row {i}"
            );
            assert!(d.abs() < 1e-2);
        }
    }

    #[test]
    fn grad_cam_is_nonnegative_and_image_sized() {
        let arch = ModelSpec::Cnn(vec![3, 4]).resolve(&[1, 6, 6], 3).unwrap();
        let net = arch.build(2).unwrap();
        let x = Array2::from_shape_fn((2, 36), |(i, j)| ((i * 36 + j) % 7) as f64 / 7.0);
        let cam = grad_cam(&net, x.view(), &[0, 2], &arch.gradcam_layer().unwrap()).unwrap();
        assert_eq!(cam.dim(), (2, 36));
        assert!(cam.iter().all(|&v| v >= 0.0));
        assert!(grad_cam(&net, x.view(), &[0, 2], "99").is_err());
    }
}
