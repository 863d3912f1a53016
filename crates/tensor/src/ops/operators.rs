//! `std::ops` operator impls. Tensor–tensor operators broadcast and panic on a shape
//! mismatch with the same message as the `try_*` method.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::tensor::Tensor;

macro_rules! binop {
    ($trait:ident, $method:ident, $try:ident, $scalar:expr) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                self.$try(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                $trait::$method(&self, &rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                $trait::$method(&self, rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                $trait::$method(self, &rhs)
            }
        }
        impl $trait<f32> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                let f: fn(f32, f32) -> f32 = $scalar;
                self.map(move |x| f(x, rhs))
            }
        }
        impl $trait<f32> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                $trait::$method(&self, rhs)
            }
        }
        impl $trait<&Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                let f: fn(f32, f32) -> f32 = $scalar;
                rhs.map(move |y| f(self, y))
            }
        }
        impl $trait<Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $trait::$method(self, &rhs)
            }
        }
    };
}

binop!(Add, add, try_add, |a, b| a + b);
binop!(Sub, sub, try_sub, |a, b| a - b);
binop!(Mul, mul, try_mul, |a, b| a * b);
binop!(Div, div, try_div, |a, b| a / b);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        self.map(|x| -x)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Neg::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators() {
        let a = Tensor::from_vec(vec![1., 2.], &[2]).unwrap();
        let b = Tensor::from_vec(vec![3., 4.], &[2]).unwrap();
        assert_eq!((&a + &b).to_vec(), vec![4., 6.]);
        assert_eq!((&a - &b).to_vec(), vec![-2., -2.]);
        assert_eq!((&a * 2.0).to_vec(), vec![2., 4.]);
        assert_eq!((1.0 - &a).to_vec(), vec![0., -1.]);
        assert_eq!((2.0 / &a).to_vec(), vec![2., 1.]);
        assert_eq!((-&a).to_vec(), vec![-1., -2.]);
        assert_eq!((a.clone() / b.clone()).to_vec(), vec![1. / 3., 0.5]);
    }

    #[test]
    #[should_panic(expected = "add: lhs [2] and rhs [3]")]
    fn operator_panics_with_message() {
        let _ = &Tensor::zeros(&[2]) + &Tensor::zeros(&[3]);
    }
}
