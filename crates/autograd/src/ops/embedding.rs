//! Embedding lookup: rows of a weight table selected by integer indices; the weight's
//! gradient is a scatter-add of the upstream rows (repeated indices accumulate).

use glassbox_tensor::Tensor;
use ndarray::{ArrayD, IxDyn};

use crate::error::{AutogradError, Result};
use crate::op::BackwardOp;
use crate::var::Var;

struct EmbeddingBackward {
    indices: Vec<usize>,
    num: usize,
    dim: usize,
    padding_idx: Option<usize>,
}
impl BackwardOp for EmbeddingBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let n = self.indices.len();
        let g2 = g.try_reshape(&[n, self.dim])?;
        let pad = self.padding_idx;
        let index = ArrayD::from_shape_fn(IxDyn(&[n, self.dim]), |ix| self.indices[ix[0]]);
        let g2 = match pad {
            // rows looking up the padding index send no gradient
            Some(p) => {
                let keep: Vec<f32> = self
                    .indices
                    .iter()
                    .map(|&i| if i == p { 0.0 } else { 1.0 })
                    .collect();
                g2.try_mul(&Tensor::from_vec(keep, &[n, 1])?)?
            }
            None => g2,
        };
        let dw = Tensor::zeros(&[self.num, self.dim]).try_scatter_add(0, &index, &g2)?;
        Ok(vec![Some(dw)])
    }
    fn name(&self) -> &'static str {
        "embedding"
    }
}

/// Looks up rows of `weight` `[num, dim]`: `indices` (row-major) laid out as `shape` give
/// an output of shape `[shape.., dim]`.
///
/// ```
/// use glassbox_autograd::{ops::embedding::embedding, Var};
/// use glassbox_tensor::Tensor;
/// let w = Var::parameter(Tensor::from_vec(vec![0., 1., 10., 11., 20., 21.], &[3, 2]).unwrap());
/// let e = embedding(&w, &[2, 0, 2], &[3]).unwrap();
/// assert_eq!(e.value().to_vec(), vec![20., 21., 0., 1., 20., 21.]);
/// e.sum_all().backward().unwrap();
/// assert_eq!(w.grad().unwrap().to_vec(), vec![1., 1., 0., 0., 2., 2.]);
/// ```
pub fn embedding(weight: &Var, indices: &[usize], shape: &[usize]) -> Result<Var> {
    embedding_with_padding(weight, indices, shape, None)
}

/// [`embedding`] where rows looking up `padding_idx` receive no gradient (PyTorch's
/// `padding_idx`).
pub fn embedding_with_padding(
    weight: &Var,
    indices: &[usize],
    shape: &[usize],
    padding_idx: Option<usize>,
) -> Result<Var> {
    let w = weight.value();
    if w.rank() != 2 {
        return Err(AutogradError::invalid(
            "embedding",
            format!("weight must be [num, dim], got shape {:?}", w.shape()),
        ));
    }
    let (num, dim) = (w.shape()[0], w.shape()[1]);
    if shape.iter().product::<usize>() != indices.len() {
        return Err(AutogradError::invalid(
            "embedding",
            format!("{} indices do not fill shape {shape:?}", indices.len()),
        ));
    }
    if let Some((pos, &bad)) = indices.iter().enumerate().find(|(_, &i)| i >= num) {
        return Err(AutogradError::invalid(
            "embedding",
            format!("index {bad} at position {pos} is out of range for {num} rows"),
        ));
    }
    let mut out_shape = shape.to_vec();
    out_shape.push(dim);
    let y = w.try_index_select(0, indices)?.try_reshape(&out_shape)?;
    Ok(Var::record(y, &[weight], || EmbeddingBackward {
        indices: indices.to_vec(),
        num,
        dim,
        padding_idx,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_rows_get_no_gradient() {
        let w = Var::parameter(Tensor::ones(&[3, 2]));
        let e = embedding_with_padding(&w, &[0, 1, 0, 2], &[2, 2], Some(0)).unwrap();
        assert_eq!(e.shape(), vec![2, 2, 2]);
        e.sum_all().backward().unwrap();
        assert_eq!(w.grad().unwrap().to_vec(), vec![0., 0., 1., 1., 1., 1.]);
    }

    #[test]
    fn bad_indices_are_errors() {
        let w = Var::parameter(Tensor::ones(&[3, 2]));
        let e = embedding(&w, &[0, 3], &[2]).unwrap_err();
        assert!(e.to_string().contains("index 3 at position 1"), "{e}");
        assert!(embedding(&w, &[0, 1], &[3]).is_err());
    }
}
