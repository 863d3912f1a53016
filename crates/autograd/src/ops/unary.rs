//! Elementwise unary math (exp, ln, sqrt, abs, clamp, ...) and the shared machinery of
//! elementwise ops: the forward is a tensor kernel, the backward multiplies the output
//! gradient by a derivative tensor computed from the saved input or output.

use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::op::BackwardOp;
use crate::var::Var;

/// Constants of a parametrised elementwise op (slope, alpha, bounds...).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Params {
    pub(crate) a: f32,
    pub(crate) b: f32,
}

/// Which tensor the derivative is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Saved {
    Input,
    Output,
}

/// Computes `dy/dx` (shaped like the input) from the saved tensor.
pub(crate) type DerivFn = fn(&Tensor, Params) -> Tensor;

pub(crate) struct UnaryBackward {
    saved: Tensor,
    deriv: DerivFn,
    params: Params,
    name: &'static str,
}

impl BackwardOp for UnaryBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let d = (self.deriv)(&self.saved, self.params);
        Ok(vec![Some(g.try_mul(&d)?)])
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

impl Var {
    /// Applies the elementwise kernel `fwd`; the backward multiplies by `deriv(saved)`.
    pub(crate) fn unary(
        &self,
        name: &'static str,
        fwd: impl FnOnce(&Tensor) -> Tensor,
        saved: Saved,
        deriv: DerivFn,
        params: Params,
    ) -> Var {
        let x = self.value();
        let y = fwd(&x);
        let saved = match saved {
            Saved::Input => x,
            Saved::Output => y.clone(),
        };
        Var::record(y, &[self], || UnaryBackward {
            saved,
            deriv,
            params,
            name,
        })
    }

    /// `e^x`.
    pub fn exp(&self) -> Var {
        self.unary(
            "exp",
            Tensor::exp,
            Saved::Output,
            |y, _| y.clone(),
            Params::default(),
        )
    }

    /// Natural logarithm.
    pub fn ln(&self) -> Var {
        self.unary(
            "ln",
            Tensor::ln,
            Saved::Input,
            |x, _| x.recip(),
            Params::default(),
        )
    }

    /// `ln(1 + x)`.
    pub fn ln_1p(&self) -> Var {
        self.unary(
            "ln_1p",
            Tensor::ln_1p,
            Saved::Input,
            |x, _| x.map(|v| 1.0 / (1.0 + v)),
            Params::default(),
        )
    }

    /// Square root (gradient `1 / (2√x)`, infinite at 0).
    pub fn sqrt(&self) -> Var {
        self.unary(
            "sqrt",
            Tensor::sqrt,
            Saved::Output,
            |y, _| y.map(|v| 0.5 / v),
            Params::default(),
        )
    }

    /// Absolute value (gradient `sign(x)`, 0 at 0 as in PyTorch).
    pub fn abs(&self) -> Var {
        self.unary(
            "abs",
            Tensor::abs,
            Saved::Input,
            |x, _| x.sign(),
            Params::default(),
        )
    }

    /// Clamps to `[lo, hi]`; the gradient passes where `lo <= x <= hi` (PyTorch's rule).
    pub fn clamp(&self, lo: f32, hi: f32) -> Var {
        self.unary(
            "clamp",
            |x| x.clamp(lo, hi),
            Saved::Input,
            |x, p| x.clamp_mask(p.a, p.b),
            Params { a: lo, b: hi },
        )
    }

    /// Sine.
    pub fn sin(&self) -> Var {
        self.unary(
            "sin",
            Tensor::sin,
            Saved::Input,
            |x, _| x.cos(),
            Params::default(),
        )
    }

    /// Cosine.
    pub fn cos(&self) -> Var {
        self.unary(
            "cos",
            Tensor::cos,
            Saved::Input,
            |x, _| x.sin().neg(),
            Params::default(),
        )
    }

    /// `1 / x`.
    pub fn recip(&self) -> Var {
        self.unary(
            "recip",
            Tensor::recip,
            Saved::Output,
            |y, _| y.map(|v| -v * v),
            Params::default(),
        )
    }

    /// The error function.
    pub fn erf(&self) -> Var {
        self.unary(
            "erf",
            Tensor::erf,
            Saved::Input,
            |x, _| x.erf_grad(),
            Params::default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grad_of(x: &[f32], f: impl Fn(&Var) -> Var) -> Vec<f32> {
        let v = Var::parameter(Tensor::from_vec(x.to_vec(), &[x.len()]).unwrap());
        f(&v).sum_all().backward().unwrap();
        v.grad().unwrap().to_vec()
    }

    #[test]
    fn derivatives_by_hand() {
        let e = grad_of(&[0.0, 1.0], Var::exp);
        assert!((e[0] - 1.0).abs() < 1e-6 && (e[1] - std::f32::consts::E).abs() < 1e-5);
        assert_eq!(grad_of(&[2.0, 4.0], Var::ln), vec![0.5, 0.25]);
        assert_eq!(grad_of(&[4.0], Var::sqrt), vec![0.25]);
        assert_eq!(grad_of(&[-2.0, 0.0, 3.0], Var::abs), vec![-1.0, 0.0, 1.0]);
        assert_eq!(
            grad_of(&[-2.0, -1.0, 0.5, 1.0, 2.0], |v| v.clamp(-1.0, 1.0)),
            vec![0.0, 1.0, 1.0, 1.0, 0.0]
        );
        assert_eq!(grad_of(&[2.0], Var::recip), vec![-0.25]);
        assert_eq!(grad_of(&[1.0], Var::ln_1p), vec![0.5]);
        assert_eq!(grad_of(&[0.0], Var::sin), vec![1.0]);
        assert!((grad_of(&[0.0], Var::erf)[0] - std::f32::consts::FRAC_2_SQRT_PI).abs() < 1e-6);
    }
}
