//! Batched inference helpers: raw outputs, class probabilities, and a model-agnostic
//! predictor view of a network for `glassbox-explain`.

use glassbox_autograd::{no_grad, Var};
use glassbox_nn::Module;
use glassbox_tensor::Tensor;
use ndarray::{Array2, ArrayView2, Axis};

use crate::error::{Error, Result};

/// Rows per forward pass in the helpers below.
pub const INFERENCE_BATCH: usize = 512;

/// Raw network outputs (logits or regression values) for feature rows `x`
/// (`[N, n_inputs]`), computed in batches without recording a graph.
pub fn predict_outputs(model: &dyn Module, x: ArrayView2<f64>) -> Result<Array2<f64>> {
    let mut parts: Vec<Array2<f64>> = Vec::new();
    let n = x.nrows();
    let mut start = 0;
    while start < n {
        let end = (start + INFERENCE_BATCH).min(n);
        let chunk = x.slice(ndarray::s![start..end, ..]).mapv(|v| v as f32);
        let t = Tensor::from(chunk.into_dyn());
        let out = no_grad(|| model.forward(&Var::constant(t)))?.value();
        let shape = out.shape().to_vec();
        if shape.len() != 2 || shape[0] != end - start {
            return Err(Error::Input(format!(
                "expected [{} , outputs] from the network, got {shape:?}",
                end - start
            )));
        }
        let v: Vec<f64> = out.to_vec().into_iter().map(f64::from).collect();
        parts.push(Array2::from_shape_vec((shape[0], shape[1]), v).expect("shape checked"));
        start = end;
    }
    if parts.is_empty() {
        return Err(Error::Input("no rows to predict".into()));
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    Ok(ndarray::concatenate(Axis(0), &views).expect("same width"))
}

/// Row-wise softmax (numerically stable).
pub fn softmax_rows(logits: &Array2<f64>) -> Array2<f64> {
    let mut p = logits.clone();
    for mut row in p.rows_mut() {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        row.mapv_inplace(|v| (v - m).exp());
        let s = row.sum();
        row.mapv_inplace(|v| v / s);
    }
    p
}

/// Class probabilities for feature rows `x`.
pub fn predict_proba(model: &dyn Module, x: ArrayView2<f64>) -> Result<Array2<f64>> {
    Ok(softmax_rows(&predict_outputs(model, x)?))
}

/// A [`glassbox_explain::Predictor`] view of a classifier: rows → class probabilities.
/// Errors inside the network (which cannot happen for rows of the right width) become NaN
/// outputs so the explainers report them instead of panicking.
pub fn proba_predictor<'a>(
    model: &'a dyn Module,
    n_outputs: usize,
) -> impl Fn(ArrayView2<f64>) -> Array2<f64> + Sync + 'a {
    move |x: ArrayView2<f64>| {
        predict_proba(model, x)
            .unwrap_or_else(|_| Array2::from_elem((x.nrows(), n_outputs), f64::NAN))
    }
}

/// A [`glassbox_explain::Predictor`] view of a network's raw outputs.
pub fn output_predictor<'a>(
    model: &'a dyn Module,
    n_outputs: usize,
) -> impl Fn(ArrayView2<f64>) -> Array2<f64> + Sync + 'a {
    move |x: ArrayView2<f64>| {
        predict_outputs(model, x)
            .unwrap_or_else(|_| Array2::from_elem((x.nrows(), n_outputs), f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_matches_the_definition() {
        let p = softmax_rows(&array![[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]]);
        let e: f64 = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        assert!((p[[0, 2]] - 3f64.exp() / e).abs() < 1e-12);
        assert!((p[[1, 0]] - 0.5).abs() < 1e-12);
    }
}
