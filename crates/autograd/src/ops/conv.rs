//! Convolutions (PyTorch layout: NCHW / NCL inputs, `[out, in/groups, kh, kw]` weights)
//! with stride, padding, dilation and groups. Backwards call the tensor crate's
//! `conv*_backward_input` / `conv*_backward_weight` / `conv_backward_bias` kernels.

use glassbox_tensor::conv::{self as k, Conv1dParams, Conv2dParams};
use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::op::BackwardOp;
use crate::var::Var;

/// The gradients of a convolution's inputs `[x, weight, bias?]`, each computed only when
/// that input requires one; conv1d and conv2d differ only in their two kernels.
fn conv_grads(
    g: &Tensor,
    inputs: &[Var],
    grad_input: impl FnOnce() -> glassbox_tensor::Result<Tensor>,
    grad_weight: impl FnOnce() -> glassbox_tensor::Result<Tensor>,
) -> Result<Vec<Option<Tensor>>> {
    let dx = if inputs[0].requires_grad() {
        Some(grad_input()?)
    } else {
        None
    };
    let dw = if inputs[1].requires_grad() {
        Some(grad_weight()?)
    } else {
        None
    };
    let mut out = vec![dx, dw];
    if let Some(b) = inputs.get(2) {
        out.push(if b.requires_grad() {
            Some(k::conv_backward_bias(g)?)
        } else {
            None
        });
    }
    Ok(out)
}

struct Conv2dBackward {
    x: Tensor,
    w: Tensor,
    params: Conv2dParams,
}
impl BackwardOp for Conv2dBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        conv_grads(
            g,
            inputs,
            || k::conv2d_backward_input(g, &self.w, self.x.shape(), &self.params),
            || k::conv2d_backward_weight(g, &self.x, self.w.shape(), &self.params),
        )
    }
    fn name(&self) -> &'static str {
        "conv2d"
    }
}

struct Conv1dBackward {
    x: Tensor,
    w: Tensor,
    params: Conv1dParams,
}
impl BackwardOp for Conv1dBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        conv_grads(
            g,
            inputs,
            || k::conv1d_backward_input(g, &self.w, self.x.shape(), &self.params),
            || k::conv1d_backward_weight(g, &self.x, self.w.shape(), &self.params),
        )
    }
    fn name(&self) -> &'static str {
        "conv1d"
    }
}

/// 2-D convolution (cross-correlation, as PyTorch): `x` `[N, C, H, W]`, `weight`
/// `[O, C/groups, kh, kw]`, optional `bias` `[O]`; returns `[N, O, OH, OW]`.
pub fn conv2d(x: &Var, weight: &Var, bias: Option<&Var>, params: &Conv2dParams) -> Result<Var> {
    let (xv, wv) = (x.value(), weight.value());
    let bv = bias.map(Var::value);
    let y = k::conv2d(&xv, &wv, bv.as_ref(), params)?;
    let params = *params;
    let make = || Conv2dBackward {
        x: xv,
        w: wv,
        params,
    };
    Ok(match bias {
        Some(b) => Var::record(y, &[x, weight, b], make),
        None => Var::record(y, &[x, weight], make),
    })
}

/// 1-D convolution: `x` `[N, C, L]`, `weight` `[O, C/groups, k]`, optional `bias` `[O]`;
/// returns `[N, O, OL]`.
pub fn conv1d(x: &Var, weight: &Var, bias: Option<&Var>, params: &Conv1dParams) -> Result<Var> {
    let (xv, wv) = (x.value(), weight.value());
    let bv = bias.map(Var::value);
    let y = k::conv1d(&xv, &wv, bv.as_ref(), params)?;
    let params = *params;
    let make = || Conv1dBackward {
        x: xv,
        w: wv,
        params,
    };
    Ok(match bias {
        Some(b) => Var::record(y, &[x, weight, b], make),
        None => Var::record(y, &[x, weight], make),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_by_one_conv_is_channel_mixing() {
        // 1×1 conv with weight [[2]] and bias 1: y = 2x + 1; dx = 2, dw = Σx, db = count.
        let x = Var::parameter(Tensor::from_vec(vec![1., 2., 3., 4.], &[1, 1, 2, 2]).unwrap());
        let w = Var::parameter(Tensor::from_vec(vec![2.0], &[1, 1, 1, 1]).unwrap());
        let b = Var::parameter(Tensor::from_vec(vec![1.0], &[1]).unwrap());
        let y = conv2d(&x, &w, Some(&b), &Conv2dParams::default()).unwrap();
        assert_eq!(y.value().to_vec(), vec![3., 5., 7., 9.]);
        y.sum_all().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![2.; 4]);
        assert_eq!(w.grad().unwrap().to_vec(), vec![10.0]);
        assert_eq!(b.grad().unwrap().to_vec(), vec![4.0]);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let x = Var::parameter(Tensor::zeros(&[1, 2, 4, 4]));
        let w = Var::parameter(Tensor::zeros(&[3, 5, 3, 3]));
        assert!(conv2d(&x, &w, None, &Conv2dParams::default()).is_err());
    }
}
