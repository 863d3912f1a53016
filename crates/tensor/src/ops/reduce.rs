//! Reductions over any set of axes with `keepdim`, plus `reduce_to_shape`.

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::error::{Result, TensorError};
use crate::macros::panicking;
use crate::parallel::use_parallel;
use crate::tensor::Tensor;

/// Validated reduction plan: which axes are reduced and the output shapes.
struct Plan {
    /// Reduced axes, sorted.
    axes: Vec<usize>,
    /// Output shape without the reduced axes.
    kept_shape: Vec<usize>,
    /// Output shape with size-1 reduced axes.
    keep_shape: Vec<usize>,
    /// Number of elements reduced into each output element.
    inner: usize,
}

fn plan(op: &'static str, shape: &[usize], axes: &[usize]) -> Result<Plan> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    for w in sorted.windows(2) {
        if w[0] == w[1] {
            return Err(TensorError::arg(
                op,
                shape,
                format!("axis {} is listed twice in {axes:?}", w[0]),
            ));
        }
    }
    if let Some(&a) = sorted.iter().find(|&&a| a >= shape.len()) {
        return Err(TensorError::axis(op, a, shape));
    }
    let mut kept_shape = vec![];
    let mut keep_shape = vec![];
    let mut inner = 1;
    for (i, &d) in shape.iter().enumerate() {
        if sorted.binary_search(&i).is_ok() {
            keep_shape.push(1);
            inner *= d;
        } else {
            kept_shape.push(d);
            keep_shape.push(d);
        }
    }
    Ok(Plan {
        axes: sorted,
        kept_shape,
        keep_shape,
        inner,
    })
}

/// Sum of a slice with 8 independent f32 accumulators (vectorises; error grows slowly).
#[inline]
pub(crate) fn sum_slice(s: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = s.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i];
        }
    }
    let mut total =
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &x in rem {
        total += x;
    }
    total
}

/// Dot product with 8 independent accumulators (vectorises).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut total =
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        total += x * y;
    }
    total
}

fn max_slice(s: &[f32]) -> f32 {
    s.iter().fold(f32::NEG_INFINITY, |m, &x| {
        if x > m || x.is_nan() || m.is_nan() {
            if m.is_nan() {
                m
            } else {
                x
            }
        } else {
            m
        }
    })
}

fn min_slice(s: &[f32]) -> f32 {
    s.iter().fold(f32::INFINITY, |m, &x| {
        if x < m || x.is_nan() || m.is_nan() {
            if m.is_nan() {
                m
            } else {
                x
            }
        } else {
            m
        }
    })
}

impl Tensor {
    /// Core: applies `kernel` to each group of `inner` reduced elements.
    fn reduce_with(
        &self,
        op: &'static str,
        axes: &[usize],
        keepdim: bool,
        kernel: impl Fn(&[f32]) -> f32 + Sync + Send,
    ) -> Result<Tensor> {
        let p = plan(op, self.shape(), axes)?;
        let out_shape = if keepdim {
            &p.keep_shape
        } else {
            &p.kept_shape
        };
        let data = self.reduced_last(&p);
        let outer: usize = p.kept_shape.iter().product();
        let out: Vec<f32> = if p.inner == 0 {
            (0..outer).map(|_| kernel(&[])).collect()
        } else if use_parallel(data.len()) && outer > 1 {
            data.par_chunks(p.inner).map(&kernel).collect()
        } else {
            data.chunks(p.inner).map(&kernel).collect()
        };
        Ok(Tensor::from_vec_unchecked(out, out_shape))
    }

    /// The elements reordered so the reduced axes are last (contiguous).
    fn reduced_last(&self, p: &Plan) -> Vec<f32> {
        let r = self.rank();
        let mut perm: Vec<usize> = (0..r)
            .filter(|a| p.axes.binary_search(a).is_err())
            .collect();
        perm.extend_from_slice(&p.axes);
        let identity = perm.iter().enumerate().all(|(i, &a)| i == a);
        if identity {
            self.to_vec()
        } else {
            self.data
                .view()
                .permuted_axes(IxDyn(&perm))
                .iter()
                .copied()
                .collect()
        }
    }

    /// Sum over `axes` (an empty list reduces nothing).
    pub fn try_sum_axes(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let p = plan("sum_axes", self.shape(), axes)?;
        // Fast path: contiguous input reducing a leading block of axes (bias gradients):
        // add whole rows, which stays contiguous and vectorises.
        let prefix = p.axes.iter().enumerate().all(|(i, &a)| i == a);
        if prefix && !p.axes.is_empty() {
            if let Some(s) = self.as_slice() {
                let row: usize = p.kept_shape.iter().product();
                let mut acc = vec![0.0f32; row];
                if row > 0 {
                    for chunk in s.chunks_exact(row) {
                        acc.iter_mut().zip(chunk).for_each(|(a, &x)| *a += x);
                    }
                }
                let shape = if keepdim {
                    &p.keep_shape
                } else {
                    &p.kept_shape
                };
                return Ok(Tensor::from_vec_unchecked(acc, shape));
            }
        }
        self.reduce_with("sum_axes", axes, keepdim, sum_slice)
    }

    /// Mean over `axes` (NaN for an empty reduction, like PyTorch).
    pub fn try_mean_axes(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let p = plan("mean_axes", self.shape(), axes)?;
        let n = p.inner as f32;
        Ok(self.try_sum_axes(axes, keepdim)?.map(move |x| x / n))
    }

    /// Variance over `axes` with `correction` (0 = population, 1 = Bessel/unbiased, the
    /// PyTorch default). Computed in f64 with two passes.
    pub fn try_var_axes(&self, axes: &[usize], correction: usize, keepdim: bool) -> Result<Tensor> {
        self.reduce_with("var_axes", axes, keepdim, move |s| {
            let n = s.len();
            if n <= correction {
                return f32::NAN;
            }
            let mean = s.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
            let ss: f64 = s.iter().map(|&x| (x as f64 - mean).powi(2)).sum();
            (ss / (n - correction) as f64) as f32
        })
    }

    /// Maximum over `axes` (NaN propagates). Fails on an empty reduction.
    pub fn try_max_axes(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        self.nonempty("max_axes", axes)?;
        self.reduce_with("max_axes", axes, keepdim, max_slice)
    }

    /// Minimum over `axes` (NaN propagates). Fails on an empty reduction.
    pub fn try_min_axes(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        self.nonempty("min_axes", axes)?;
        self.reduce_with("min_axes", axes, keepdim, min_slice)
    }

    /// `log Σ exp(x)` over `axes`, stable for large |x| (subtracts the maximum first).
    pub fn try_logsumexp_axes(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        self.reduce_with("logsumexp_axes", axes, keepdim, |s| {
            let m = max_slice(s);
            if !m.is_finite() {
                return m;
            }
            let sum: f32 = s
                .iter()
                .map(|&x| crate::ops::fastmath::exp_f32(x - m))
                .sum();
            m + sum.ln()
        })
    }

    fn nonempty(&self, op: &'static str, axes: &[usize]) -> Result<()> {
        let p = plan(op, self.shape(), axes)?;
        if p.inner == 0 {
            return Err(TensorError::arg(
                op,
                self.shape(),
                format!("cannot reduce empty axes {axes:?}"),
            ));
        }
        Ok(())
    }

    fn arg_reduce(
        &self,
        op: &'static str,
        axis: usize,
        keepdim: bool,
        better: impl Fn(f32, f32) -> bool + Sync,
    ) -> Result<ArrayD<usize>> {
        self.nonempty(op, &[axis])?;
        let p = plan(op, self.shape(), &[axis])?;
        let data = self.reduced_last(&p);
        let idx: Vec<usize> = data
            .chunks(p.inner)
            .map(|c| arg_best(c.iter().copied(), &better))
            .collect();
        let shape = if keepdim { p.keep_shape } else { p.kept_shape };
        Ok(ArrayD::from_shape_vec(IxDyn(&shape), idx).expect("shape matches"))
    }

    /// Index of the first maximum along `axis` (NaN counts as the maximum, like PyTorch);
    /// each lane is reduced by [`argmax`].
    pub fn try_argmax(&self, axis: usize, keepdim: bool) -> Result<ArrayD<usize>> {
        self.arg_reduce("argmax", axis, keepdim, |x, b| x > b)
    }

    /// Index of the first minimum along `axis`.
    pub fn try_argmin(&self, axis: usize, keepdim: bool) -> Result<ArrayD<usize>> {
        self.arg_reduce("argmin", axis, keepdim, |x, b| x < b)
    }

    /// Sum of all elements. The same value whatever the thread count or scheduling: large
    /// inputs are summed in fixed blocks on rayon, and the block sums are added in order
    /// (rayon's own `sum` associates them as its work-stealing splits fell, so the last bits
    /// changed from run to run, and with them every seeded training run that clips
    /// gradients by their norm).
    pub fn sum_all(&self) -> f32 {
        match self.as_slice() {
            Some(s) if use_parallel(s.len()) => {
                let blocks: Vec<f32> = s.par_chunks(1 << 14).map(sum_slice).collect();
                blocks.iter().sum()
            }
            Some(s) => sum_slice(s),
            None => sum_slice(&self.to_vec()),
        }
    }

    /// Mean of all elements (NaN if empty).
    pub fn mean_all(&self) -> f32 {
        self.sum_all() / self.len() as f32
    }

    /// Maximum of all elements (−∞ if empty; NaN propagates).
    pub fn max_all(&self) -> f32 {
        max_slice(&self.to_vec())
    }

    /// Minimum of all elements (+∞ if empty; NaN propagates).
    pub fn min_all(&self) -> f32 {
        min_slice(&self.to_vec())
    }

    /// Sums a broadcast result back to `shape` (the shape of an operand that was broadcast
    /// to `self.shape()`): used by every broadcasting backward.
    pub fn try_reduce_to_shape(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let err = || {
            TensorError::mismatch(
                "reduce_to_shape",
                self.shape(),
                shape,
                "the target shape does not broadcast to the tensor's shape",
            )
        };
        let r = self.rank();
        if shape.len() > r {
            return Err(err());
        }
        let lead = r - shape.len();
        let mut axes: Vec<usize> = (0..lead).collect();
        for (i, &d) in shape.iter().enumerate() {
            let s = self.shape()[lead + i];
            if d == s {
                continue;
            }
            if d == 1 {
                axes.push(lead + i);
            } else {
                return Err(err());
            }
        }
        self.try_sum_axes(&axes, false)?.try_reshape(shape)
    }
}

panicking! {
    sum_axes => try_sum_axes(axes: &[usize], keepdim: bool) -> Tensor;
    mean_axes => try_mean_axes(axes: &[usize], keepdim: bool) -> Tensor;
    var_axes => try_var_axes(axes: &[usize], correction: usize, keepdim: bool) -> Tensor;
    max_axes => try_max_axes(axes: &[usize], keepdim: bool) -> Tensor;
    min_axes => try_min_axes(axes: &[usize], keepdim: bool) -> Tensor;
    logsumexp_axes => try_logsumexp_axes(axes: &[usize], keepdim: bool) -> Tensor;
    argmax => try_argmax(axis: usize, keepdim: bool) -> ArrayD<usize>;
    argmin => try_argmin(axis: usize, keepdim: bool) -> ArrayD<usize>;
    reduce_to_shape => try_reduce_to_shape(shape: &[usize]) -> Tensor;
}

/// Index of the first value for which no later value is `better`, where NaN beats
/// everything (the first NaN wins, as in NumPy and PyTorch). Empty input gives 0.
fn arg_best<T: PartialOrd + Copy>(
    values: impl IntoIterator<Item = T>,
    better: impl Fn(T, T) -> bool,
) -> usize {
    #[allow(clippy::eq_op)]
    let is_nan = |v: T| v != v;
    let mut best: Option<(usize, T)> = None;
    for (i, x) in values.into_iter().enumerate() {
        match best {
            None => best = Some((i, x)),
            Some((_, b)) if !is_nan(b) && (is_nan(x) || better(x, b)) => best = Some((i, x)),
            _ => {}
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// Index of the largest of `values`, the first one on ties; a NaN counts as the largest
/// (NumPy's and PyTorch's rule); 0 for no values. The one argmax of glassbox: predicted
/// classes from logits or probabilities (`glassbox_data::convert::argmax_rows`), training
/// accuracy, and each lane of [`Tensor::try_argmax`].
///
/// ```
/// use glassbox_tensor::ops::reduce::argmax;
/// assert_eq!(argmax(&[0.1, 0.7, 0.7]), 1);
/// assert_eq!(argmax(&[2.0f32, f32::NAN, 3.0]), 1);
/// assert_eq!(argmax(&Vec::<f64>::new()), 0);
/// let m = ndarray::array![[1.0, 3.0], [4.0, -1.0]];
/// assert_eq!(m.rows().into_iter().map(|r| argmax(&r)).collect::<Vec<_>>(), [1, 0]);
/// ```
pub fn argmax<'a, T: PartialOrd + Copy + 'a>(values: impl IntoIterator<Item = &'a T>) -> usize {
    arg_best(values.into_iter().copied(), |x: T, b: T| x > b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], s: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn sums_and_means() {
        // [[1, 2, 3], [4, 5, 6]]
        let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        assert_eq!(a.sum_axes(&[0], false).to_vec(), vec![5., 7., 9.]);
        assert_eq!(a.sum_axes(&[1], true).shape(), &[2, 1]);
        assert_eq!(a.sum_axes(&[1], true).to_vec(), vec![6., 15.]);
        assert_eq!(a.sum_axes(&[0, 1], false).shape(), &[] as &[usize]);
        assert_eq!(a.sum_axes(&[0, 1], false).item().unwrap(), 21.);
        assert_eq!(a.t().sum_axes(&[1], false).to_vec(), vec![5., 7., 9.]);
        assert_eq!(a.mean_axes(&[1], false).to_vec(), vec![2., 5.]);
        // var([1,2,3]) with Bessel = 1; population = 2/3
        assert_eq!(a.var_axes(&[1], 1, false).to_vec(), vec![1., 1.]);
        assert!((a.var_axes(&[1], 0, false).to_vec()[0] - 2. / 3.).abs() < 1e-7);
        assert_eq!(a.sum_all(), 21.0);
    }

    #[test]
    fn max_min_arg() {
        let a = t(&[1., 7., 3., 9., 5., 6.], &[2, 3]);
        assert_eq!(a.max_axes(&[1], false).to_vec(), vec![7., 9.]);
        assert_eq!(a.min_axes(&[0], false).to_vec(), vec![1., 5., 3.]);
        assert_eq!(a.argmax(1, false).into_raw_vec_and_offset().0, vec![1, 0]);
        assert_eq!(a.argmin(0, true).shape(), &[1, 3]);
        assert_eq!(a.argmin(0, true).into_raw_vec_and_offset().0, vec![0, 1, 0]);
        let n = t(&[1., f32::NAN, 3.], &[3]);
        assert!(n.max_axes(&[0], false).to_vec()[0].is_nan());
        assert_eq!(n.argmax(0, false).into_raw_vec_and_offset().0, vec![1]);
        assert!(Tensor::zeros(&[0, 2]).try_max_axes(&[0], false).is_err());
    }

    #[test]
    fn logsumexp_is_stable() {
        let a = t(&[1e4, 1e4, -1e4], &[3]);
        let l = a.logsumexp_axes(&[0], false).to_vec()[0];
        assert!((l - (1e4 + 2f32.ln())).abs() < 1e-2, "{l}");
    }

    #[test]
    fn reduce_to_shape_sums_broadcast_axes() {
        let g = Tensor::ones(&[4, 2, 3]);
        assert_eq!(g.reduce_to_shape(&[2, 1]).to_vec(), vec![12., 12.]);
        assert_eq!(g.reduce_to_shape(&[3]).to_vec(), vec![8., 8., 8.]);
        assert_eq!(g.reduce_to_shape(&[]).item().unwrap(), 24.);
        assert!(g.try_reduce_to_shape(&[5]).is_err());
    }

    #[test]
    fn axis_errors() {
        let a = Tensor::zeros(&[2, 2]);
        assert_eq!(
            a.try_sum_axes(&[2], false).unwrap_err().to_string(),
            "sum_axes: axis 2 is out of range for a tensor of rank 2 (shape [2, 2])"
        );
        assert!(a.try_sum_axes(&[1, 1], false).is_err());
    }
}
