//! Pooling over NCHW (and NCL) inputs: max, average and adaptive average. Backwards call
//! the tensor crate's pooling backward kernels.
//!
//! **Max ties:** the forward records one index per window (the first maximum in row-major
//! window order, as PyTorch's `max_pool2d`), and the whole gradient goes to it.

use glassbox_tensor::pool::{self as k, Pool2dParams};
use glassbox_tensor::Tensor;
use ndarray::ArrayD;

use crate::error::{AutogradError, Result};
use crate::op::BackwardOp;
use crate::var::Var;

struct MaxPoolBackward {
    indices: ArrayD<usize>,
    shape: Vec<usize>,
}
impl BackwardOp for MaxPoolBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(k::max_pool2d_backward(
            g,
            &self.indices,
            &self.shape,
        )?)])
    }
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
}

struct AvgPoolBackward {
    shape: Vec<usize>,
    params: Pool2dParams,
}
impl BackwardOp for AvgPoolBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(k::avg_pool2d_backward(
            g,
            &self.shape,
            &self.params,
        )?)])
    }
    fn name(&self) -> &'static str {
        "avg_pool2d"
    }
}

struct AdaptiveAvgPoolBackward {
    shape: Vec<usize>,
}
impl BackwardOp for AdaptiveAvgPoolBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(k::adaptive_avg_pool2d_backward(g, &self.shape)?)])
    }
    fn name(&self) -> &'static str {
        "adaptive_avg_pool2d"
    }
}

/// Max pooling of `x` `[N, C, H, W]`.
pub fn max_pool2d(x: &Var, params: &Pool2dParams) -> Result<Var> {
    let xv = x.value();
    if !(crate::no_grad::is_grad_enabled() && x.requires_grad()) {
        // No graph will be recorded: skip the argmax indices.
        return Ok(Var::constant(k::max_pool2d_values(&xv, params)?));
    }
    let (y, indices) = k::max_pool2d(&xv, params)?;
    Ok(Var::record(y, &[x], || MaxPoolBackward {
        indices,
        shape: xv.shape().to_vec(),
    }))
}

/// Average pooling of `x` `[N, C, H, W]` (`count_include_pad` as in the params).
pub fn avg_pool2d(x: &Var, params: &Pool2dParams) -> Result<Var> {
    let xv = x.value();
    let y = k::avg_pool2d(&xv, params)?;
    let params = *params;
    Ok(Var::record(y, &[x], || AvgPoolBackward {
        shape: xv.shape().to_vec(),
        params,
    }))
}

/// Adaptive average pooling of `x` `[N, C, H, W]` to `[N, C, out.0, out.1]` (PyTorch's
/// window rule; `(1, 1)` is global average pooling).
pub fn adaptive_avg_pool2d(x: &Var, out: (usize, usize)) -> Result<Var> {
    let xv = x.value();
    let y = k::adaptive_avg_pool2d(&xv, out)?;
    Ok(Var::record(y, &[x], || AdaptiveAvgPoolBackward {
        shape: xv.shape().to_vec(),
    }))
}

/// Runs a 2-D pooling on `x` `[N, C, L]` viewed as `[N, C, 1, L]`.
fn pool1d(
    op: &'static str,
    x: &Var,
    kernel: usize,
    stride: usize,
    padding: usize,
    max: bool,
) -> Result<Var> {
    let shape = x.shape();
    if shape.len() != 3 {
        return Err(AutogradError::invalid(
            op,
            format!("expects [N, C, L] input, got shape {shape:?}"),
        ));
    }
    let p = Pool2dParams::new(1, kernel)
        .stride(1, stride)
        .padding(0, padding);
    let x4 = x.unsqueeze(2)?;
    let y = if max {
        max_pool2d(&x4, &p)?
    } else {
        avg_pool2d(&x4, &p)?
    };
    y.squeeze(2)
}

/// Max pooling of `x` `[N, C, L]` with window `kernel`, `stride` and `padding`.
pub fn max_pool1d(x: &Var, kernel: usize, stride: usize, padding: usize) -> Result<Var> {
    pool1d("max_pool1d", x, kernel, stride, padding, true)
}

/// Average pooling of `x` `[N, C, L]` (padded zeros count in the divisor, as PyTorch's
/// default).
pub fn avg_pool1d(x: &Var, kernel: usize, stride: usize, padding: usize) -> Result<Var> {
    pool1d("avg_pool1d", x, kernel, stride, padding, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_routes_to_the_maximum() {
        let x = Var::parameter(
            Tensor::from_vec(vec![1., 5., 2., 3., 0., 0., 7., 7.], &[1, 1, 2, 4]).unwrap(),
        );
        let y = max_pool2d(&x, &Pool2dParams::new(2, 2)).unwrap();
        assert_eq!(y.value().to_vec(), vec![5., 7.]);
        y.sum_all().backward().unwrap();
        // tie 7/7: the first in window order takes the gradient
        assert_eq!(
            x.grad().unwrap().to_vec(),
            vec![0., 1., 0., 0., 0., 0., 1., 0.]
        );
    }

    #[test]
    fn max_pool_without_a_graph_skips_indices_but_keeps_values() {
        let t = Tensor::from_vec(
            (0..32).map(|v| ((v * 7) % 11) as f32).collect(),
            &[1, 2, 4, 4],
        )
        .unwrap();
        let p = Pool2dParams::new(2, 2);
        let tracked = max_pool2d(&Var::parameter(t.clone()), &p).unwrap();
        let constant = max_pool2d(&Var::constant(t.clone()), &p).unwrap();
        let no_graph = crate::no_grad(|| max_pool2d(&Var::parameter(t.clone()), &p)).unwrap();
        assert!(tracked.requires_grad());
        assert!(!constant.requires_grad() && !no_graph.requires_grad());
        assert_eq!(constant.value().to_vec(), tracked.value().to_vec());
        assert_eq!(no_graph.value().to_vec(), tracked.value().to_vec());
    }

    #[test]
    fn avg_and_adaptive_spread_evenly() {
        let x = Var::parameter(Tensor::ones(&[1, 1, 2, 2]));
        avg_pool2d(&x, &Pool2dParams::new(2, 2))
            .unwrap()
            .sum_all()
            .backward()
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.25; 4]);
        x.zero_grad();
        adaptive_avg_pool2d(&x, (1, 1))
            .unwrap()
            .sum_all()
            .backward()
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.25; 4]);
    }

    #[test]
    fn pool1d_shapes() {
        let x = Var::parameter(Tensor::from_vec(vec![1., 3., 2., 4.], &[1, 1, 4]).unwrap());
        let y = max_pool1d(&x, 2, 2, 0).unwrap();
        assert_eq!(y.value().to_vec(), vec![3., 4.]);
        let a = avg_pool1d(&x, 2, 2, 0).unwrap();
        assert_eq!(a.value().to_vec(), vec![2., 3.]);
        assert!(max_pool1d(&Var::constant(Tensor::zeros(&[4])), 2, 2, 0).is_err());
    }
}
