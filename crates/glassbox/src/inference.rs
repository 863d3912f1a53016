//! The scikit-learn-shaped inference API of a [`Network`]: `predict`, `predict_proba`,
//! `predict_outputs`, PyTorch's `eval()`/`train()`, and the network's own predictor views
//! for `glassbox-explain`.
//!
//! The boundary is `f32`, as the network computes and as [`crate::TrainData`] takes it:
//! inputs are any `f32` array whose first axis is the samples (flat rows `[N, n_inputs]` or
//! the natural shape `[N, C, H, W]` / `[N, T, F]`), outputs are `f32`. Tabular data is `f64`
//! in `glassbox-data`; cross with the explicit [`crate::to_f32`] / [`crate::to_f64`].

use ndarray::{Array2, ArrayView2, ArrayViewD, AsArray, CowArray, Dimension, Ix2};

use crate::arch::Network;
use crate::error::{Error, Result};
use crate::predict::{forward_rows_f32, output_predictor, proba_predictor, NetworkPredictor};
use glassbox_nn::Module;

impl Network {
    /// Number of outputs: the class count of a classifier, 1 for a regressor.
    pub fn n_outputs(&self) -> usize {
        self.architecture().n_outputs()
    }

    /// Raw outputs (logits, or the regression value) for a batch, `[N, n_outputs]`,
    /// computed without recording a graph (PyTorch's `with torch.no_grad(): model(x)`).
    ///
    /// Errors name the problem: a batch of the wrong sample shape, no rows, a non-finite
    /// input value (with its row and column), or a non-finite output.
    pub fn predict_outputs<'a, D: Dimension>(
        &self,
        x: impl AsArray<'a, f32, D>,
    ) -> Result<Array2<f32>> {
        let rows = self.rows(x.into().into_dyn())?;
        checked_outputs(forward_rows_f32(self, rows.view(), false)?)
    }

    /// Class probabilities `[N, classes]` (softmax of the outputs, in `f32`), like
    /// scikit-learn's `predict_proba`. A single-output network is a regressor and has none.
    pub fn predict_proba<'a, D: Dimension>(
        &self,
        x: impl AsArray<'a, f32, D>,
    ) -> Result<Array2<f32>> {
        self.require_classifier("predict_proba")?;
        let rows = self.rows(x.into().into_dyn())?;
        checked_outputs(forward_rows_f32(self, rows.view(), true)?)
    }

    /// The predicted class index of each sample (the largest output; the first on ties),
    /// like scikit-learn's `predict` on a classifier. For regression use
    /// [`Network::predict_outputs`].
    pub fn predict<'a, D: Dimension>(&self, x: impl AsArray<'a, f32, D>) -> Result<Vec<usize>> {
        self.require_classifier("predict")?;
        let out = self.predict_outputs(x)?;
        Ok(glassbox_data::convert::argmax_rows(out.view()))
    }

    /// Evaluation mode (PyTorch's `model.eval()`): dropout off, batch norm uses running
    /// statistics. Returns the network for chaining.
    pub fn eval(&mut self) -> &mut Network {
        self.set_training(false);
        self
    }

    /// Training mode (PyTorch's `model.train()`).
    pub fn train(&mut self) -> &mut Network {
        self.set_training(true);
        self
    }

    /// A [`glassbox_explain::Predictor`] of class probabilities over this network's classes
    /// (for Kernel SHAP, LIME, permutation importance, ...).
    pub fn proba_predictor(&self) -> NetworkPredictor<'_> {
        proba_predictor(self, self.n_outputs())
    }

    /// A [`glassbox_explain::Predictor`] of the raw outputs.
    pub fn output_predictor(&self) -> NetworkPredictor<'_> {
        output_predictor(self, self.n_outputs())
    }

    fn require_classifier(&self, what: &str) -> Result<()> {
        if self.n_outputs() < 2 {
            return Err(Error::Input(format!(
                "{what} needs a classifier, this network has {} output (a regressor: use \
                 predict_outputs)",
                self.n_outputs()
            )));
        }
        Ok(())
    }

    /// Checks a batch against the network's sample shape and flattens it to rows
    /// `[N, n_inputs]` (a view when the batch is in standard layout).
    fn rows<'a>(&self, x: ArrayViewD<'a, f32>) -> Result<CowArray<'a, f32, Ix2>> {
        let sample = self.architecture().input_shape();
        let n_in: usize = sample.iter().product();
        let shape = x.shape();
        let fits = (shape.len() == 2 && shape[1] == n_in)
            || (shape.len() == sample.len() + 1 && shape[1..] == sample[..]);
        if !fits {
            return Err(Error::Input(format!(
                "a batch of shape {shape:?}; the network takes [N, {n_in}] rows or [N, {}] \
                 samples",
                sample
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let n = shape[0];
        if n == 0 {
            return Err(Error::Input("no rows to predict".into()));
        }
        // A view when the batch is in standard layout, else a row-major copy.
        let rows = match x.clone().into_shape_with_order((n, n_in)) {
            Ok(view) => CowArray::from(view),
            Err(_) => CowArray::from(
                Array2::from_shape_vec((n, n_in), x.iter().copied().collect())
                    .map_err(|e| Error::Input(format!("cannot view the batch as rows: {e}")))?,
            ),
        };
        check_finite_input(rows.view())?;
        Ok(rows)
    }
}

/// An error naming the first non-finite input value by 1-based row and column.
fn check_finite_input(x: ArrayView2<f32>) -> Result<()> {
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some(((r, c), v)) => Err(Error::Input(format!(
            "input row {}, feature {} is {v}; the network needs finite values",
            r + 1,
            c + 1
        ))),
    }
}

/// The outputs, or an error naming the first non-finite one (an input far outside the
/// training range can overflow `f32`).
fn checked_outputs(y: Array2<f32>) -> Result<Array2<f32>> {
    match y.indexed_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(y),
        Some(((r, c), v)) => Err(Error::Input(format!(
            "the network's output {} for row {} is {v} (the input is far outside the range \
             the network was trained on)",
            c + 1,
            r + 1
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelSpec;
    use glassbox_autograd::Var;
    use glassbox_tensor::Tensor;
    use ndarray::{Array2, Array4};

    /// Reference: the module's own graph-recording forward pass, softmax computed in f64
    /// from the definition.
    fn reference(net: &Network, x: &[f32], shape: &[usize]) -> (Array2<f64>, Array2<f64>) {
        let t = Tensor::from_vec(x.to_vec(), shape).unwrap();
        let y = net.forward(&Var::constant(t)).unwrap().value();
        let (n, k) = (y.shape()[0], y.shape()[1]);
        let out = Array2::from_shape_vec((n, k), y.to_vec().into_iter().map(f64::from).collect())
            .unwrap();
        let mut p = out.clone();
        for mut row in p.rows_mut() {
            let m = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            row.mapv_inplace(|v| (v - m).exp());
            let s = row.sum();
            row.mapv_inplace(|v| v / s);
        }
        (out, p)
    }

    #[test]
    fn predict_proba_and_predict_agree_with_the_forward_pass_in_every_input_layout() {
        let arch = ModelSpec::Cnn(vec![2]).resolve(&[1, 4, 4], 3).unwrap();
        let mut net = arch.build(4).unwrap();
        net.eval();
        let imgs = Array4::from_shape_fn((5, 1, 4, 4), |(n, _, i, j)| {
            ((n * 7 + i * 3 + j) % 11) as f32 / 10.0 - 0.4
        });
        let flat = imgs.clone().into_shape_with_order((5, 16)).unwrap();
        let (out_ref, p_ref) = reference(&net, imgs.as_slice().unwrap(), &[5, 1, 4, 4]);
        for p in [
            net.predict_proba(&imgs).unwrap(),
            net.predict_proba(&flat).unwrap(),
            // A transposed (non-standard-layout) view of the same rows.
            net.predict_proba(flat.t().t()).unwrap(),
        ] {
            assert_eq!(p.dim(), (5, 3));
            for (a, b) in p.iter().zip(&p_ref) {
                assert!((f64::from(*a) - b).abs() < 1e-6, "{a} vs {b}");
            }
        }
        let out = net.predict_outputs(&imgs).unwrap();
        for (a, b) in out.iter().zip(&out_ref) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{a} vs {b}");
        }
        let want: Vec<usize> = out_ref
            .rows()
            .into_iter()
            .map(|r| (0..3).fold(0, |b, j| if r[j] > r[b] { j } else { b }))
            .collect();
        assert_eq!(net.predict(&imgs).unwrap(), want);
    }

    #[test]
    fn bad_batches_are_named_errors() {
        let net = ModelSpec::Mlp(vec![3])
            .resolve(&[4], 2)
            .unwrap()
            .build(0)
            .unwrap();
        let e = net
            .predict(&Array2::<f32>::zeros((2, 5)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[2, 5]") && e.contains("[N, 4]"), "{e}");
        let e = net
            .predict(&Array2::<f32>::zeros((0, 4)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no rows"), "{e}");
        let mut x = Array2::<f32>::zeros((3, 4));
        x[[2, 1]] = f32::NAN;
        let e = net.predict_proba(&x).unwrap_err().to_string();
        assert!(e.contains("row 3, feature 2") && e.contains("NaN"), "{e}");
        let y = ndarray::array![[0.5f32, 1.0], [f32::INFINITY, 0.0]];
        let e = checked_outputs(y).unwrap_err().to_string();
        assert!(e.contains("output 1 for row 2 is inf"), "{e}");
        let reg = ModelSpec::Mlp(vec![3])
            .resolve(&[4], 1)
            .unwrap()
            .build(0)
            .unwrap();
        let e = reg
            .predict(&Array2::<f32>::zeros((1, 4)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("regressor"), "{e}");
        assert_eq!(
            reg.predict_outputs(&Array2::<f32>::zeros((1, 4)))
                .unwrap()
                .dim(),
            (1, 1)
        );
    }

    #[test]
    fn eval_and_train_switch_the_mode() {
        let mut net = ModelSpec::Mlp(vec![3])
            .resolve(&[4], 2)
            .unwrap()
            .build(0)
            .unwrap();
        assert!(net.is_training());
        assert!(!net.eval().is_training());
        assert!(net.train().is_training());
    }
}
