//! Shapley-value explanations over a background set: Kernel SHAP, exact (interventional)
//! Shapley values and Permutation SHAP.
//!
//! All three use the *interventional* value function of Lundberg & Lee (2017): the value of a
//! coalition `S` for input `x` is the (weighted) mean over background rows `b` of
//! `f(x_S, b_{¬S})`, the model evaluated on `x` where `S` is "present" and on `b` elsewhere.
//! The attributions of one input then sum to `f(x) − E_b[f(b)]` (efficiency).

mod exact;
mod kernel;
mod kmeans;
mod permutation;

pub use exact::exact_shapley;
pub use kernel::{KernelShap, KernelShapConfig};
pub use kmeans::{kmeans, KMeans, KMeansConfig};
pub use permutation::{PermutationShap, PermutationShapConfig};

use std::ops::Range;

use glassbox_tensor::ops::fastmath::vectorized;
use ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

use crate::error::{ExplainError, Result};
use crate::predictor::{
    check_matrix, predict_checked, predict_checked_f32_owned, predict_chunked, Predictor,
};

/// A weighted background (reference) data set.
///
/// Kernel SHAP and Permutation SHAP cost one model evaluation per background row and
/// coalition, so large background sets are usually summarised with [`Background::kmeans`]
/// (cluster centres weighted by cluster size, as `shap.kmeans`).
#[derive(Debug, Clone, PartialEq)]
pub struct Background {
    data: Array2<f64>,
    weights: Array1<f64>,
}

impl Background {
    /// Every row of `data` with weight 1.
    pub fn new(data: Array2<f64>) -> Result<Self> {
        let w = Array1::ones(data.nrows());
        Self::weighted(data, w)
    }

    /// Rows of `data` with the given non-negative weights (positive sum).
    pub fn weighted(data: Array2<f64>, weights: Array1<f64>) -> Result<Self> {
        const OP: &str = "Background";
        check_matrix(OP, "background data", data.view())?;
        if weights.len() != data.nrows() {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what: "weights",
                expected: vec![data.nrows()],
                found: vec![weights.len()],
            });
        }
        if let Some(i) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
            return Err(ExplainError::invalid(
                OP,
                "weights",
                format!("weight {i} is {} (must be finite and >= 0)", weights[i]),
            ));
        }
        if weights.sum() <= 0.0 {
            return Err(ExplainError::invalid(OP, "weights", "weights sum to zero"));
        }
        Ok(Background { data, weights })
    }

    /// Summarises `data` by `k` k-means centres weighted by cluster sizes (`shap.kmeans`).
    pub fn kmeans(data: ArrayView2<f64>, k: usize, seed: u64) -> Result<Self> {
        let km = kmeans(
            data,
            &KMeansConfig {
                k,
                seed,
                ..KMeansConfig::default()
            },
        )?;
        let weights = km.counts.mapv(|c| c as f64);
        Self::weighted(km.centers, weights)
    }

    /// The background rows `[rows, features]`.
    pub fn data(&self) -> ArrayView2<'_, f64> {
        self.data.view()
    }

    /// The row weights.
    pub fn weights(&self) -> ArrayView1<'_, f64> {
        self.weights.view()
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.data.ncols()
    }

    /// Weighted mean of the predictor's outputs over the background rows: `E_b[f(b)]`.
    pub fn expected_value<P: Predictor + ?Sized>(
        &self,
        op: &'static str,
        p: &P,
    ) -> Result<Array1<f64>> {
        let y = predict_chunked(op, p, self.data.view(), None, usize::MAX)?;
        Ok(y.t().dot(&self.weights) / self.weights.sum())
    }
}

/// Shapley values of a batch of inputs for every output of the predictor.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapleyValues {
    /// Attributions `[inputs, features, outputs]`.
    pub values: Array3<f64>,
    /// `E_b[f(b)]` per output (the value of the empty coalition).
    pub base_values: Array1<f64>,
    /// `f(x)` per input and output (the value of the full coalition).
    pub outputs: Array2<f64>,
}

impl ShapleyValues {
    /// Attributions of output `k` as `[inputs, features]`.
    pub fn for_output(&self, k: usize) -> Result<Array2<f64>> {
        if k >= self.values.len_of(Axis(2)) {
            return Err(ExplainError::TargetOutOfRange {
                op: "ShapleyValues::for_output",
                target: k,
                outputs: self.values.len_of(Axis(2)),
            });
        }
        Ok(self.values.index_axis(Axis(2), k).to_owned())
    }

    /// Largest violation of efficiency: `max |Σ_j φ_ij − (f(x_i) − E f)|` over inputs and
    /// outputs.
    pub fn efficiency_gap(&self) -> f64 {
        let sums = self.values.sum_axis(Axis(1));
        let mut gap: f64 = 0.0;
        for ((i, k), s) in sums.indexed_iter() {
            gap = gap.max((s - (self.outputs[[i, k]] - self.base_values[k])).abs());
        }
        gap
    }
}

/// Validates `x` against the background and returns the number of features.
pub(crate) fn check_inputs(op: &'static str, x: ArrayView2<f64>, bg: &Background) -> Result<usize> {
    check_matrix(op, "inputs", x)?;
    if x.ncols() != bg.n_features() {
        return Err(ExplainError::ShapeMismatch {
            op,
            what: "inputs (columns must match the background)",
            expected: vec![x.nrows(), bg.n_features()],
            found: x.shape().to_vec(),
        });
    }
    Ok(x.ncols())
}

/// Explains the rows `rows` of `x` for an explainer with base values `expected`
/// (`E_b[f(b)]`): checks `x` against the background, evaluates `f(x)` on all of `x` (so a
/// row's `f(x_i)` does not depend on which rows are explained) and runs [`explain_rows`].
pub(crate) fn explain_inputs<P, F>(
    op: &'static str,
    predictor: &P,
    background: &Background,
    expected: &Array1<f64>,
    x: ArrayView2<f64>,
    rows: Range<usize>,
    explain_one: F,
) -> Result<ShapleyValues>
where
    P: Predictor + ?Sized,
    F: Fn(usize, ArrayView1<f64>, ArrayView1<f64>) -> Result<Array2<f64>> + Sync,
{
    let m = check_inputs(op, x, background)?;
    check_row_range(op, x.nrows(), &rows)?;
    let fx = predict_checked(op, predictor, x, Some(expected.len()))?;
    explain_rows(x, fx, m, expected.clone(), rows, explain_one)
}

/// Errors unless `rows` lies within `0..n`.
pub(crate) fn check_row_range(op: &'static str, n: usize, rows: &Range<usize>) -> Result<()> {
    if rows.start > rows.end || rows.end > n {
        return Err(ExplainError::invalid(
            op,
            "rows",
            format!("{rows:?} is not a range of rows of an input with {n} rows"),
        ));
    }
    Ok(())
}

/// Runs `explain_one(i, x_i, f(x_i))` (each `[features, outputs]`) for every row `i` in
/// `rows` (global row indices, which seed per-row randomness), in parallel over inputs, and
/// assembles the [`ShapleyValues`] of those rows from `m` features, the model outputs `fx`
/// of every row of `x` and the base values. The first failing input's error is returned.
pub(crate) fn explain_rows<F>(
    x: ArrayView2<f64>,
    fx: Array2<f64>,
    m: usize,
    base_values: Array1<f64>,
    rows: Range<usize>,
    explain_one: F,
) -> Result<ShapleyValues>
where
    F: Fn(usize, ArrayView1<f64>, ArrayView1<f64>) -> Result<Array2<f64>> + Sync,
{
    let results: Vec<Result<Array2<f64>>> = rows
        .clone()
        .into_par_iter()
        .map(|i| explain_one(i, x.row(i), fx.row(i)))
        .collect();
    let mut values = Array3::zeros((rows.len(), m, base_values.len()));
    for (i, r) in results.into_iter().enumerate() {
        values.index_axis_mut(Axis(0), i).assign(&r?);
    }
    let outputs = if rows == (0..fx.nrows()) {
        fx
    } else {
        fx.slice(s![rows, ..]).to_owned()
    };
    Ok(ShapleyValues {
        values,
        base_values,
        outputs,
    })
}

/// Values `v(S)` of coalitions for one input: `masks` is `[coalitions, features]` with
/// `true` = feature taken from `x`. Returns `[coalitions, outputs]`. Model evaluations are
/// batched in calls of at most `max_rows` rows (at least one coalition per call).
pub(crate) fn coalition_values<P: Predictor + ?Sized>(
    op: &'static str,
    p: &P,
    x: ArrayView1<f64>,
    bg: &Background,
    masks: ArrayView2<bool>,
    outputs: usize,
    max_rows: usize,
) -> Result<Array2<f64>> {
    if p.prefers_f32() {
        let xs: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let bg_rows: Vec<f32> = bg.data.iter().map(|&v| v as f32).collect();
        coalition_values_in(op, &xs, &bg_rows, bg, masks, outputs, max_rows, |b| {
            predict_checked_f32_owned(op, p, b, Some(outputs))
        })
    } else {
        let xs: Vec<f64> = x.to_vec();
        let bg_rows: Vec<f64> = bg.data.iter().copied().collect(); // row-major copy
        coalition_values_in(op, &xs, &bg_rows, bg, masks, outputs, max_rows, |b| {
            predict_checked(op, p, b.view(), Some(outputs))
        })
    }
}

/// An element type of coalition rows, picked from `x` or a background row by a bit mask:
/// `pick(b, x, mask)` is `x` where `mask` is all ones and `b` where it is zero. Selecting by
/// bits (not by a `bool` per feature) lets the row builder run as plain vector code.
trait Lane: Copy + Default {
    /// Unsigned integer of the same width.
    type Bits: Copy + Default;
    /// The all-ones mask.
    const ALL: Self::Bits;
    fn pick(b: Self, x: Self, mask: Self::Bits) -> Self;
}

impl Lane for f32 {
    type Bits = u32;
    const ALL: u32 = u32::MAX;
    #[inline(always)]
    fn pick(b: f32, x: f32, mask: u32) -> f32 {
        let (b, x) = (b.to_bits(), x.to_bits());
        f32::from_bits(b ^ ((b ^ x) & mask))
    }
}

impl Lane for f64 {
    type Bits = u64;
    const ALL: u64 = u64::MAX;
    #[inline(always)]
    fn pick(b: f64, x: f64, mask: u64) -> f64 {
        let (b, x) = (b.to_bits(), x.to_bits());
        f64::from_bits(b ^ ((b ^ x) & mask))
    }
}

/// [`coalition_values`] with rows of element type `T` (`f64`, or `f32` for predictors that
/// prefer it): each chunk of coalitions × background rows is written into a buffer that is
/// handed to the predictor (an `f32` network takes it as its input tensor without a copy).
#[allow(clippy::too_many_arguments)]
fn coalition_values_in<T: Lane>(
    op: &'static str,
    xs: &[T],
    bg_rows: &[T],
    bg: &Background,
    masks: ArrayView2<bool>,
    outputs: usize,
    max_rows: usize,
    predict: impl Fn(Array2<T>) -> Result<Array2<f64>>,
) -> Result<Array2<f64>> {
    let n_bg = bg.data.nrows();
    let m = xs.len();
    let n_masks = masks.nrows();
    let per_call = (max_rows / n_bg).max(1);
    let wsum = bg.weights.sum();
    let wnorm: Vec<f64> = bg.weights.iter().map(|w| w / wsum).collect();
    let mut out = vec![0.0f64; n_masks * outputs];
    let mut bits: Vec<T::Bits> = vec![T::Bits::default(); m];
    let mut start = 0;
    while start < n_masks {
        let end = (start + per_call).min(n_masks);
        let rows = (end - start) * n_bg;
        let mut buf: Vec<T> = Vec::with_capacity(rows * m);
        for mask in masks.slice(s![start..end, ..]).outer_iter() {
            for (b, &k) in bits.iter_mut().zip(mask) {
                *b = if k { T::ALL } else { T::Bits::default() };
            }
            let bits = &bits;
            // Appended, not overwritten: the buffer is written once, never zeroed first.
            vectorized(|| {
                for bg_row in bg_rows.chunks_exact(m) {
                    buf.extend(
                        bg_row
                            .iter()
                            .zip(xs)
                            .zip(bits)
                            .map(|((&b, &v), &k)| T::pick(b, v, k)),
                    );
                }
            });
        }
        let batch = Array2::from_shape_vec((rows, m), buf)
            .map_err(|e| ExplainError::invalid(op, "batch", e.to_string()))?;
        let y = predict(batch)?;
        let y = y.as_standard_layout();
        let ys = y.as_slice().expect("standard layout");
        // v(S) = Σ_b w_b f(x_S, b_¬S): one weighted sum of n_bg output rows per coalition.
        let dst = &mut out[start * outputs..end * outputs];
        for (o, yc) in dst
            .chunks_exact_mut(outputs)
            .zip(ys.chunks_exact(n_bg * outputs))
        {
            for (yr, &w) in yc.chunks_exact(outputs).zip(&wnorm) {
                o.iter_mut().zip(yr).for_each(|(a, &v)| *a += w * v);
            }
        }
        start = end;
    }
    Ok(Array2::from_shape_vec((n_masks, outputs), out).expect("n_masks x outputs"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// A model that computes in f32 and says so, to exercise the f32 coalition path.
    struct F32Model;

    impl F32Model {
        fn rows(x: ArrayView2<f32>) -> Array2<f64> {
            let y: Vec<f64> = x
                .outer_iter()
                .flat_map(|r| {
                    let a = 2.0 * r[0] - r[1] * r[2];
                    [a as f64, (r[2] + 0.5 * r[0]) as f64]
                })
                .collect();
            Array2::from_shape_vec((x.nrows(), 2), y).unwrap()
        }
    }

    impl Predictor for F32Model {
        fn predict(&self, x: ArrayView2<f64>) -> crate::PredictResult {
            Ok(Self::rows(x.mapv(|v| v as f32).view()))
        }
        fn predict_f32(&self, x: ArrayView2<f32>) -> crate::PredictResult {
            Ok(Self::rows(x))
        }
        fn prefers_f32(&self) -> bool {
            true
        }
    }

    #[test]
    fn f32_and_f64_coalition_paths_agree_with_a_direct_average() {
        let bg = Background::new(array![[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]).unwrap();
        let x = array![1.0, 2.0, -3.0];
        let masks = array![
            [true, false, true],
            [false, false, false],
            [true, true, true]
        ];
        let as_closure = |rows: ArrayView2<f64>| F32Model.predict(rows).unwrap();
        let f32_path = coalition_values("t", &F32Model, x.view(), &bg, masks.view(), 2, 3).unwrap();
        let f64_path =
            coalition_values("t", &as_closure, x.view(), &bg, masks.view(), 2, 3).unwrap();
        for (ci, mask) in masks.outer_iter().enumerate() {
            // Direct: average of f over the background rows with x on the mask.
            let mut want = [0.0f64; 2];
            for b in bg.data.outer_iter() {
                let z: Vec<f64> = (0..3).map(|j| if mask[j] { x[j] } else { b[j] }).collect();
                let y = F32Model
                    .predict(Array2::from_shape_vec((1, 3), z).unwrap().view())
                    .unwrap();
                want[0] += y[[0, 0]] / 2.0;
                want[1] += y[[0, 1]] / 2.0;
            }
            for c in 0..2 {
                assert!(
                    (f32_path[[ci, c]] - want[c]).abs() < 1e-9,
                    "f32 path {ci},{c}"
                );
                assert!(
                    (f64_path[[ci, c]] - want[c]).abs() < 1e-9,
                    "f64 path {ci},{c}"
                );
            }
        }
    }
}
