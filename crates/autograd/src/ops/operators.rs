//! Arithmetic operators on `&Var`: `&a + &b`, `&a - &b`, `&a * &b`, `&a / &b` return
//! `Result<Var>` (shapes may not broadcast), `-&a` returns a `Var`.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::error::Result;
use crate::var::Var;

macro_rules! binary_operator {
    ($trait:ident, $method:ident) => {
        impl $trait<&Var> for &Var {
            type Output = Result<Var>;
            /// Broadcasting elementwise op recorded on the graph.
            fn $method(self, rhs: &Var) -> Result<Var> {
                Var::$method(self, rhs)
            }
        }
    };
}

binary_operator!(Add, add);
binary_operator!(Sub, sub);
binary_operator!(Mul, mul);
binary_operator!(Div, div);

impl Neg for &Var {
    type Output = Var;
    fn neg(self) -> Var {
        Var::neg(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_tensor::Tensor;

    #[test]
    fn operators_record_like_methods() {
        let a = Var::parameter(Tensor::from_vec(vec![2.0], &[1]).unwrap());
        let b = Var::parameter(Tensor::from_vec(vec![4.0], &[1]).unwrap());
        let y = (&(&(&a * &b).unwrap() + &a).unwrap() / &b).unwrap(); // (ab + a) / b
        let y = (&y - &(-&a)).unwrap(); // + a
        y.sum_all().backward().unwrap();
        // d/da = (b + 1)/b + 1 = 2.25; d/db = -a/b² = -0.125
        assert_eq!(a.grad().unwrap().to_vec(), vec![2.25]);
        assert_eq!(b.grad().unwrap().to_vec(), vec![-0.125]);
        let c = Var::parameter(Tensor::zeros(&[3]));
        assert!((&a.broadcast_to(&[2, 2]).unwrap() + &c).is_err());
    }
}
