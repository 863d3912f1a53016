//! Index-driven ops: where/mask, index_select, gather and pad. Backwards scatter-add the
//! gradient back with `Tensor::try_scatter_add` (repeated indices accumulate).

use glassbox_tensor::Tensor;
use ndarray::{ArrayD, IxDyn};

use crate::error::Result;
use crate::op::BackwardOp;
use crate::ops::sum_to;
use crate::var::Var;

struct WhereBackward {
    cond: Tensor,
    a_shape: Vec<usize>,
    b_shape: Vec<usize>,
}
impl BackwardOp for WhereBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let zero = Tensor::scalar(0.0);
        let da = if inputs[0].requires_grad() {
            let ga = Tensor::try_where_cond(&self.cond, g, &zero)?;
            Some(sum_to(&ga, &self.a_shape)?)
        } else {
            None
        };
        let db = if inputs[1].requires_grad() {
            let gb = Tensor::try_where_cond(&self.cond, &zero, g)?;
            Some(sum_to(&gb, &self.b_shape)?)
        } else {
            None
        };
        Ok(vec![da, db])
    }
    fn name(&self) -> &'static str {
        "where_cond"
    }
}

/// Index array of `g_shape` whose entry at position `j` along `axis` is `indices[j]`.
fn expanded_index(g_shape: &[usize], axis: usize, indices: &[usize]) -> ArrayD<usize> {
    ArrayD::from_shape_fn(IxDyn(g_shape), |ix| indices[ix[axis]])
}

struct ScatterBackward {
    shape: Vec<usize>,
    axis: usize,
    /// `None` for index_select (built from `indices` at backward time).
    index: Option<ArrayD<usize>>,
    indices: Vec<usize>,
    name: &'static str,
}
impl BackwardOp for ScatterBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let built;
        let index = match &self.index {
            Some(i) => i,
            None => {
                built = expanded_index(g.shape(), self.axis, &self.indices);
                &built
            }
        };
        let dx = Tensor::zeros(&self.shape).try_scatter_add(self.axis, index, g)?;
        Ok(vec![Some(dx)])
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

struct PadBackward {
    pads: Vec<(usize, usize)>,
    shape: Vec<usize>,
}
impl BackwardOp for PadBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let lead = self.shape.len() - self.pads.len();
        let mut out = g.clone();
        for (k, &(before, _)) in self.pads.iter().enumerate() {
            let axis = lead + k;
            out = out.try_narrow(axis, before, self.shape[axis])?;
        }
        Ok(vec![Some(out)])
    }
    fn name(&self) -> &'static str {
        "pad"
    }
}

impl Var {
    /// `cond ? a : b` elementwise (nonzero `cond` selects `a`), all three broadcast
    /// together; the condition is not differentiated.
    pub fn where_cond(cond: &Tensor, a: &Var, b: &Var) -> Result<Var> {
        let (av, bv) = (a.value(), b.value());
        let v = Tensor::try_where_cond(cond, &av, &bv)?;
        let cond = cond.clone();
        Ok(Var::record(v, &[a, b], || WhereBackward {
            cond,
            a_shape: av.shape().to_vec(),
            b_shape: bv.shape().to_vec(),
        }))
    }

    /// Replaces elements where `mask` is nonzero by `value` (no gradient flows there).
    pub fn masked_fill(&self, mask: &Tensor, value: f32) -> Result<Var> {
        Var::where_cond(mask, &Var::constant(Tensor::scalar(value)), self)
    }

    /// The entries at `indices` along `axis` (indices may repeat; their gradients add up).
    pub fn index_select(&self, axis: usize, indices: &[usize]) -> Result<Var> {
        let v = self.with_value(|t| t.try_index_select(axis, indices))?;
        let shape = self.shape();
        Ok(Var::record(v, &[self], || ScatterBackward {
            shape,
            axis,
            index: None,
            indices: indices.to_vec(),
            name: "index_select",
        }))
    }

    /// `torch.gather`: `out[i][j] = self[index[i][j]][j]` for `axis = 0` (likewise for
    /// other axes); the output has `index`'s shape and the backward is a scatter-add.
    pub fn gather(&self, axis: usize, index: &ArrayD<usize>) -> Result<Var> {
        let v = self.with_value(|t| t.try_gather(axis, index))?;
        let shape = self.shape();
        Ok(Var::record(v, &[self], || ScatterBackward {
            shape,
            axis,
            index: Some(index.clone()),
            indices: Vec::new(),
            name: "gather",
        }))
    }

    /// Pads the last `pads.len()` axes with `(before, after)` copies of `value`.
    pub fn pad(&self, pads: &[(usize, usize)], value: f32) -> Result<Var> {
        let v = self.with_value(|t| t.try_pad(pads, value))?;
        let shape = self.shape();
        Ok(Var::record(v, &[self], || PadBackward {
            pads: pads.to_vec(),
            shape,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], s: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn where_routes_by_condition() {
        let a = Var::parameter(t(&[1., 2., 3.], &[3]));
        let b = Var::parameter(t(&[10.], &[1]));
        let y = Var::where_cond(&t(&[1., 0., 1.], &[3]), &a, &b).unwrap();
        assert_eq!(y.value().to_vec(), vec![1., 10., 3.]);
        y.sum_all().backward().unwrap();
        assert_eq!(a.grad().unwrap().to_vec(), vec![1., 0., 1.]);
        assert_eq!(b.grad().unwrap().to_vec(), vec![1.]);
    }

    #[test]
    fn repeated_indices_accumulate() {
        let x = Var::parameter(t(&[1., 2., 3.], &[3]));
        let y = x.index_select(0, &[2, 0, 2]).unwrap();
        assert_eq!(y.value().to_vec(), vec![3., 1., 3.]);
        y.backward_with(&t(&[1., 10., 100.], &[3])).unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![10., 0., 101.]);
    }

    #[test]
    fn gather_rows() {
        let x = Var::parameter(t(&[1., 2., 3., 4.], &[2, 2]));
        let idx = ArrayD::from_shape_vec(IxDyn(&[2, 1]), vec![1, 0]).unwrap();
        let y = x.gather(1, &idx).unwrap();
        assert_eq!(y.value().to_vec(), vec![2., 3.]);
        y.sum_all().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0., 1., 1., 0.]);
    }

    #[test]
    fn pad_narrows_back() {
        let x = Var::parameter(t(&[1., 2.], &[1, 2]));
        let y = x.pad(&[(1, 2)], 0.0).unwrap();
        assert_eq!(y.value().to_vec(), vec![0., 1., 2., 0., 0.]);
        y.backward_with(&t(&[9., 1., 2., 9., 9.], &[1, 5])).unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![1., 2.]);
    }
}
