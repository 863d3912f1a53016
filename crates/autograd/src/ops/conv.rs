//! Convolutions (PyTorch layout: NCHW / NCL inputs, `[out, in/groups, kh, kw]` weights)
//! with stride, padding, dilation and groups. The backward calls the tensor crate's fused
//! `conv*_backward` kernel once for all wanted gradients (input, weight, bias): an input
//! that needs no gradient (e.g. the network's constant input) is never computed.

use glassbox_tensor::conv::{self as k, Conv1dParams, Conv2dParams, ConvGrads, ConvGradsWanted};
use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::op::BackwardOp;
use crate::var::Var;

/// Which of a convolution's inputs `[x, weight, bias?]` need a gradient.
fn wanted(inputs: &[Var]) -> ConvGradsWanted {
    ConvGradsWanted {
        input: inputs[0].requires_grad(),
        weight: inputs[1].requires_grad(),
        bias: inputs.get(2).is_some_and(Var::requires_grad),
    }
}

/// The backward's output list `[dx, dw, db?]` (`db` only when the op had a bias input).
fn grads_list(g: ConvGrads, inputs: &[Var]) -> Vec<Option<Tensor>> {
    let mut out = vec![g.input, g.weight];
    if inputs.len() > 2 {
        out.push(g.bias);
    }
    out
}

struct Conv2dBackward {
    x: Tensor,
    w: Tensor,
    params: Conv2dParams,
}
impl BackwardOp for Conv2dBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let grads = k::conv2d_backward(g, &self.x, &self.w, &self.params, wanted(inputs))?;
        Ok(grads_list(grads, inputs))
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
        let grads = k::conv1d_backward(g, &self.x, &self.w, &self.params, wanted(inputs))?;
        Ok(grads_list(grads, inputs))
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
