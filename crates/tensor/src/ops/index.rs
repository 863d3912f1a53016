//! Index-driven ops: gather and scatter-add along an axis (PyTorch semantics), and pad.

use ndarray::{ArrayD, Axis, Dimension, IxDyn, Slice};

use crate::error::{Result, TensorError};
use crate::macros::panicking;
use crate::tensor::Tensor;

impl Tensor {
    /// Checks `index` against `self` for gather/scatter along `axis`: same rank, each index
    /// below the axis size, and every other dimension no larger than `self`'s.
    fn check_index(&self, op: &'static str, axis: usize, index: &ArrayD<usize>) -> Result<()> {
        if axis >= self.rank() {
            return Err(TensorError::axis(op, axis, self.shape()));
        }
        let fits = index.ndim() == self.rank()
            && index
                .shape()
                .iter()
                .zip(self.shape())
                .enumerate()
                .all(|(d, (&i, &s))| d == axis || i <= s);
        if !fits {
            return Err(TensorError::mismatch(
                op,
                self.shape(),
                index.shape(),
                format!("index must have the same rank and be no larger off axis {axis}"),
            ));
        }
        let size = self.shape()[axis];
        if let Some(&bad) = index.iter().find(|&&i| i >= size) {
            return Err(TensorError::IndexOutOfRange {
                op,
                index: bad,
                axis,
                size,
                shape: self.shape().to_vec(),
            });
        }
        Ok(())
    }

    /// `out[i][j][k] = self[index[i][j][k]][j][k]` for `axis = 0` (and likewise for other
    /// axes), like `torch.gather`. The output has `index`'s shape.
    pub fn try_gather(&self, axis: usize, index: &ArrayD<usize>) -> Result<Tensor> {
        self.check_index("gather", axis, index)?;
        let src = self.as_array();
        let mut pos = vec![0usize; self.rank()];
        let mut out = Vec::with_capacity(index.len());
        for (ix, &i) in index.indexed_iter() {
            pos.copy_from_slice(ix.slice());
            pos[axis] = i;
            out.push(src[IxDyn(&pos)]);
        }
        Ok(Tensor::from_vec_unchecked(out, index.shape()))
    }

    /// A copy of `self` with `out[index[i][j]][j] += src[i][j]` (for `axis = 0`), like
    /// `torch.scatter_add`. `src` must have `index`'s shape; repeated indices accumulate.
    pub fn try_scatter_add(
        &self,
        axis: usize,
        index: &ArrayD<usize>,
        src: &Tensor,
    ) -> Result<Tensor> {
        self.check_index("scatter_add", axis, index)?;
        if src.shape() != index.shape() {
            return Err(TensorError::mismatch(
                "scatter_add",
                index.shape(),
                src.shape(),
                "src must have the index's shape",
            ));
        }
        let mut out = self.contiguous().into_array();
        let mut pos = vec![0usize; self.rank()];
        let sv = src.as_array();
        for (ix, &i) in index.indexed_iter() {
            pos.copy_from_slice(ix.slice());
            let v = sv[IxDyn(&pos)];
            pos[axis] = i;
            out[IxDyn(&pos)] += v;
        }
        Ok(Tensor::from(out))
    }

    /// Pads the last `pads.len()` axes (in axis order) with `(before, after)` copies of
    /// `value`. The gradient of a pad is [`Tensor::narrow`] back to the original extent.
    pub fn try_pad(&self, pads: &[(usize, usize)], value: f32) -> Result<Tensor> {
        if pads.len() > self.rank() {
            return Err(TensorError::arg(
                "pad",
                self.shape(),
                format!(
                    "{} padding pairs for a tensor of rank {}",
                    pads.len(),
                    self.rank()
                ),
            ));
        }
        let lead = self.rank() - pads.len();
        let mut shape = self.shape().to_vec();
        for (i, &(b, a)) in pads.iter().enumerate() {
            shape[lead + i] += b + a;
        }
        let mut out = ArrayD::<f32>::from_elem(IxDyn(&shape), value);
        {
            let mut view = out.view_mut();
            for (i, &(b, _)) in pads.iter().enumerate() {
                let d = self.shape()[lead + i];
                view.slice_axis_inplace(Axis(lead + i), Slice::from(b..b + d));
            }
            view.assign(&self.as_array());
        }
        Ok(Tensor::from(out))
    }
}

panicking! {
    gather => try_gather(axis: usize, index: &ArrayD<usize>) -> Tensor;
    scatter_add => try_scatter_add(axis: usize, index: &ArrayD<usize>, src: &Tensor) -> Tensor;
    pad => try_pad(pads: &[(usize, usize)], value: f32) -> Tensor;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(v: &[usize], s: &[usize]) -> ArrayD<usize> {
        ArrayD::from_shape_vec(IxDyn(s), v.to_vec()).unwrap()
    }

    #[test]
    fn gather_matches_torch_example() {
        // torch.gather(tensor([[1,2],[3,4]]), 1, tensor([[0,0],[1,0]])) = [[1,1],[4,3]]
        let t = Tensor::from_vec(vec![1., 2., 3., 4.], &[2, 2]).unwrap();
        let g = t.gather(1, &idx(&[0, 0, 1, 0], &[2, 2]));
        assert_eq!(g.to_vec(), vec![1., 1., 4., 3.]);
        // Pick one class score per row (cross-entropy style).
        let g = t.gather(1, &idx(&[1, 0], &[2, 1]));
        assert_eq!(g.to_vec(), vec![2., 3.]);
        assert!(t
            .try_gather(1, &idx(&[2], &[1, 1]))
            .unwrap_err()
            .to_string()
            .contains("index 2"));
    }

    #[test]
    fn scatter_add_accumulates() {
        let z = Tensor::zeros(&[3]);
        let s = Tensor::from_vec(vec![1., 2., 3., 4.], &[4]).unwrap();
        let r = z.scatter_add(0, &idx(&[0, 2, 0, 1], &[4]), &s);
        assert_eq!(r.to_vec(), vec![4., 4., 2.]);
        // 2-D along axis 1: gradient of gather.
        let z = Tensor::zeros(&[2, 3]);
        let s = Tensor::ones(&[2, 2]);
        let r = z.scatter_add(1, &idx(&[0, 0, 2, 1], &[2, 2]), &s);
        assert_eq!(r.to_vec(), vec![2., 0., 0., 0., 1., 1.]);
    }

    #[test]
    fn pad_last_axes() {
        let t = Tensor::from_vec(vec![1., 2., 3., 4.], &[1, 2, 2]).unwrap();
        let p = t.pad(&[(1, 0), (0, 1)], 0.0);
        assert_eq!(p.shape(), &[1, 3, 3]);
        assert_eq!(p.to_vec(), vec![0., 0., 0., 1., 2., 0., 3., 4., 0.]);
        assert_eq!(p.narrow(1, 1, 2).narrow(2, 0, 2).to_vec(), t.to_vec());
        assert!(t.try_pad(&[(1, 1); 4], 0.0).is_err());
    }
}
