//! Reductions: sum, mean, var, max, min and logsumexp over any set of axes.
//!
//! **Ties in `max_axes` / `min_axes`** follow PyTorch's `amax` / `amin`: the gradient is
//! split evenly between all elements equal to the extremum. (PyTorch's `max(dim)`, which
//! also returns indices, sends it to a single index instead; glassbox does not have that
//! variant, use [`gather`](crate::Var::gather) with `Tensor::try_argmax` for it.)

use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::op::BackwardOp;
use crate::var::Var;

/// The shape of a reduction's output with `keepdim = true`.
fn keep_shape(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
        .collect()
}

/// Broadcasts a reduced gradient (or reduced value) back over the input's shape.
fn expand(g: &Tensor, input_shape: &[usize], axes: &[usize]) -> Result<Tensor> {
    let k = keep_shape(input_shape, axes);
    let g = if g.shape() == k.as_slice() {
        g.clone()
    } else {
        g.try_reshape(&k)?
    };
    Ok(g.try_broadcast_to(input_shape)?)
}

fn all_axes(rank: usize) -> Vec<usize> {
    (0..rank).collect()
}

struct SumBackward {
    shape: Vec<usize>,
    axes: Vec<usize>,
    scale: f32,
    name: &'static str,
}
impl BackwardOp for SumBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let g = if self.scale == 1.0 {
            g.clone()
        } else {
            g.mul_scalar(self.scale)
        };
        Ok(vec![Some(expand(&g, &self.shape, &self.axes)?)])
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

struct VarBackward {
    x: Tensor,
    axes: Vec<usize>,
    denom: f32,
}
impl BackwardOp for VarBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        // d var / dx = 2 (x − mean) / (N − correction)
        let mean = self.x.try_mean_axes(&self.axes, true)?;
        let centered = self.x.try_sub(&mean)?;
        let ge = expand(g, self.x.shape(), &self.axes)?;
        let k = 2.0 / self.denom;
        Ok(vec![Some(centered.try_mul(&ge)?.mul_scalar(k))])
    }
    fn name(&self) -> &'static str {
        "var_axes"
    }
}

struct ExtremumBackward {
    x: Tensor,
    out_keep: Tensor,
    axes: Vec<usize>,
    name: &'static str,
}
impl BackwardOp for ExtremumBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let mask = self.x.try_eq(&self.out_keep)?;
        let count = mask.try_sum_axes(&self.axes, true)?;
        let ge = expand(g, self.x.shape(), &self.axes)?;
        Ok(vec![Some(mask.try_mul(&ge)?.try_div(&count)?)])
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

struct LogsumexpBackward {
    x: Tensor,
    out_keep: Tensor,
    axes: Vec<usize>,
}
impl BackwardOp for LogsumexpBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let p = self.x.try_sub(&self.out_keep)?.exp();
        let ge = expand(g, self.x.shape(), &self.axes)?;
        Ok(vec![Some(p.try_mul(&ge)?)])
    }
    fn name(&self) -> &'static str {
        "logsumexp_axes"
    }
}

impl Var {
    fn sum_like(&self, axes: &[usize], keepdim: bool, mean: bool) -> Result<Var> {
        let x = self.value();
        let (v, name) = if mean {
            (x.try_mean_axes(axes, keepdim)?, "mean_axes")
        } else {
            (x.try_sum_axes(axes, keepdim)?, "sum_axes")
        };
        let n: usize = axes.iter().map(|&a| x.shape()[a]).product();
        let scale = if mean { 1.0 / n as f32 } else { 1.0 };
        Ok(Var::record(v, &[self], || SumBackward {
            shape: x.shape().to_vec(),
            axes: axes.to_vec(),
            scale,
            name,
        }))
    }

    /// Sum over `axes`, keeping them as size-1 axes if `keepdim`.
    pub fn sum_axes(&self, axes: &[usize], keepdim: bool) -> Result<Var> {
        self.sum_like(axes, keepdim, false)
    }

    /// Mean over `axes`, keeping them as size-1 axes if `keepdim`.
    pub fn mean_axes(&self, axes: &[usize], keepdim: bool) -> Result<Var> {
        self.sum_like(axes, keepdim, true)
    }

    /// Sum of all elements, as a rank-0 value (the usual loss reduction).
    pub fn sum_all(&self) -> Var {
        let rank = self.with_value(Tensor::rank);
        let axes = all_axes(rank);
        // Reducing over every (valid) axis cannot fail.
        let x = self.value();
        let v = Tensor::scalar(x.sum_all());
        Var::record(v, &[self], || SumBackward {
            shape: x.shape().to_vec(),
            axes,
            scale: 1.0,
            name: "sum_all",
        })
    }

    /// Mean of all elements, as a rank-0 value.
    pub fn mean_all(&self) -> Var {
        let x = self.value();
        let n = x.len();
        let v = Tensor::scalar(x.mean_all());
        Var::record(v, &[self], || SumBackward {
            shape: x.shape().to_vec(),
            axes: all_axes(x.rank()),
            scale: 1.0 / n as f32,
            name: "mean_all",
        })
    }

    /// Variance over `axes` with `correction` (0 = population, 1 = unbiased, PyTorch's
    /// default).
    pub fn var_axes(&self, axes: &[usize], correction: usize, keepdim: bool) -> Result<Var> {
        let x = self.value();
        let v = x.try_var_axes(axes, correction, keepdim)?;
        let n: usize = axes.iter().map(|&a| x.shape()[a]).product();
        let denom = n.saturating_sub(correction) as f32;
        Ok(Var::record(v, &[self], || VarBackward {
            x,
            axes: axes.to_vec(),
            denom,
        }))
    }

    fn extremum(&self, axes: &[usize], keepdim: bool, max: bool) -> Result<Var> {
        let x = self.value();
        let (out_keep, name) = if max {
            (x.try_max_axes(axes, true)?, "max_axes")
        } else {
            (x.try_min_axes(axes, true)?, "min_axes")
        };
        let v = if keepdim {
            out_keep.clone()
        } else {
            let mut s = x.shape().to_vec();
            let mut sorted = axes.to_vec();
            sorted.sort_unstable();
            for &a in sorted.iter().rev() {
                s.remove(a);
            }
            out_keep.try_reshape(&s)?
        };
        Ok(Var::record(v, &[self], || ExtremumBackward {
            x,
            out_keep,
            axes: axes.to_vec(),
            name,
        }))
    }

    /// Maximum over `axes` (PyTorch's `amax`): on ties the gradient is split evenly.
    pub fn max_axes(&self, axes: &[usize], keepdim: bool) -> Result<Var> {
        self.extremum(axes, keepdim, true)
    }

    /// Minimum over `axes` (PyTorch's `amin`): on ties the gradient is split evenly.
    pub fn min_axes(&self, axes: &[usize], keepdim: bool) -> Result<Var> {
        self.extremum(axes, keepdim, false)
    }

    /// `log Σ exp(x)` over `axes` (stable); its gradient is the softmax over `axes`.
    pub fn logsumexp_axes(&self, axes: &[usize], keepdim: bool) -> Result<Var> {
        let x = self.value();
        let out_keep = x.try_logsumexp_axes(axes, true)?;
        let v = if keepdim {
            out_keep.clone()
        } else {
            x.try_logsumexp_axes(axes, false)?
        };
        Ok(Var::record(v, &[self], || LogsumexpBackward {
            x,
            out_keep,
            axes: axes.to_vec(),
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
    fn sum_mean_by_hand() {
        let x = Var::parameter(t(&[1., 2., 3., 4., 5., 6.], &[2, 3]));
        let y = x.sum_axes(&[1], false).unwrap();
        assert_eq!(y.value().to_vec(), vec![6., 15.]);
        y.backward_with(&t(&[1., 10.], &[2])).unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![1., 1., 1., 10., 10., 10.]);
        x.zero_grad();
        x.mean_axes(&[0], true)
            .unwrap()
            .sum_all()
            .backward()
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.5; 6]);
    }

    #[test]
    fn max_ties_split_evenly() {
        let x = Var::parameter(t(&[3., 1., 3., 2., 5., 0.], &[2, 3]));
        x.max_axes(&[1], false)
            .unwrap()
            .sum_all()
            .backward()
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.5, 0., 0.5, 0., 1., 0.]);
        x.zero_grad();
        x.min_axes(&[0, 1], false).unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0., 0., 0., 0., 0., 1.]);
    }

    #[test]
    fn var_by_hand() {
        // var([1, 3]) unbiased = 2; d/dx = 2 (x − 2) / 1 = [-2, 2]
        let x = Var::parameter(t(&[1., 3.], &[2]));
        let v = x.var_axes(&[0], 1, false).unwrap();
        assert_eq!(v.value().to_vec(), vec![2.0]);
        v.backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![-2., 2.]);
    }
}
