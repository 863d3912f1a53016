//! Numerically stable softmax and log-softmax along one axis.

use rayon::prelude::*;

use crate::error::{Result, TensorError};
use crate::macros::panicking;
use crate::ops::fastmath::{dispatched, exp_f32};
use crate::ops::rowmath::{lane_max, lane_sum, lane_sum_map, scale_in_place, softmax_shifted};
use crate::parallel::use_parallel;
use crate::tensor::Tensor;

/// Log-softmax of one row in place, `x − max − ln Σ e^(x − max)`.
#[inline(always)]
fn log_softmax_in_place(row: &mut [f32]) {
    let m = lane_max(row);
    let m = if m.is_finite() { m } else { 0.0 };
    let ls = lane_sum_map(row, |x| exp_f32(x - m)).ln() + m;
    row.iter_mut().for_each(|x| *x -= ls);
}

/// Softmax of one row in place; an all-`-inf` row gives NaN (as PyTorch).
#[inline(always)]
fn softmax_row_in_place(row: &mut [f32]) {
    let m = lane_max(row);
    softmax_shifted(row, if m.is_finite() { m } else { 0.0 });
}

/// Rows shorter than this (e.g. 10 class logits) take the whole-block `exp` pass below.
const SHORT_ROW: usize = 32;

dispatched! {
    /// Softmax (or log-softmax) of every `n`-element row of `block`, in place, row by row;
    /// except many short softmax rows: their maxima are subtracted first, then one `exp`
    /// pass runs over the whole block (a long loop that vectorises, where a 10-wide row
    /// would leave most of each row to the scalar remainder), then each row is normalised.
    fn softmax_block(block: &mut [f32], n: usize, log: bool) {
        if log {
            block.chunks_mut(n).for_each(log_softmax_in_place);
        } else if n < SHORT_ROW {
            for row in block.chunks_mut(n) {
                let m = lane_max(row);
                let m = if m.is_finite() { m } else { 0.0 };
                row.iter_mut().for_each(|x| *x -= m);
            }
            block.iter_mut().for_each(|x| *x = exp_f32(*x));
            for row in block.chunks_mut(n) {
                let inv = 1.0 / lane_sum(row);
                scale_in_place(row, inv);
            }
        } else {
            block.chunks_mut(n).for_each(softmax_row_in_place);
        }
    }
}

impl Tensor {
    fn softmax_impl(&self, op: &'static str, axis: usize, log: bool) -> Result<Tensor> {
        let r = self.rank();
        if axis >= r {
            return Err(TensorError::axis(op, axis, self.shape()));
        }
        // Move `axis` last, work on contiguous rows, move it back.
        let moved = if axis == r - 1 {
            self.clone()
        } else {
            self.try_transpose(axis, r - 1)?
        };
        let mut data = moved.to_vec();
        let n = moved.shape()[r - 1];
        if let Some(rows_per_chunk) = crate::parallel::CHUNK.checked_div(n) {
            let work = |block: &mut [f32]| softmax_block(block, n, log);
            if use_parallel(data.len()) {
                data.par_chunks_mut(rows_per_chunk.max(1) * n)
                    .for_each(work);
            } else {
                work(&mut data);
            }
        }
        let out = Tensor::from_vec_unchecked(data, moved.shape());
        if axis == r - 1 {
            Ok(out)
        } else {
            Ok(out.try_transpose(axis, r - 1)?.contiguous())
        }
    }

    /// `exp(x − max) / Σ exp(x − max)` along `axis`; finite for logits of ±1e4.
    pub fn try_softmax(&self, axis: usize) -> Result<Tensor> {
        self.softmax_impl("softmax", axis, false)
    }

    /// `x − max − log Σ exp(x − max)` along `axis`.
    pub fn try_log_softmax(&self, axis: usize) -> Result<Tensor> {
        self.softmax_impl("log_softmax", axis, true)
    }
}

panicking! {
    softmax => try_softmax(axis: usize) -> Tensor;
    log_softmax => try_log_softmax(axis: usize) -> Tensor;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_known_and_extreme() {
        let x = Tensor::from_vec(vec![1., 2., 3., 1e4, -1e4, 0.], &[2, 3]).unwrap();
        let s = x.softmax(1).to_vec();
        // softmax([1,2,3]) = [0.09003057, 0.24472847, 0.66524096]
        for (a, b) in s[..3]
            .iter()
            .zip([0.090_030_57, 0.244_728_47, 0.665_240_96])
        {
            assert!((a - b).abs() < 1e-6);
        }
        assert_eq!(&s[3..], &[1.0, 0.0, 0.0]);
        let l = x.log_softmax(1).to_vec();
        assert!(l.iter().all(|v| v.is_finite()));
        assert!((l[4] + 2e4).abs() < 1.0);
        let c = x.softmax(0);
        let col: f32 = c.sum_axes(&[0], false).to_vec().iter().sum();
        assert!((col - 3.0).abs() < 1e-6);
        assert!(x.try_softmax(2).is_err());
    }

    #[test]
    fn short_and_long_rows_match_f64() {
        let mut rng = crate::rng::Rng::new(2);
        // Short rows (the block path), in serial and parallel sizes, and long rows.
        for &(rows, n) in &[(7, 10), (9000, 10), (3, 1), (5, 31), (40, 300)] {
            let x = Tensor::rand_normal(&[rows, n], 0.0, 5.0, &mut rng);
            let xs = x.to_vec();
            let got = x.softmax(1).to_vec();
            for r in 0..rows {
                let row = &xs[r * n..(r + 1) * n];
                let m = row.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
                let z: f64 = row.iter().map(|&v| (v as f64 - m).exp()).sum();
                for j in 0..n {
                    let want = (row[j] as f64 - m).exp() / z;
                    let g = got[r * n + j] as f64;
                    assert!(
                        (g - want).abs() <= 1e-6 * (1.0 + want),
                        "{rows}x{n} [{r},{j}]: {g} vs {want}"
                    );
                }
            }
        }
    }
}
