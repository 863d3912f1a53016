//! The [`Tensor`] type: storage, constructors and accessors.

use ndarray::{ArcArray, ArrayD, ArrayViewD, IxDyn};

use crate::error::{Result, TensorError};

/// An f32 n-dimensional tensor with shared, copy-on-write storage.
///
/// Cloning is an `Arc` bump. Views produced by [`Tensor::permute`], [`Tensor::broadcast_to`]
/// or [`Tensor::narrow`] may be strided; [`Tensor::contiguous`] returns a row-major copy when
/// needed. Mutating methods ([`Tensor::as_slice_mut`], [`Tensor::map_inplace`]) first make
/// the storage unique, so they never affect other clones.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    pub(crate) data: ArcArray<f32, IxDyn>,
}

impl Tensor {
    // ---------------------------------------------------------------- construction

    pub(crate) fn from_arc(data: ArcArray<f32, IxDyn>) -> Self {
        Tensor { data }
    }

    /// Builds a tensor from a row-major `Vec` whose length must be the product of `shape`
    /// (the internal constructor; callers guarantee the length).
    pub(crate) fn from_vec_unchecked(data: Vec<f32>, shape: &[usize]) -> Self {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        let arr = ArrayD::from_shape_vec(IxDyn(shape), data).expect("length checked by caller");
        Tensor {
            data: arr.into_shared(),
        }
    }

    /// A tensor of the given shape and row-major data.
    ///
    /// Fails with [`TensorError::DataLength`] when `data.len()` is not the product of `shape`.
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(TensorError::DataLength {
                op: "from_vec",
                len: data.len(),
                shape: shape.to_vec(),
                expected,
            });
        }
        Ok(Self::from_vec_unchecked(data, shape))
    }

    /// A tensor filled with `value`.
    pub fn full(shape: &[usize], value: f32) -> Self {
        let n = shape.iter().product();
        Self::from_vec_unchecked(vec![value; n], shape)
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, 0.0)
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, 1.0)
    }

    /// A tensor of zeros with the shape of `other`.
    pub fn zeros_like(other: &Tensor) -> Self {
        Self::zeros(other.shape())
    }

    /// A tensor of ones with the shape of `other`.
    pub fn ones_like(other: &Tensor) -> Self {
        Self::ones(other.shape())
    }

    /// A rank-0 tensor holding `value`.
    pub fn scalar(value: f32) -> Self {
        Self::from_vec_unchecked(vec![value], &[])
    }

    /// A 1-D tensor `[start, start + step, ...]` of all values below `end` (like `torch.arange`).
    ///
    /// Fails when `step` is zero or not finite, or when the bounds are not finite.
    pub fn arange(start: f32, end: f32, step: f32) -> Result<Self> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(TensorError::arg(
                "arange",
                &[],
                format!("start {start}, end {end} and non-zero step {step} must be finite"),
            ));
        }
        let n = ((end as f64 - start as f64) / step as f64).ceil().max(0.0) as usize;
        let data = (0..n)
            .map(|i| (start as f64 + i as f64 * step as f64) as f32)
            .collect::<Vec<_>>();
        Ok(Self::from_vec_unchecked(data, &[n]))
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive (like `torch.linspace`).
    pub fn linspace(start: f32, end: f32, steps: usize) -> Self {
        let data = match steps {
            0 => vec![],
            1 => vec![start],
            _ => {
                let d = (end as f64 - start as f64) / (steps - 1) as f64;
                (0..steps)
                    .map(|i| {
                        if i == steps - 1 {
                            end
                        } else {
                            (start as f64 + d * i as f64) as f32
                        }
                    })
                    .collect()
            }
        };
        Self::from_vec_unchecked(data, &[steps])
    }

    /// The `n × n` identity matrix.
    pub fn eye(n: usize) -> Self {
        let mut data = vec![0.0; n * n];
        for i in 0..n {
            data[i * n + i] = 1.0;
        }
        Self::from_vec_unchecked(data, &[n, n])
    }

    // ---------------------------------------------------------------- accessors

    /// The shape (one entry per axis; empty for a scalar).
    #[inline]
    pub fn shape(&self) -> &[usize] {
        self.data.shape()
    }

    /// Number of axes.
    #[inline]
    pub fn rank(&self) -> usize {
        self.data.ndim()
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Strides in elements, one per axis (0 for broadcast axes, may be negative).
    pub fn strides(&self) -> &[isize] {
        self.data.strides()
    }

    /// Whether the elements are laid out row-major without gaps.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.data.is_standard_layout()
    }

    /// The elements as a row-major slice, or `None` if the tensor is a strided view.
    #[inline]
    pub fn as_slice(&self) -> Option<&[f32]> {
        self.data.as_slice()
    }

    /// The elements as a mutable row-major slice.
    ///
    /// Makes the storage unique (copying if it is shared) and contiguous first, so other
    /// clones never see the writes.
    pub fn as_slice_mut(&mut self) -> &mut [f32] {
        if !self.is_contiguous() {
            *self = self.contiguous();
        }
        self.data
            .as_slice_mut()
            .expect("contiguous standard layout has a slice")
    }

    /// A row-major copy of the elements.
    pub fn to_vec(&self) -> Vec<f32> {
        match self.as_slice() {
            Some(s) => s.to_vec(),
            None => self.data.iter().copied().collect(),
        }
    }

    /// The tensor itself if already contiguous (cheap clone), else a row-major copy.
    pub fn contiguous(&self) -> Tensor {
        if self.is_contiguous() {
            self.clone()
        } else {
            Self::from_vec_unchecked(
                crate::strided::to_row_major(&self.data.view()),
                self.shape(),
            )
        }
    }

    /// A read-only ndarray view.
    pub fn as_array(&self) -> ArrayViewD<'_, f32> {
        self.data.view()
    }

    /// Converts into an owned ndarray (copies only if the storage is shared).
    pub fn into_array(self) -> ArrayD<f32> {
        self.data.into_owned()
    }

    /// The single value of a one-element tensor (any rank).
    pub fn item(&self) -> Result<f32> {
        if self.len() != 1 {
            return Err(TensorError::arg(
                "item",
                self.shape(),
                format!("needs exactly one element, found {}", self.len()),
            ));
        }
        Ok(*self.data.iter().next().expect("one element"))
    }

    /// The element at a multi-index.
    pub fn get(&self, index: &[usize]) -> Result<f32> {
        if index.len() != self.rank() {
            return Err(TensorError::arg(
                "get",
                self.shape(),
                format!(
                    "index {index:?} has {} entries, expected {}",
                    index.len(),
                    self.rank()
                ),
            ));
        }
        for (axis, (&i, &d)) in index.iter().zip(self.shape()).enumerate() {
            if i >= d {
                return Err(TensorError::IndexOutOfRange {
                    op: "get",
                    index: i,
                    axis,
                    size: d,
                    shape: self.shape().to_vec(),
                });
            }
        }
        Ok(self.data[IxDyn(index)])
    }

    /// Applies `f` to every element in place (copy-on-write: unique storage is not copied).
    pub fn map_inplace(&mut self, f: impl Fn(f32) -> f32 + Sync + Send) {
        let s = self.as_slice_mut();
        if crate::parallel::use_parallel(s.len()) {
            use rayon::prelude::*;
            s.par_chunks_mut(crate::parallel::CHUNK)
                .for_each(|c| c.iter_mut().for_each(|x| *x = f(*x)));
        } else {
            s.iter_mut().for_each(|x| *x = f(*x));
        }
    }

    /// Runs an in-place slice `kernel` (such as [`crate::ops::unary::gelu_inplace`], built
    /// for the CPU's widest vectors) over the elements, in chunks on rayon for large tensors;
    /// copy-on-write like [`map_inplace`](Self::map_inplace).
    pub fn apply_kernel_inplace(&mut self, kernel: fn(&mut [f32])) {
        let s = self.as_slice_mut();
        if crate::parallel::use_parallel(s.len()) {
            use rayon::prelude::*;
            s.par_chunks_mut(crate::parallel::CHUNK).for_each(kernel);
        } else {
            kernel(s);
        }
    }

    /// `self[i] = f(self[i], other[i])` in place; `other` is broadcast to `self`'s shape.
    pub fn try_zip_mut_with(
        &mut self,
        other: &Tensor,
        f: impl Fn(f32, f32) -> f32 + Sync + Send,
    ) -> Result<()> {
        let shape = self.shape().to_vec();
        let o = other.try_broadcast_to(&shape).map_err(|_| {
            TensorError::mismatch(
                "zip_mut_with",
                &shape,
                other.shape(),
                "rhs cannot be broadcast to lhs",
            )
        })?;
        let dst = self.as_slice_mut();
        match o.as_slice() {
            Some(src) if crate::parallel::use_parallel(dst.len()) => {
                use rayon::prelude::*;
                dst.par_chunks_mut(crate::parallel::CHUNK)
                    .zip(src.par_chunks(crate::parallel::CHUNK))
                    .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(a, &b)| *a = f(*a, b)));
            }
            Some(src) => dst.iter_mut().zip(src).for_each(|(a, &b)| *a = f(*a, b)),
            None => dst
                .iter_mut()
                .zip(o.data.iter())
                .for_each(|(a, &b)| *a = f(*a, b)),
        }
        Ok(())
    }

    /// Panicking form of [`Tensor::try_zip_mut_with`].
    #[track_caller]
    pub fn zip_mut_with(&mut self, other: &Tensor, f: impl Fn(f32, f32) -> f32 + Sync + Send) {
        if let Err(e) = self.try_zip_mut_with(other, f) {
            panic!("{e}")
        }
    }

    /// Whether every element of `self` is within `atol + rtol·|other|` of `other` (same shape).
    pub fn allclose(&self, other: &Tensor, rtol: f32, atol: f32) -> bool {
        self.shape() == other.shape()
            && self.data.iter().zip(other.data.iter()).all(|(&a, &b)| {
                (a - b).abs() <= atol + rtol * b.abs() || (a.is_nan() && b.is_nan())
            })
    }
}

impl From<ArrayD<f32>> for Tensor {
    fn from(a: ArrayD<f32>) -> Self {
        Tensor {
            data: a.into_shared(),
        }
    }
}

impl From<ArcArray<f32, IxDyn>> for Tensor {
    fn from(a: ArcArray<f32, IxDyn>) -> Self {
        Tensor { data: a }
    }
}

impl From<Tensor> for ArrayD<f32> {
    fn from(t: Tensor) -> Self {
        t.into_array()
    }
}

impl From<f32> for Tensor {
    fn from(v: f32) -> Self {
        Tensor::scalar(v)
    }
}

impl From<Vec<f32>> for Tensor {
    fn from(v: Vec<f32>) -> Self {
        let n = v.len();
        Tensor::from_vec_unchecked(v, &[n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors() {
        let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.rank(), 2);
        assert_eq!(t.len(), 6);
        assert_eq!(t.get(&[1, 2]).unwrap(), 6.0);
        let e = Tensor::from_vec(vec![1.0; 5], &[2, 3]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "from_vec: 5 data elements do not fill shape [2, 3], which needs 6"
        );
        assert_eq!(Tensor::eye(2).to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
        assert_eq!(
            Tensor::arange(0.0, 1.0, 0.25).unwrap().to_vec(),
            vec![0.0, 0.25, 0.5, 0.75]
        );
        assert_eq!(
            Tensor::linspace(0.0, 1.0, 5).to_vec(),
            vec![0.0, 0.25, 0.5, 0.75, 1.0]
        );
        assert_eq!(Tensor::scalar(3.0).shape(), &[] as &[usize]);
        assert_eq!(Tensor::scalar(3.0).item().unwrap(), 3.0);
        assert!(Tensor::arange(0.0, 1.0, 0.0).is_err());
    }

    #[test]
    fn copy_on_write() {
        let a = Tensor::ones(&[3]);
        let mut b = a.clone();
        b.as_slice_mut()[0] = 5.0;
        assert_eq!(a.to_vec(), vec![1.0, 1.0, 1.0]);
        assert_eq!(b.to_vec(), vec![5.0, 1.0, 1.0]);
        b.map_inplace(|x| x * 2.0);
        assert_eq!(b.to_vec(), vec![10.0, 2.0, 2.0]);
        b.zip_mut_with(&Tensor::scalar(1.0), |x, y| x - y);
        assert_eq!(b.to_vec(), vec![9.0, 1.0, 1.0]);
    }

    #[test]
    fn ndarray_round_trip() {
        let a =
            ndarray::Array::from_shape_vec(IxDyn(&[2, 2]), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let t = Tensor::from(a.clone());
        assert_eq!(t.into_array(), a);
    }
}
