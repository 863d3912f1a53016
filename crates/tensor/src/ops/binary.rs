//! Broadcasting binary ops (add, sub, mul, div, pow, maximum, minimum, comparisons, where).

use ndarray::{ArrayD, IxDyn, Zip};
use rayon::prelude::*;

use crate::error::Result;
use crate::macros::panicking;
use crate::ops::shape::broadcast_shapes;
use crate::parallel::{use_parallel, CHUNK};
use crate::tensor::Tensor;

/// `out[i] = f(a[i], b[i])` over equal-length slices, on rayon for large inputs.
pub(crate) fn zip_slices(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    let n = a.len();
    debug_assert_eq!(n, b.len());
    if !use_parallel(n) {
        return a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
    }
    let mut out: Vec<f32> = Vec::with_capacity(n);
    out.spare_capacity_mut()[..n]
        .par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK))
        .zip(b.par_chunks(CHUNK))
        .for_each(|((o, a), b)| {
            for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
                o.write(f(x, y));
            }
        });
    // SAFETY: every one of the n slots was written above.
    unsafe { out.set_len(n) };
    out
}

/// `out[i] = f(a[i])` over a slice, on rayon for large inputs.
pub(crate) fn map_slice(a: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let n = a.len();
    if !use_parallel(n) {
        return a.iter().map(|&x| f(x)).collect();
    }
    let mut out: Vec<f32> = Vec::with_capacity(n);
    out.spare_capacity_mut()[..n]
        .par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK))
        .for_each(|(o, a)| {
            for (o, &x) in o.iter_mut().zip(a) {
                o.write(f(x));
            }
        });
    // SAFETY: every one of the n slots was written above.
    unsafe { out.set_len(n) };
    out
}

impl Tensor {
    /// A contiguous copy passed through an in-place SIMD `kernel`
    /// ([`apply_kernel_inplace`](Self::apply_kernel_inplace)).
    pub(crate) fn map_kernel(&self, kernel: fn(&mut [f32])) -> Tensor {
        let mut out = Tensor::from_vec_unchecked(self.to_vec(), self.shape());
        out.apply_kernel_inplace(kernel);
        out
    }

    /// Applies `f` to every element, returning a new contiguous tensor.
    pub fn map(&self, f: impl Fn(f32) -> f32 + Sync + Send) -> Tensor {
        match self.as_slice() {
            Some(s) => Tensor::from_vec_unchecked(map_slice(s, f), self.shape()),
            None => {
                let v: Vec<f32> = self.data.iter().map(|&x| f(x)).collect();
                Tensor::from_vec_unchecked(v, self.shape())
            }
        }
    }

    /// Combines `self` and `rhs` elementwise with NumPy broadcasting; `op` names the
    /// operation in errors.
    pub fn try_zip_with(
        &self,
        rhs: &Tensor,
        op: &'static str,
        f: impl Fn(f32, f32) -> f32 + Sync + Send,
    ) -> Result<Tensor> {
        if self.shape() == rhs.shape() {
            if let (Some(a), Some(b)) = (self.as_slice(), rhs.as_slice()) {
                return Ok(Tensor::from_vec_unchecked(
                    zip_slices(a, b, f),
                    self.shape(),
                ));
            }
        }
        if rhs.len() == 1 && rhs.rank() <= self.rank() {
            let y = *rhs.data.iter().next().expect("one element");
            return Ok(self.map(|x| f(x, y)));
        }
        if self.len() == 1 && self.rank() <= rhs.rank() {
            let x = *self.data.iter().next().expect("one element");
            return Ok(rhs.map(|y| f(x, y)));
        }
        let shape = broadcast_shapes(op, self.shape(), rhs.shape())?;
        let a = self
            .data
            .broadcast(IxDyn(&shape))
            .expect("broadcast checked");
        let b = rhs
            .data
            .broadcast(IxDyn(&shape))
            .expect("broadcast checked");
        let mut out = ArrayD::<f32>::zeros(IxDyn(&shape));
        let parallel = use_parallel(out.len());
        let z = Zip::from(&mut out).and(&a).and(&b);
        if parallel {
            z.par_for_each(|o, &x, &y| *o = f(x, y));
        } else {
            z.for_each(|o, &x, &y| *o = f(x, y));
        }
        Ok(Tensor::from(out))
    }

    /// Elementwise `self + rhs` with broadcasting.
    pub fn try_add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "add", |a, b| a + b)
    }
    /// Elementwise `self - rhs` with broadcasting.
    pub fn try_sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "sub", |a, b| a - b)
    }
    /// Elementwise `self * rhs` with broadcasting.
    pub fn try_mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "mul", |a, b| a * b)
    }
    /// Elementwise `self / rhs` with broadcasting.
    pub fn try_div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "div", |a, b| a / b)
    }
    /// Elementwise `self ^ rhs` (`powf`) with broadcasting.
    pub fn try_pow(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "pow", f32::powf)
    }
    /// Elementwise maximum with broadcasting (NaN propagates, like `torch.maximum`).
    pub fn try_maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "maximum", |a, b| {
            if a.is_nan() || b.is_nan() {
                f32::NAN
            } else {
                a.max(b)
            }
        })
    }
    /// Elementwise minimum with broadcasting (NaN propagates, like `torch.minimum`).
    pub fn try_minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "minimum", |a, b| {
            if a.is_nan() || b.is_nan() {
                f32::NAN
            } else {
                a.min(b)
            }
        })
    }
    /// Mask `self == rhs` (1.0 where true, 0.0 elsewhere) with broadcasting.
    pub fn try_eq(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "eq", |a, b| f32::from(u8::from(a == b)))
    }
    /// Mask `self != rhs` with broadcasting.
    pub fn try_ne(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "ne", |a, b| f32::from(u8::from(a != b)))
    }
    /// Mask `self < rhs` with broadcasting.
    pub fn try_lt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "lt", |a, b| f32::from(u8::from(a < b)))
    }
    /// Mask `self <= rhs` with broadcasting.
    pub fn try_le(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "le", |a, b| f32::from(u8::from(a <= b)))
    }
    /// Mask `self > rhs` with broadcasting.
    pub fn try_gt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "gt", |a, b| f32::from(u8::from(a > b)))
    }
    /// Mask `self >= rhs` with broadcasting.
    pub fn try_ge(&self, rhs: &Tensor) -> Result<Tensor> {
        self.try_zip_with(rhs, "ge", |a, b| f32::from(u8::from(a >= b)))
    }

    /// `cond ? a : b` elementwise (nonzero `cond` selects `a`), all three broadcast together.
    pub fn try_where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let s1 = broadcast_shapes("where_cond", cond.shape(), a.shape())?;
        let shape = broadcast_shapes("where_cond", &s1, b.shape())?;
        if cond.shape() == shape.as_slice()
            && a.shape() == cond.shape()
            && b.shape() == cond.shape()
        {
            if let (Some(c), Some(x), Some(y)) = (cond.as_slice(), a.as_slice(), b.as_slice()) {
                let v = c
                    .iter()
                    .zip(x)
                    .zip(y)
                    .map(|((&c, &x), &y)| if c != 0.0 { x } else { y })
                    .collect();
                return Ok(Tensor::from_vec_unchecked(v, &shape));
            }
        }
        let c = cond.data.broadcast(IxDyn(&shape)).expect("checked");
        let x = a.data.broadcast(IxDyn(&shape)).expect("checked");
        let y = b.data.broadcast(IxDyn(&shape)).expect("checked");
        let mut out = ArrayD::<f32>::zeros(IxDyn(&shape));
        Zip::from(&mut out)
            .and(&c)
            .and(&x)
            .and(&y)
            .for_each(|o, &c, &x, &y| *o = if c != 0.0 { x } else { y });
        Ok(Tensor::from(out))
    }

    /// Panicking form of [`Tensor::try_where_cond`].
    #[track_caller]
    pub fn where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
        Tensor::try_where_cond(cond, a, b).unwrap_or_else(|e| panic!("{e}"))
    }
}

panicking! {
    add => try_add(rhs: &Tensor) -> Tensor;
    sub => try_sub(rhs: &Tensor) -> Tensor;
    mul => try_mul(rhs: &Tensor) -> Tensor;
    div => try_div(rhs: &Tensor) -> Tensor;
    pow => try_pow(rhs: &Tensor) -> Tensor;
    maximum => try_maximum(rhs: &Tensor) -> Tensor;
    minimum => try_minimum(rhs: &Tensor) -> Tensor;
    eq => try_eq(rhs: &Tensor) -> Tensor;
    ne => try_ne(rhs: &Tensor) -> Tensor;
    lt => try_lt(rhs: &Tensor) -> Tensor;
    le => try_le(rhs: &Tensor) -> Tensor;
    gt => try_gt(rhs: &Tensor) -> Tensor;
    ge => try_ge(rhs: &Tensor) -> Tensor;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], s: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn broadcasting_add() {
        let a = t(&[1., 2., 3.], &[3, 1]);
        let b = t(&[10., 20.], &[2]);
        let c = a.add(&b);
        assert_eq!(c.shape(), &[3, 2]);
        assert_eq!(c.to_vec(), vec![11., 21., 12., 22., 13., 23.]);
        let d = a.t().sub(&Tensor::scalar(1.0));
        assert_eq!(d.to_vec(), vec![0., 1., 2.]);
        let e = a.try_add(&t(&[1., 2.], &[1, 1, 2])).unwrap();
        assert_eq!(e.shape(), &[1, 3, 2]);
        assert_eq!(e.to_vec(), vec![2., 3., 3., 4., 4., 5.]);
        assert!(a.try_add(&t(&[1., 2.], &[1, 2, 1])).is_err());
    }

    #[test]
    fn strided_operand() {
        let a = t(&[1., 2., 3., 4.], &[2, 2]);
        assert_eq!(a.t().mul(&a).to_vec(), vec![1., 6., 6., 16.]);
    }

    #[test]
    fn comparisons_and_where() {
        let a = t(&[1., 5., 3.], &[3]);
        let b = t(&[2., 5., 1.], &[3]);
        assert_eq!(a.lt(&b).to_vec(), vec![1., 0., 0.]);
        assert_eq!(a.ge(&b).to_vec(), vec![0., 1., 1.]);
        assert_eq!(a.eq(&b).to_vec(), vec![0., 1., 0.]);
        assert_eq!(a.maximum(&b).to_vec(), vec![2., 5., 3.]);
        let w = Tensor::where_cond(&a.gt(&b), &a, &Tensor::scalar(-1.0));
        assert_eq!(w.to_vec(), vec![-1., -1., 3.]);
    }

    #[test]
    fn mismatch_error() {
        let e = Tensor::zeros(&[2, 3])
            .try_mul(&Tensor::zeros(&[2]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "mul: lhs [2, 3] and rhs [2]: cannot broadcast: sizes 3 and 2 differ at output axis 1"
        );
    }

    #[test]
    fn large_parallel_matches() {
        let n = 300_000;
        let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..n).map(|i| (n - i) as f32).collect();
        let c = t(&a, &[n]).add(&t(&b, &[n]));
        assert!(c.to_vec().iter().all(|&x| x == n as f32));
    }
}
