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

use ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};

use crate::error::{ExplainError, Result};
use crate::predictor::{check_matrix, predict_chunked, Predictor};

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
    let n_bg = bg.data.nrows();
    let m = x.len();
    let n_masks = masks.nrows();
    let per_call = (max_rows / n_bg).max(1);
    let wsum = bg.weights.sum();
    let wnorm: Vec<f64> = bg.weights.iter().map(|w| w / wsum).collect();
    let xs: Vec<f64> = x.to_vec();
    let bg_rows: Vec<f64> = bg.data.iter().copied().collect(); // row-major copy
    let mut out = Array2::zeros((n_masks, outputs));
    let mut present: Vec<usize> = Vec::with_capacity(m);
    let mut start = 0;
    while start < n_masks {
        let end = (start + per_call).min(n_masks);
        let rows = (end - start) * n_bg;
        let mut buf = vec![0.0f64; rows * m];
        for (ci, mask) in masks.slice(s![start..end, ..]).outer_iter().enumerate() {
            present.clear();
            present.extend((0..m).filter(|&j| mask[j]));
            let block = &mut buf[ci * n_bg * m..(ci + 1) * n_bg * m];
            block.copy_from_slice(&bg_rows);
            for dst in block.chunks_exact_mut(m) {
                for &j in &present {
                    dst[j] = xs[j];
                }
            }
        }
        let batch = Array2::from_shape_vec((rows, m), buf).expect("buffer has rows * m values");
        let y = predict_chunked(op, p, batch.view(), Some(outputs), usize::MAX)?;
        for ci in 0..end - start {
            let mut o = out.row_mut(start + ci);
            for (bi, w) in wnorm.iter().enumerate() {
                let yr = y.row(ci * n_bg + bi);
                for c in 0..outputs {
                    o[c] += w * yr[c];
                }
            }
        }
        start = end;
    }
    Ok(out)
}
