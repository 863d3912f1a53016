//! Shape ops: reshape, permute, transpose, broadcast, squeeze/unsqueeze, flatten, narrow,
//! concat and stack. Backwards are the inverse shape op (or a sum for broadcast).

use glassbox_tensor::Tensor;

use crate::error::{AutogradError, Result};
use crate::op::BackwardOp;
use crate::ops::sum_to;
use crate::var::Var;

struct ReshapeBackward {
    shape: Vec<usize>,
    name: &'static str,
}
impl BackwardOp for ReshapeBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.try_reshape(&self.shape)?)])
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

struct PermuteBackward {
    inverse: Vec<usize>,
}
impl BackwardOp for PermuteBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.try_permute(&self.inverse)?)])
    }
    fn name(&self) -> &'static str {
        "permute"
    }
}

struct BroadcastBackward {
    shape: Vec<usize>,
}
impl BackwardOp for BroadcastBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(sum_to(g, &self.shape)?)])
    }
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
}

/// Places `g` at `start..start + g.shape()[axis]` of a zero tensor of `shape`.
fn embed_along(g: &Tensor, shape: &[usize], axis: usize, start: usize) -> Result<Tensor> {
    if g.shape()[axis] == shape[axis] {
        return Ok(g.clone());
    }
    Ok(g.try_embed_along(shape, axis, start)?)
}

struct NarrowBackward {
    shape: Vec<usize>,
    axis: usize,
    start: usize,
}
impl BackwardOp for NarrowBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(embed_along(
            g,
            &self.shape,
            self.axis,
            self.start,
        )?)])
    }
    fn name(&self) -> &'static str {
        "narrow"
    }
}

struct ConcatBackward {
    axis: usize,
    sizes: Vec<usize>,
    stacked: bool,
}
impl BackwardOp for ConcatBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let mut start = 0;
        let mut out = Vec::with_capacity(self.sizes.len());
        for (input, &len) in inputs.iter().zip(&self.sizes) {
            if input.requires_grad() {
                let piece = g.try_narrow(self.axis, start, len)?;
                let piece = if self.stacked {
                    piece.try_squeeze(self.axis)?
                } else {
                    piece
                };
                out.push(Some(piece));
            } else {
                out.push(None);
            }
            start += len;
        }
        Ok(out)
    }
    fn name(&self) -> &'static str {
        if self.stacked {
            "stack"
        } else {
            "concat"
        }
    }
}

impl Var {
    fn reshaped(&self, v: Tensor, name: &'static str) -> Var {
        let shape = self.shape();
        Var::record(v, &[self], || ReshapeBackward { shape, name })
    }

    /// The same elements in a new shape (row-major order).
    pub fn reshape(&self, shape: &[usize]) -> Result<Var> {
        let v = self.with_value(|t| t.try_reshape(shape))?;
        Ok(self.reshaped(v, "reshape"))
    }

    /// Merges axes `start..=end` into one.
    pub fn flatten(&self, start: usize, end: usize) -> Result<Var> {
        let v = self.with_value(|t| t.try_flatten(start, end))?;
        Ok(self.reshaped(v, "flatten"))
    }

    /// Removes size-1 axis `axis`.
    pub fn squeeze(&self, axis: usize) -> Result<Var> {
        let v = self.with_value(|t| t.try_squeeze(axis))?;
        Ok(self.reshaped(v, "squeeze"))
    }

    /// Inserts a size-1 axis at `axis`.
    pub fn unsqueeze(&self, axis: usize) -> Result<Var> {
        let v = self.with_value(|t| t.try_unsqueeze(axis))?;
        Ok(self.reshaped(v, "unsqueeze"))
    }

    /// Reorders the axes: output axis `i` is input axis `axes[i]`.
    pub fn permute(&self, axes: &[usize]) -> Result<Var> {
        let v = self.with_value(|t| t.try_permute(axes))?;
        let mut inverse = vec![0; axes.len()];
        for (i, &a) in axes.iter().enumerate() {
            inverse[a] = i;
        }
        Ok(Var::record(v, &[self], || PermuteBackward { inverse }))
    }

    /// Swaps axes `a` and `b`.
    pub fn transpose(&self, a: usize, b: usize) -> Result<Var> {
        let rank = self.with_value(Tensor::rank);
        if a >= rank || b >= rank {
            return Err(AutogradError::Tensor(
                glassbox_tensor::TensorError::InvalidAxis {
                    op: "transpose",
                    axis: a.max(b),
                    rank,
                    shape: self.shape(),
                },
            ));
        }
        let mut axes: Vec<usize> = (0..rank).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// Transpose of a 2-D value.
    pub fn t(&self) -> Result<Var> {
        let rank = self.with_value(Tensor::rank);
        if rank != 2 {
            return Err(AutogradError::invalid(
                "t",
                format!("needs a 2-D value, got shape {:?}", self.shape()),
            ));
        }
        self.transpose(0, 1)
    }

    /// Broadcasts to `shape` (NumPy rules); the gradient is summed back.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Var> {
        let v = self.with_value(|t| t.try_broadcast_to(shape))?;
        let shape = self.shape();
        Ok(Var::record(v, &[self], || BroadcastBackward { shape }))
    }

    /// The slice `start..start + len` along `axis`.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Var> {
        let v = self.with_value(|t| t.try_narrow(axis, start, len))?;
        let shape = self.shape();
        Ok(Var::record(v, &[self], || NarrowBackward {
            shape,
            axis,
            start,
        }))
    }

    /// Joins values along an existing axis; all other axes must agree.
    pub fn concat(vars: &[Var], axis: usize) -> Result<Var> {
        let values: Vec<Tensor> = vars.iter().map(Var::value).collect();
        let refs: Vec<&Tensor> = values.iter().collect();
        let v = Tensor::try_concat(&refs, axis)?;
        let sizes = values.iter().map(|t| t.shape()[axis]).collect();
        let inputs: Vec<&Var> = vars.iter().collect();
        Ok(Var::record(v, &inputs, || ConcatBackward {
            axis,
            sizes,
            stacked: false,
        }))
    }

    /// Joins same-shaped values along a new axis `axis`.
    pub fn stack(vars: &[Var], axis: usize) -> Result<Var> {
        let values: Vec<Tensor> = vars.iter().map(Var::value).collect();
        let refs: Vec<&Tensor> = values.iter().collect();
        let v = Tensor::try_stack(&refs, axis)?;
        let inputs: Vec<&Var> = vars.iter().collect();
        Ok(Var::record(v, &inputs, || ConcatBackward {
            axis,
            sizes: vec![1; vars.len()],
            stacked: true,
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
    fn narrow_and_concat_route_gradients() {
        let a = Var::parameter(t(&[1., 2., 3., 4.], &[4]));
        let b = Var::parameter(t(&[5., 6.], &[2]));
        let c = Var::concat(&[a.clone(), b.clone()], 0).unwrap();
        let n = c.narrow(0, 3, 2).unwrap();
        assert_eq!(n.value().to_vec(), vec![4., 5.]);
        n.backward_with(&t(&[10., 20.], &[2])).unwrap();
        assert_eq!(a.grad().unwrap().to_vec(), vec![0., 0., 0., 10.]);
        assert_eq!(b.grad().unwrap().to_vec(), vec![20., 0.]);
    }

    #[test]
    fn permute_and_broadcast() {
        let x = Var::parameter(t(&[1., 2., 3., 4., 5., 6.], &[2, 3]));
        let p = x.permute(&[1, 0]).unwrap();
        assert_eq!(p.shape(), vec![3, 2]);
        p.backward_with(&t(&[1., 2., 3., 4., 5., 6.], &[3, 2]))
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![1., 3., 5., 2., 4., 6.]);
        let r = Var::parameter(t(&[1., 2.], &[2, 1]));
        r.broadcast_to(&[2, 3])
            .unwrap()
            .sum_all()
            .backward()
            .unwrap();
        assert_eq!(r.grad().unwrap().to_vec(), vec![3., 3.]);
    }

    #[test]
    fn stack_squeezes_back() {
        let a = Var::parameter(t(&[1., 2.], &[2]));
        let b = Var::constant(t(&[3., 4.], &[2]));
        let s = Var::stack(&[a.clone(), b], 1).unwrap();
        assert_eq!(s.shape(), vec![2, 2]);
        s.backward_with(&t(&[1., 2., 3., 4.], &[2, 2])).unwrap();
        assert_eq!(a.grad().unwrap().to_vec(), vec![1., 3.]);
    }
}
