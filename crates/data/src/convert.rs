//! Numeric casting between the `f64` tabular world and the `f32` model world.

use crate::error::{DataError, Result};
use glassbox_tensor::ops::reduce::argmax;
use ndarray::{Array, Array2, ArrayView, Dimension};

/// Casts an `f64` array (e.g. a preprocessed feature matrix) to `f32` for a model.
pub fn to_f32<D: Dimension>(x: ArrayView<'_, f64, D>) -> Array<f32, D> {
    x.mapv(|v| v as f32)
}

/// Casts an `f32` array (e.g. model outputs) to `f64` for metrics.
pub fn to_f64<D: Dimension>(x: ArrayView<'_, f32, D>) -> Array<f64, D> {
    x.mapv(f64::from)
}

/// One-hot rows for class indices (`n × n_classes`, `f32`); an index `>= n_classes` is an
/// error naming its 1-based row.
pub fn one_hot(labels: &[usize], n_classes: usize) -> Result<Array2<f32>> {
    let mut out = Array2::zeros((labels.len(), n_classes));
    for (i, &l) in labels.iter().enumerate() {
        if l >= n_classes {
            return Err(DataError::invalid(
                "one_hot",
                format!(
                    "label {l} at row {} is not below n_classes = {n_classes}",
                    i + 1
                ),
            ));
        }
        out[[i, l]] = 1.0;
    }
    Ok(out)
}

/// Index of the largest value in each row (first one on ties), e.g. predicted classes from
/// logits or probabilities: [`glassbox_tensor::ops::reduce::argmax`] on each row, so a NaN
/// counts as the largest value (NumPy's and PyTorch's rule).
pub fn argmax_rows<A: PartialOrd + Copy>(x: ArrayView<'_, A, ndarray::Ix2>) -> Vec<usize> {
    x.rows().into_iter().map(|r| argmax(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn casts_and_one_hot() {
        let x = array![[1.5f64, -2.0]];
        assert_eq!(to_f32(x.view()), array![[1.5f32, -2.0]]);
        assert_eq!(to_f64(array![0.25f32].view()), array![0.25f64]);
        assert_eq!(
            one_hot(&[1, 0], 3).unwrap(),
            array![[0.0f32, 1.0, 0.0], [1.0, 0.0, 0.0]]
        );
        let e = one_hot(&[0, 3], 3).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("label 3"), "{e}");
    }

    #[test]
    fn argmax_first_on_ties() {
        let x = array![
            [0.1, 0.7, 0.7],
            [2.0, -1.0, 0.0],
            [1.0, f64::NAN, 3.0],
            [f64::NAN, f64::NAN, f64::NAN]
        ];
        // NaN is the largest value, as numpy.argmax and torch.argmax have it.
        assert_eq!(argmax_rows(x.view()), vec![1, 0, 1, 0]);
    }
}
