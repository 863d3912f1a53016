//! The [`Predictor`] trait: any batch predictor over `f64` rows.

use ndarray::{s, Array2, ArrayView2, Axis};

use crate::error::{ExplainError, PredictError, Result};

/// What a predictor call returns: the outputs, or the model's own error.
pub type PredictResult = std::result::Result<Array2<f64>, PredictError>;

/// Any batch predictor: rows of `x` are samples; the output has one column per output
/// (class probability, logit or regression value).
///
/// A predictor returns its model's own error when it cannot predict (a network that
/// rejects the batch, a remote model that is down); the explainers stop and report it as
/// [`ExplainError::Model`] with the message intact.
///
/// Every closure `Fn(ArrayView2<f64>) -> Array2<f64> + Sync` is a predictor, so models of
/// other libraries can be explained by wrapping their `predict` in a closure; a closure
/// that can fail is wrapped in [`TryFn`].
///
/// ```
/// use glassbox_explain::predictor::{Predictor, TryFn};
/// use ndarray::{array, Array2, ArrayView2};
///
/// let double = |x: ArrayView2<f64>| x.mapv(|v| 2.0 * v);
/// assert_eq!(double.predict(array![[1.0]].view()).unwrap(), array![[2.0]]);
///
/// let picky = TryFn(|x: ArrayView2<f64>| -> Result<Array2<f64>, String> {
///     if x.ncols() == 2 { Ok(x.to_owned()) } else { Err(format!("expected 2 features, got {}", x.ncols())) }
/// });
/// let err = picky.predict(array![[1.0]].view()).unwrap_err();
/// assert_eq!(err.to_string(), "expected 2 features, got 1");
/// ```
pub trait Predictor: Sync {
    /// Predicts a batch: `x` is `[rows, features]`, the result `[rows, outputs]`.
    fn predict(&self, x: ArrayView2<f64>) -> PredictResult;

    /// Predicts a batch given in single precision. Methods that build large batches of
    /// perturbed rows (Kernel SHAP, exact and permutation Shapley values) build them in
    /// `f32` and call this when [`Predictor::prefers_f32`] says so, which halves the memory
    /// they write and spares an `f32` model the conversion. The default widens to `f64` and
    /// calls [`Predictor::predict`].
    fn predict_f32(&self, x: ArrayView2<f32>) -> PredictResult {
        self.predict(x.mapv(f64::from).view())
    }

    /// [`Predictor::predict_f32`] for a batch the caller hands over: a predictor that needs
    /// its input as an owned buffer (a tensor) can take `x`'s instead of copying it. The
    /// default calls [`Predictor::predict_f32`] on a view.
    fn predict_f32_owned(&self, x: Array2<f32>) -> PredictResult {
        self.predict_f32(x.view())
    }

    /// Whether [`Predictor::predict_f32`] is this predictor's native path (an `f32` model).
    /// Inputs rounded to `f32` are exact for such a model, so results do not change.
    fn prefers_f32(&self) -> bool {
        false
    }
}

impl<F: Fn(ArrayView2<f64>) -> Array2<f64> + Sync> Predictor for F {
    fn predict(&self, x: ArrayView2<f64>) -> PredictResult {
        Ok(self(x))
    }
}

/// A fallible closure as a [`Predictor`]: `TryFn(|x| model.try_predict(x))`. The closure's
/// error (anything that converts into [`PredictError`], such as a `std::error::Error` or a
/// `String`) is the predictor's error.
#[derive(Debug, Clone, Copy)]
pub struct TryFn<F>(pub F);

impl<F, E> Predictor for TryFn<F>
where
    F: Fn(ArrayView2<f64>) -> std::result::Result<Array2<f64>, E> + Sync,
    E: Into<PredictError>,
{
    fn predict(&self, x: ArrayView2<f64>) -> PredictResult {
        (self.0)(x).map_err(Into::into)
    }
}

/// Default cap on the number of rows passed to one predictor call by methods that batch
/// many perturbed inputs together. Moderate batches keep a model's activations in cache:
/// on the digits MLP, Kernel SHAP runs about twice as fast with 2048-row calls as with
/// 65536-row calls. Raise it for predictors with a high per-call cost.
pub const DEFAULT_MAX_BATCH_ROWS: usize = 2048;

/// Calls `p` on `x` and checks the output has one row per input row (and `outputs` columns
/// when given) and only finite values.
pub(crate) fn predict_checked<P: Predictor + ?Sized>(
    op: &'static str,
    p: &P,
    x: ArrayView2<f64>,
    outputs: Option<usize>,
) -> Result<Array2<f64>> {
    let y = p.predict(x).map_err(|e| ExplainError::model(op, e))?;
    check_output(op, y, x.nrows(), outputs)
}

/// Checks a predictor's output `y` for a batch of `rows` rows: one row per input row,
/// `outputs` columns when given (at least one), only finite values.
fn check_output(
    op: &'static str,
    y: Array2<f64>,
    rows: usize,
    outputs: Option<usize>,
) -> Result<Array2<f64>> {
    let ok_rows = y.nrows() == rows;
    let ok_cols = outputs.is_none_or(|k| y.ncols() == k) && y.ncols() > 0;
    if !ok_rows || !ok_cols {
        return Err(ExplainError::PredictorOutput {
            op,
            rows,
            outputs: outputs.unwrap_or(0),
            found: y.shape().to_vec(),
        });
    }
    check_finite(op, "predictor output", y.view())?;
    Ok(y)
}

/// Like [`predict_checked`] but splits `x` into chunks of at most `max_rows` rows.
pub(crate) fn predict_chunked<P: Predictor + ?Sized>(
    op: &'static str,
    p: &P,
    x: ArrayView2<f64>,
    outputs: Option<usize>,
    max_rows: usize,
) -> Result<Array2<f64>> {
    let max_rows = max_rows.max(1);
    if x.nrows() <= max_rows {
        return predict_checked(op, p, x, outputs);
    }
    let mut parts = Vec::new();
    let mut k = outputs;
    let mut start = 0;
    while start < x.nrows() {
        let end = (start + max_rows).min(x.nrows());
        let y = predict_checked(op, p, x.slice(s![start..end, ..]), k)?;
        k = Some(y.ncols());
        parts.push(y);
        start = end;
    }
    let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
    ndarray::concatenate(Axis(0), &views)
        .map_err(|e| ExplainError::invalid(op, "batch", e.to_string()))
}

/// [`predict_checked`] for an owned single-precision batch, through
/// [`Predictor::predict_f32_owned`].
pub(crate) fn predict_checked_f32_owned<P: Predictor + ?Sized>(
    op: &'static str,
    p: &P,
    x: Array2<f32>,
    outputs: Option<usize>,
) -> Result<Array2<f64>> {
    let rows = x.nrows();
    let y = p
        .predict_f32_owned(x)
        .map_err(|e| ExplainError::model(op, e))?;
    check_output(op, y, rows, outputs)
}

/// Returns an error naming the first non-finite entry of `a`.
pub(crate) fn check_finite(op: &'static str, what: &'static str, a: ArrayView2<f64>) -> Result<()> {
    if let Some(values) = a.as_slice() {
        if values.iter().all(|v| v.is_finite()) {
            return Ok(());
        }
    }
    for ((row, column), v) in a.indexed_iter() {
        if !v.is_finite() {
            return Err(ExplainError::NonFinite {
                op,
                what,
                row,
                column,
            });
        }
    }
    Ok(())
}

/// Checks that `a` has at least one row and one column and only finite values.
pub(crate) fn check_matrix(op: &'static str, what: &'static str, a: ArrayView2<f64>) -> Result<()> {
    if a.nrows() == 0 || a.ncols() == 0 {
        return Err(ExplainError::Empty { op, what });
    }
    check_finite(op, what, a)
}

/// Checks that `target` is a valid output column for outputs with `outputs` columns.
pub(crate) fn check_target(op: &'static str, target: usize, outputs: usize) -> Result<()> {
    if target >= outputs {
        return Err(ExplainError::TargetOutOfRange {
            op,
            target,
            outputs,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn closures_are_predictors_and_outputs_are_checked() {
        let f = |x: ArrayView2<f64>| x.sum_axis(Axis(1)).insert_axis(Axis(1));
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        let y = predict_checked("t", &f, x.view(), Some(1)).unwrap();
        assert_eq!(y, array![[3.0], [7.0]]);
        let err = predict_checked("t", &f, x.view(), Some(2)).unwrap_err();
        assert!(matches!(err, ExplainError::PredictorOutput { rows: 2, .. }));
        let chunked = predict_chunked("t", &f, x.view(), None, 1).unwrap();
        assert_eq!(chunked, array![[3.0], [7.0]]);
    }

    #[test]
    fn a_model_error_reaches_the_caller_with_its_message() {
        #[derive(Debug, thiserror::Error)]
        #[error("layer 2 expects 5 inputs, got {0}")]
        struct NetError(usize);
        let f = TryFn(
            |x: ArrayView2<f64>| -> std::result::Result<Array2<f64>, NetError> {
                Err(NetError(x.ncols()))
            },
        );
        let x = array![[1.0, 2.0]];
        let err = predict_checked("kernel_shap", &f, x.view(), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "kernel_shap: the model failed: layer 2 expects 5 inputs, got 2"
        );
        let inner = err.model_error().expect("a model error");
        assert!(matches!(
            inner.downcast_ref::<NetError>(),
            Some(NetError(2))
        ));
        let owned = predict_checked_f32_owned("t", &f, Array2::zeros((1, 3)), None).unwrap_err();
        assert!(owned.to_string().ends_with("got 3"), "{owned}");
        // Clones compare equal (the error is shared).
        assert_eq!(err.clone(), err);
    }

    #[test]
    fn non_finite_entries_are_named() {
        let x = array![[1.0, f64::NAN]];
        let err = check_matrix("op", "x", x.view()).unwrap_err();
        assert_eq!(
            err,
            ExplainError::NonFinite {
                op: "op",
                what: "x",
                row: 0,
                column: 1
            }
        );
    }
}
