//! Batched inference helpers: raw outputs, class probabilities, and a model-agnostic
//! predictor view of a network for `glassbox-explain`.

use glassbox_autograd::{no_grad, Var};
use glassbox_explain::{PredictResult, Predictor};
use glassbox_nn::Module;
use glassbox_tensor::Tensor;
use ndarray::{Array2, ArrayView2};

use crate::error::{Error, Result};

/// Rows per forward pass in the helpers below (large enough that the matrix products
/// dominate, small enough that a batch of activations stays in cache).
pub const INFERENCE_BATCH: usize = 2048;

/// Runs `model` on rows `x` in batches of [`INFERENCE_BATCH`] without recording a graph,
/// optionally turning each output row into probabilities (softmax, computed in f32 on the
/// network's output), and writes the results, converted by `widen`, into one
/// `[N, outputs]` array.
fn forward_rows_with<T: Copy + Default>(
    model: &dyn Module,
    x: ArrayView2<f32>,
    softmax: bool,
    widen: fn(f32) -> T,
) -> Result<Array2<T>> {
    let n = x.nrows();
    if n == 0 {
        return Err(Error::Input("no rows to predict".into()));
    }
    let mut out: Option<Array2<T>> = None;
    let mut start = 0;
    while start < n {
        let end = (start + INFERENCE_BATCH).min(n);
        let chunk = x.slice(ndarray::s![start..end, ..]);
        let data: Vec<f32> = match chunk.as_slice() {
            Some(rows) => rows.to_vec(),
            None => chunk.iter().copied().collect(),
        };
        let t = Tensor::from_vec(data, &[end - start, x.ncols()])?;
        let y = forward_batch_with(model, t, softmax, widen)?;
        if end - start == n {
            return Ok(y);
        }
        let dst = out.get_or_insert_with(|| Array2::from_elem((n, y.ncols()), T::default()));
        if dst.ncols() != y.ncols() {
            return Err(Error::Input(format!(
                "the network gave {} outputs for rows {start}.. but {} before",
                y.ncols(),
                dst.ncols()
            )));
        }
        dst.slice_mut(ndarray::s![start..end, ..]).assign(&y);
        start = end;
    }
    Ok(out.expect("at least one batch ran"))
}

/// [`forward_rows_with`] widened to `f64` (the explainers' element type).
pub(crate) fn forward_rows(
    model: &dyn Module,
    x: ArrayView2<f32>,
    softmax: bool,
) -> Result<Array2<f64>> {
    forward_rows_with(model, x, softmax, f64::from)
}

/// [`forward_rows_with`] in the network's own `f32`.
pub(crate) fn forward_rows_f32(
    model: &dyn Module,
    x: ArrayView2<f32>,
    softmax: bool,
) -> Result<Array2<f32>> {
    forward_rows_with(model, x, softmax, |v| v)
}

/// One forward pass of `model` on the `[rows, features]` tensor `t` without recording a
/// graph, optionally followed by a softmax over each output row (in f32), converted by
/// `widen`.
fn forward_batch_with<T>(
    model: &dyn Module,
    t: Tensor,
    softmax: bool,
    widen: fn(f32) -> T,
) -> Result<Array2<T>> {
    let rows = t.shape()[0];
    let mut y = no_grad(|| model.forward_owned(Var::constant(t)))?.value();
    let shape = y.shape().to_vec();
    if shape.len() != 2 || shape[0] != rows {
        return Err(Error::Input(format!(
            "expected [{rows}, outputs] from the network, got {shape:?}"
        )));
    }
    if softmax {
        y = y.try_softmax(1)?;
    }
    let y = y.contiguous();
    let ys = y.as_slice().expect("contiguous tensor");
    Ok(
        Array2::from_shape_vec((rows, shape[1]), ys.iter().map(|&v| widen(v)).collect())
            .expect("rows x outputs"),
    )
}

fn forward_batch(model: &dyn Module, t: Tensor, softmax: bool) -> Result<Array2<f64>> {
    forward_batch_with(model, t, softmax, f64::from)
}

/// Raw outputs (logits or regression values) of any module for `f32` rows `x`
/// (`[N, n_inputs]`), computed in batches without recording a graph. A [`crate::Network`]
/// has this as [`crate::Network::predict_outputs`], which also takes samples in their
/// natural shape and checks the values.
pub fn predict_outputs(model: &dyn Module, x: ArrayView2<f32>) -> Result<Array2<f32>> {
    forward_rows_f32(model, x, false)
}

/// Class probabilities (softmax of the outputs, in `f32` like the network) of any module
/// for `f32` rows `x`; see [`crate::Network::predict_proba`].
pub fn predict_proba(model: &dyn Module, x: ArrayView2<f32>) -> Result<Array2<f32>> {
    forward_rows_f32(model, x, true)
}

/// A [`glassbox_explain::Predictor`] view of a network: rows → raw outputs, or rows →
/// class probabilities. It computes in `f32` like the network and says so
/// ([`Predictor::prefers_f32`]), so explainers that build large batches of perturbed rows
/// hand them over in `f32`. An error of the network (rows of the wrong width, say) is
/// returned as it is, as an [`Error`], and the explainers report it with its message
/// ([`glassbox_explain::ExplainError::Model`]); so is an output with another number of
/// columns than the `n_outputs` this view was made with.
#[derive(Clone, Copy)]
pub struct NetworkPredictor<'a> {
    model: &'a dyn Module,
    n_outputs: usize,
    probabilities: bool,
}

impl std::fmt::Debug for NetworkPredictor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkPredictor")
            .field("model", &self.model.type_name())
            .field("n_outputs", &self.n_outputs)
            .field("probabilities", &self.probabilities)
            .finish()
    }
}

impl NetworkPredictor<'_> {
    /// Checks the network gave `n_outputs` columns and boxes its error for the explainers.
    fn run(&self, result: Result<Array2<f64>>) -> PredictResult {
        let y = result?;
        if y.ncols() != self.n_outputs {
            return Err(Error::Input(format!(
                "the network gave {} outputs per row, the predictor was made for {}",
                y.ncols(),
                self.n_outputs
            ))
            .into());
        }
        Ok(y)
    }
}

impl Predictor for NetworkPredictor<'_> {
    fn predict(&self, x: ArrayView2<f64>) -> PredictResult {
        let rows = x.mapv(|v| v as f32);
        self.run(forward_rows(self.model, rows.view(), self.probabilities))
    }

    fn predict_f32(&self, x: ArrayView2<f32>) -> PredictResult {
        self.run(forward_rows(self.model, x, self.probabilities))
    }

    /// A batch of at most [`INFERENCE_BATCH`] standard-layout rows becomes the network's
    /// input tensor as it is, without a copy.
    fn predict_f32_owned(&self, x: Array2<f32>) -> PredictResult {
        let rows = x.nrows();
        if rows == 0 || rows > INFERENCE_BATCH || !x.is_standard_layout() {
            return self.predict_f32(x.view());
        }
        let cols = x.ncols();
        let (data, offset) = x.into_raw_vec_and_offset();
        if offset.unwrap_or(0) != 0 || data.len() != rows * cols {
            let x = Array2::from_shape_vec((rows, cols), data).expect("rows x cols");
            return self.predict_f32(x.view());
        }
        let result = Tensor::from_vec(data, &[rows, cols])
            .map_err(Error::from)
            .and_then(|t| forward_batch(self.model, t, self.probabilities));
        self.run(result)
    }

    fn prefers_f32(&self) -> bool {
        true
    }
}

/// A [`Predictor`] view of a classifier: rows → class probabilities (softmax of the
/// network's outputs).
pub fn proba_predictor(model: &dyn Module, n_outputs: usize) -> NetworkPredictor<'_> {
    NetworkPredictor {
        model,
        n_outputs,
        probabilities: true,
    }
}

/// A [`Predictor`] view of a network's raw outputs.
pub fn output_predictor(model: &dyn Module, n_outputs: usize) -> NetworkPredictor<'_> {
    NetworkPredictor {
        model,
        n_outputs,
        probabilities: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row-wise softmax in f64 from the definition (the reference).
    fn softmax_f64(logits: &Array2<f64>) -> Array2<f64> {
        let mut p = logits.clone();
        for mut row in p.rows_mut() {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            row.mapv_inplace(|v| (v - m).exp());
            let s = row.sum();
            row.mapv_inplace(|v| v / s);
        }
        p
    }

    #[test]
    fn batched_outputs_and_probabilities_match_one_forward_pass() {
        use glassbox_nn::{Activation, Linear, Sequential};
        let mut rng = glassbox_tensor::rng::Rng::new(3);
        let net = Sequential::new()
            .add(Linear::new(3, 5, true, &mut rng).unwrap())
            .add(Activation::relu())
            .add(Linear::new(5, 4, true, &mut rng).unwrap());
        let n = INFERENCE_BATCH + 7;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * 3 + j) % 17) as f32 * 0.1 - 0.8);
        let out = predict_outputs(&net, x.view()).unwrap();
        let proba = predict_proba(&net, x.view()).unwrap();
        // Reference: the network on all rows at once, softmax in f64.
        let t = Tensor::from_vec(x.iter().copied().collect(), &[n, 3]).unwrap();
        let want = net.forward(&Var::constant(t)).unwrap().value().to_vec();
        let want =
            Array2::from_shape_vec((n, 4), want.into_iter().map(f64::from).collect()).unwrap();
        let want_p = softmax_f64(&want);
        assert_eq!(out.dim(), (n, 4));
        for ((o, w), (p, wp)) in out.iter().zip(&want).zip(proba.iter().zip(&want_p)) {
            assert!((f64::from(*o) - w).abs() < 1e-6, "{o} vs {w}");
            assert!((f64::from(*p) - wp).abs() < 1e-6, "{p} vs {wp}");
        }
        assert!(predict_outputs(&net, x.slice(ndarray::s![..0, ..])).is_err());
        // The f64 path of the explainers' view gives the same values widened.
        let p64 = proba_predictor(&net, 4).predict_f32(x.view()).unwrap();
        assert_eq!(p64, proba.mapv(f64::from));
    }

    #[test]
    fn owned_batches_predict_like_views() {
        use glassbox_nn::{Activation, Linear, Sequential};
        let mut rng = glassbox_tensor::rng::Rng::new(5);
        let net = Sequential::new()
            .add(Linear::new(4, 6, true, &mut rng).unwrap())
            .add(Activation::relu())
            .add(Linear::new(6, 3, true, &mut rng).unwrap());
        let p = proba_predictor(&net, 3);
        for n in [1, 5, INFERENCE_BATCH + 3] {
            let x =
                Array2::from_shape_fn((n, 4), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.2 - 1.0);
            let by_view = p.predict_f32(x.view()).unwrap();
            let owned = p.predict_f32_owned(x.clone()).unwrap();
            assert_eq!(owned, by_view, "{n} rows");
            // A transposed (non-standard) batch takes the copying path and agrees too.
            let xt = x.t().to_owned().reversed_axes();
            assert_eq!(p.predict_f32_owned(xt).unwrap(), by_view);
            assert!(by_view
                .rows()
                .into_iter()
                .all(|r| (r.sum() - 1.0).abs() < 1e-6));
        }
    }

    #[test]
    fn the_network_error_reaches_the_explainer_intact() {
        use glassbox_explain::perturbation::{feature_ablation, FeatureAblationConfig};
        use glassbox_nn::{Activation, Linear, Sequential};
        let mut rng = glassbox_tensor::rng::Rng::new(7);
        let net = Sequential::new()
            .add(Linear::new(4, 3, true, &mut rng).unwrap())
            .add(Activation::relu());
        let p = proba_predictor(&net, 3);
        // Rows of the wrong width: the network's own message, on every path.
        let want = match predict_proba(&net, Array2::<f32>::zeros((2, 5)).view()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("5 features accepted by a 4-input network"),
        };
        assert!(want.contains('5') && want.contains('4'), "{want}");
        let x = Array2::<f64>::zeros((2, 5));
        assert_eq!(p.predict(x.view()).unwrap_err().to_string(), want);
        let x32 = Array2::<f32>::zeros((2, 5));
        assert_eq!(p.predict_f32(x32.view()).unwrap_err().to_string(), want);
        assert_eq!(p.predict_f32_owned(x32).unwrap_err().to_string(), want);
        // A view made for another output count says so instead of returning misshapen rows.
        let wrong = proba_predictor(&net, 2);
        let msg = wrong
            .predict(Array2::zeros((1, 4)).view())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("3 outputs") && msg.contains("made for 2"),
            "{msg}"
        );
        // Through an explainer: the message is kept and the original error can be recovered.
        let err = feature_ablation(&p, x.view(), 0, &FeatureAblationConfig::default()).unwrap_err();
        assert!(err.to_string().ends_with(&want), "{err}");
        let inner = err.model_error().expect("the model's error");
        assert!(inner.downcast_ref::<Error>().is_some(), "{inner:?}");
    }
}
