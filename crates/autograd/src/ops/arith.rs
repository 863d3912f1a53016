//! Arithmetic: broadcasting binary ops, scalar ops and powers.

use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::op::BackwardOp;
use crate::ops::{grad_for, sum_to, zip_grad};
use crate::var::Var;

struct AddBackward;
impl BackwardOp for AddBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![grad_for(&inputs[0], g)?, grad_for(&inputs[1], g)?])
    }
    fn name(&self) -> &'static str {
        "add"
    }
}

struct SubBackward;
impl BackwardOp for SubBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let rhs = if inputs[1].requires_grad() {
            Some(sum_to(&g.map(|x| -x), &inputs[1].shape())?)
        } else {
            None
        };
        Ok(vec![grad_for(&inputs[0], g)?, rhs])
    }
    fn name(&self) -> &'static str {
        "sub"
    }
}

struct MulBackward {
    a: Tensor,
    b: Tensor,
}
impl BackwardOp for MulBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let da = if inputs[0].requires_grad() {
            Some(sum_to(&g.try_mul(&self.b)?, self.a.shape())?)
        } else {
            None
        };
        let db = if inputs[1].requires_grad() {
            Some(sum_to(&g.try_mul(&self.a)?, self.b.shape())?)
        } else {
            None
        };
        Ok(vec![da, db])
    }
    fn name(&self) -> &'static str {
        "mul"
    }
}

struct DivBackward {
    a: Tensor,
    b: Tensor,
}
impl BackwardOp for DivBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let da = if inputs[0].requires_grad() {
            Some(sum_to(&g.try_div(&self.b)?, self.a.shape())?)
        } else {
            None
        };
        let db = if inputs[1].requires_grad() {
            // d(a/b)/db = -a / b²
            let q = self
                .a
                .try_zip_with(&self.b, "div_backward", |a, b| -a / (b * b))?;
            Some(sum_to(&g.try_mul(&q)?, self.b.shape())?)
        } else {
            None
        };
        Ok(vec![da, db])
    }
    fn name(&self) -> &'static str {
        "div"
    }
}

struct PowBackward {
    a: Tensor,
    b: Tensor,
    out: Tensor,
}
impl BackwardOp for PowBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let da = if inputs[0].requires_grad() {
            // b · a^(b−1), taken as 0 where b == 0 (PyTorch's convention).
            let d = self.a.try_zip_with(&self.b, "pow_backward", |a, b| {
                if b == 0.0 {
                    0.0
                } else {
                    b * a.powf(b - 1.0)
                }
            })?;
            Some(sum_to(&g.try_mul(&d)?, self.a.shape())?)
        } else {
            None
        };
        let db = if inputs[1].requires_grad() {
            // a^b · ln a, taken as 0 where a == 0 (PyTorch's convention).
            let d = self.out.try_zip_with(&self.a, "pow_backward", |o, a| {
                if a == 0.0 {
                    0.0
                } else {
                    o * a.ln()
                }
            })?;
            Some(sum_to(&g.try_mul(&d)?, self.b.shape())?)
        } else {
            None
        };
        Ok(vec![da, db])
    }
    fn name(&self) -> &'static str {
        "pow"
    }
}

/// Elementwise maximum / minimum: the gradient goes to the selected operand; on ties it is
/// split evenly between both (PyTorch's rule for `torch.maximum` / `torch.minimum`).
struct ExtremumBackward {
    a: Tensor,
    b: Tensor,
    max: bool,
}
impl BackwardOp for ExtremumBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let max = self.max;
        // weight of operand a: 1 if it wins, 0.5 on a tie, 0 otherwise
        let wa = self.a.try_zip_with(&self.b, self.name(), move |a, b| {
            if a == b {
                0.5
            } else if (a > b) == max {
                1.0
            } else {
                0.0
            }
        })?;
        let da = if inputs[0].requires_grad() {
            Some(sum_to(&g.try_mul(&wa)?, self.a.shape())?)
        } else {
            None
        };
        let db = if inputs[1].requires_grad() {
            let wb = wa.map(|w| 1.0 - w);
            Some(sum_to(&g.try_mul(&wb)?, self.b.shape())?)
        } else {
            None
        };
        Ok(vec![da, db])
    }
    fn name(&self) -> &'static str {
        if self.max {
            "maximum"
        } else {
            "minimum"
        }
    }
}

struct ScaleBackward {
    c: f32,
}
impl BackwardOp for ScaleBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let c = self.c;
        Ok(vec![Some(g.map(move |x| x * c))])
    }
    fn name(&self) -> &'static str {
        "mul_scalar"
    }
}

struct IdentityBackward {
    name: &'static str,
}
impl BackwardOp for IdentityBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.clone())])
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

struct PowfBackward {
    x: Tensor,
    p: f32,
}
impl BackwardOp for PowfBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let p = self.p;
        // The common exponents skip `powf` (a libm call per element).
        let d = if p == 2.0 {
            zip_grad(&self.x, g, "powf_backward", |x, g| 2.0 * g * x)?
        } else if p == 1.0 {
            g.clone()
        } else {
            zip_grad(&self.x, g, "powf_backward", move |x, g| {
                if p == 0.0 {
                    0.0
                } else {
                    g * p * x.powf(p - 1.0)
                }
            })?
        };
        Ok(vec![Some(d)])
    }
    fn name(&self) -> &'static str {
        "powf"
    }
}

impl Var {
    /// `self + rhs` with broadcasting.
    pub fn add(&self, rhs: &Var) -> Result<Var> {
        let v = self.with_value(|a| rhs.with_value(|b| a.try_add(b)))?;
        Ok(Var::record(v, &[self, rhs], || AddBackward))
    }

    /// `self - rhs` with broadcasting.
    pub fn sub(&self, rhs: &Var) -> Result<Var> {
        let v = self.with_value(|a| rhs.with_value(|b| a.try_sub(b)))?;
        Ok(Var::record(v, &[self, rhs], || SubBackward))
    }

    /// `self * rhs` (elementwise) with broadcasting.
    pub fn mul(&self, rhs: &Var) -> Result<Var> {
        let (a, b) = (self.value(), rhs.value());
        let v = a.try_mul(&b)?;
        Ok(Var::record(v, &[self, rhs], || MulBackward { a, b }))
    }

    /// `self / rhs` (elementwise) with broadcasting.
    pub fn div(&self, rhs: &Var) -> Result<Var> {
        let (a, b) = (self.value(), rhs.value());
        let v = a.try_div(&b)?;
        Ok(Var::record(v, &[self, rhs], || DivBackward { a, b }))
    }

    /// `self ^ rhs` (elementwise) with broadcasting. The gradient with respect to the
    /// exponent is `a^b · ln a` (0 where `a == 0`); it is NaN where `a < 0`, as in PyTorch.
    pub fn pow(&self, rhs: &Var) -> Result<Var> {
        let (a, b) = (self.value(), rhs.value());
        let v = a.try_pow(&b)?;
        let out = v.clone();
        Ok(Var::record(v, &[self, rhs], || PowBackward { a, b, out }))
    }

    /// Elementwise maximum with broadcasting; on ties the gradient is split evenly.
    pub fn maximum(&self, rhs: &Var) -> Result<Var> {
        let (a, b) = (self.value(), rhs.value());
        let v = a.try_maximum(&b)?;
        Ok(Var::record(v, &[self, rhs], || ExtremumBackward {
            a,
            b,
            max: true,
        }))
    }

    /// Elementwise minimum with broadcasting; on ties the gradient is split evenly.
    pub fn minimum(&self, rhs: &Var) -> Result<Var> {
        let (a, b) = (self.value(), rhs.value());
        let v = a.try_minimum(&b)?;
        Ok(Var::record(v, &[self, rhs], || ExtremumBackward {
            a,
            b,
            max: false,
        }))
    }

    /// `-self`.
    pub fn neg(&self) -> Var {
        self.mul_scalar(-1.0)
    }

    /// `self * c`.
    pub fn mul_scalar(&self, c: f32) -> Var {
        let v = self.with_value(|t| t.map(move |x| x * c));
        Var::record(v, &[self], || ScaleBackward { c })
    }

    /// `self / c`.
    pub fn div_scalar(&self, c: f32) -> Var {
        self.mul_scalar(1.0 / c)
    }

    /// `self + c`.
    pub fn add_scalar(&self, c: f32) -> Var {
        let v = self.with_value(|t| t.map(move |x| x + c));
        Var::record(v, &[self], || IdentityBackward { name: "add_scalar" })
    }

    /// `self ^ p` for a constant exponent.
    pub fn powf(&self, p: f32) -> Var {
        let x = self.value();
        let v = if p == 2.0 {
            x.map(|e| e * e)
        } else {
            x.map(move |e| e.powf(p))
        };
        Var::record(v, &[self], || PowfBackward { x, p })
    }

    /// `self²`.
    pub fn square(&self) -> Var {
        self.powf(2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], s: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn broadcast_add_mul_grads_by_hand() {
        // y = sum((a + b) * a) with a [2,2], b [2] broadcast over rows:
        // dy/da = 2a + b, dy/db = sum over rows of a.
        let a = Var::parameter(t(&[1., 2., 3., 4.], &[2, 2]));
        let b = Var::parameter(t(&[10., 20.], &[2]));
        let y = a.add(&b).unwrap().mul(&a).unwrap().sum_all();
        y.backward().unwrap();
        assert_eq!(a.grad().unwrap().to_vec(), vec![12., 24., 16., 28.]);
        assert_eq!(b.grad().unwrap().to_vec(), vec![4., 6.]);
    }

    #[test]
    fn div_sub_pow_by_hand() {
        let a = Var::parameter(t(&[2.0], &[1]));
        let b = Var::parameter(t(&[4.0], &[1]));
        // d(a/b)/da = 1/b = 0.25, d/db = -a/b² = -0.125
        a.div(&b).unwrap().sum_all().backward().unwrap();
        assert_eq!(a.grad().unwrap().to_vec(), vec![0.25]);
        assert_eq!(b.grad().unwrap().to_vec(), vec![-0.125]);
        a.zero_grad();
        b.zero_grad();
        // a^b = 16: d/da = b a^(b-1) = 32, d/db = 16 ln 2
        a.pow(&b).unwrap().sum_all().backward().unwrap();
        assert!((a.grad().unwrap().to_vec()[0] - 32.0).abs() < 1e-4);
        assert!((b.grad().unwrap().to_vec()[0] - 16.0 * 2f32.ln()).abs() < 1e-4);
        a.zero_grad();
        b.zero_grad();
        a.sub(&b).unwrap().sum_all().backward().unwrap();
        assert_eq!(b.grad().unwrap().to_vec(), vec![-1.0]);
    }

    #[test]
    fn maximum_splits_ties() {
        let a = Var::parameter(t(&[1., 5., 3.], &[3]));
        let b = Var::parameter(t(&[2., 4., 3.], &[3]));
        a.maximum(&b).unwrap().sum_all().backward().unwrap();
        assert_eq!(a.grad().unwrap().to_vec(), vec![0., 1., 0.5]);
        assert_eq!(b.grad().unwrap().to_vec(), vec![1., 0., 0.5]);
    }

    #[test]
    fn shape_errors_are_typed() {
        let a = Var::parameter(Tensor::zeros(&[2, 3]));
        let b = Var::parameter(Tensor::zeros(&[4]));
        let e = a.add(&b).unwrap_err();
        assert!(e.to_string().contains("[2, 3]"), "{e}");
    }
}
