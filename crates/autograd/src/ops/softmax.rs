//! Softmax and log-softmax along one axis.

use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::op::BackwardOp;
use crate::var::Var;

struct SoftmaxBackward {
    y: Tensor,
    axis: usize,
    log: bool,
}
impl BackwardOp for SoftmaxBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let dx = if self.log {
            // y = log softmax: dx = g − softmax · Σ g
            let s = g.try_sum_axes(&[self.axis], true)?;
            g.try_sub(&self.y.exp().try_mul(&s)?)?
        } else {
            // y = softmax: dx = y · (g − Σ g·y)
            let gy = g.try_mul(&self.y)?;
            let s = gy.try_sum_axes(&[self.axis], true)?;
            gy.try_sub(&self.y.try_mul(&s)?)?
        };
        Ok(vec![Some(dx)])
    }
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
}

impl Var {
    /// `exp(x) / Σ exp(x)` along `axis`.
    pub fn softmax(&self, axis: usize) -> Result<Var> {
        let y = self.with_value(|t| t.try_softmax(axis))?;
        let saved = y.clone();
        Ok(Var::record(y, &[self], || SoftmaxBackward {
            y: saved,
            axis,
            log: false,
        }))
    }

    /// `x − log Σ exp(x)` along `axis` (stable).
    pub fn log_softmax(&self, axis: usize) -> Result<Var> {
        let y = self.with_value(|t| t.try_log_softmax(axis))?;
        let saved = y.clone();
        Ok(Var::record(y, &[self], || SoftmaxBackward {
            y: saved,
            axis,
            log: true,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_gradient_of_one_output() {
        // d softmax_0 / dx_j = s_0 (δ_0j − s_j); for x = [0, 0]: [0.25, −0.25]
        let x = Var::parameter(Tensor::zeros(&[1, 2]));
        let s = x.softmax(1).unwrap();
        s.backward_with(&Tensor::from_vec(vec![1.0, 0.0], &[1, 2]).unwrap())
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.25, -0.25]);
        x.zero_grad();
        // d log_softmax_0 / dx = δ_0j − s_j = [0.5, −0.5]
        let l = x.log_softmax(1).unwrap();
        l.backward_with(&Tensor::from_vec(vec![1.0, 0.0], &[1, 2]).unwrap())
            .unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.5, -0.5]);
    }
}
