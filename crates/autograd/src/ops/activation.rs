//! Activations: relu, leaky_relu, elu, gelu (erf and tanh forms), sigmoid, tanh, silu,
//! softplus. Forwards and derivatives are `glassbox-tensor` kernels; derivatives at kinks
//! follow PyTorch (relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha).

use glassbox_tensor::Tensor;

use crate::ops::unary::{Params, Saved};
use crate::var::Var;

impl Var {
    /// `max(x, 0)`.
    pub fn relu(&self) -> Var {
        self.unary(
            "relu",
            Tensor::relu,
            Saved::Input,
            |x, _| x.step(),
            Params::default(),
        )
    }

    /// `x` for `x > 0`, else `slope · x` (PyTorch's default slope is 0.01).
    pub fn leaky_relu(&self, slope: f32) -> Var {
        self.unary(
            "leaky_relu",
            |x| x.leaky_relu(slope),
            Saved::Input,
            |x, p| x.leaky_relu_grad(p.a),
            Params { a: slope, b: 0.0 },
        )
    }

    /// `x` for `x > 0`, else `alpha · (e^x − 1)` (PyTorch's default alpha is 1).
    pub fn elu(&self, alpha: f32) -> Var {
        self.unary(
            "elu",
            |x| x.elu(alpha),
            Saved::Input,
            |x, p| x.elu_grad(p.a),
            Params { a: alpha, b: 0.0 },
        )
    }

    /// GELU, exact form `x · Φ(x)` (PyTorch's default `approximate='none'`).
    pub fn gelu(&self) -> Var {
        self.unary(
            "gelu",
            Tensor::gelu,
            Saved::Input,
            |x, _| x.gelu_grad(),
            Params::default(),
        )
    }

    /// GELU, tanh approximation (PyTorch's `approximate='tanh'`).
    pub fn gelu_tanh(&self) -> Var {
        self.unary(
            "gelu_tanh",
            Tensor::gelu_tanh,
            Saved::Input,
            |x, _| x.gelu_tanh_grad(),
            Params::default(),
        )
    }

    /// Logistic sigmoid `1 / (1 + e^−x)`.
    pub fn sigmoid(&self) -> Var {
        self.unary(
            "sigmoid",
            Tensor::sigmoid,
            Saved::Output,
            |y, _| y.map(|s| s * (1.0 - s)),
            Params::default(),
        )
    }

    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Var {
        self.unary(
            "tanh",
            Tensor::tanh,
            Saved::Output,
            |y, _| y.map(|t| 1.0 - t * t),
            Params::default(),
        )
    }

    /// SiLU / swish: `x · sigmoid(x)`.
    pub fn silu(&self) -> Var {
        self.unary(
            "silu",
            Tensor::silu,
            Saved::Input,
            |x, _| x.silu_grad(),
            Params::default(),
        )
    }

    /// Softplus `ln(1 + e^x)`, linear above 20 (PyTorch's defaults β = 1, threshold = 20).
    /// For another β use `x.mul_scalar(beta).softplus().div_scalar(beta)`, which is exactly
    /// PyTorch's `softplus(x, beta)` with threshold 20.
    pub fn softplus(&self) -> Var {
        self.unary(
            "softplus",
            Tensor::softplus,
            Saved::Input,
            |x, _| x.softplus_grad(),
            Params::default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinks_follow_pytorch() {
        let x = Var::parameter(Tensor::from_vec(vec![-1.0, 0.0, 2.0], &[3]).unwrap());
        x.relu().sum_all().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.0, 1.0]);
        x.zero_grad();
        x.leaky_relu(0.1).sum_all().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.1, 0.1, 1.0]);
        x.zero_grad();
        x.elu(2.0).sum_all().backward().unwrap();
        let g = x.grad().unwrap().to_vec();
        assert!((g[0] - 2.0 * (-1f32).exp()).abs() < 1e-6 && g[1] == 2.0 && g[2] == 1.0);
    }

    #[test]
    fn sigmoid_tanh_by_hand() {
        let x = Var::parameter(Tensor::from_vec(vec![0.0], &[1]).unwrap());
        x.sigmoid().sum_all().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.25]);
        x.zero_grad();
        x.tanh().sum_all().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![1.0]);
    }
}
