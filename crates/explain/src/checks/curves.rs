//! Deletion and insertion curves (Petsiuk et al., 2018, "RISE").

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;

use crate::error::{ExplainError, Result};
use crate::perturbation::Baseline;
use crate::predictor::{
    check_matrix, check_target, predict_checked, predict_chunked, Predictor, DEFAULT_MAX_BATCH_ROWS,
};

const OP: &str = "perturbation_curves";

/// Which curve to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveKind {
    /// Start from the input and replace features by the baseline, most important first.
    /// A good attribution makes the output fall fast: a *low* area.
    Deletion,
    /// Start from the baseline and restore input features, most important first. A good
    /// attribution makes the output rise fast: a *high* area.
    Insertion,
}

/// Settings of [`perturbation_curves`].
#[derive(Debug, Clone, PartialEq)]
pub struct CurveConfig {
    /// Points after the start (`0` = one point per feature).
    pub steps: usize,
    /// Value of deleted (not yet inserted) features.
    pub baseline: Baseline,
    /// Cap on rows per predictor call.
    pub max_batch_rows: usize,
}

impl Default for CurveConfig {
    fn default() -> Self {
        CurveConfig {
            steps: 0,
            baseline: Baseline::Scalar(0.0),
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
        }
    }
}

/// One deletion or insertion curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Fraction of features deleted (or inserted) at each point, from 0 to 1.
    pub fractions: Array1<f64>,
    /// Model output `target` at each point.
    pub scores: Array1<f64>,
    /// Area under the curve over `[0, 1]` (trapezoid rule).
    pub auc: f64,
}

/// Area under `y(x)` by the trapezoid rule (`x` ascending; extra points of the longer
/// argument are ignored).
pub fn auc_trapezoid(x: ArrayView1<f64>, y: ArrayView1<f64>) -> f64 {
    (1..x.len().min(y.len()))
        .map(|i| (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0)
        .sum()
}

/// Deletion or insertion curve of every row of `x` under its attribution row (features
/// ordered by decreasing attribution, ties by index). Rows are processed in parallel;
/// the points of one row go to the model in one batched call.
pub fn perturbation_curves<P: Predictor + ?Sized>(
    kind: CurveKind,
    predictor: &P,
    x: ArrayView2<f64>,
    attributions: ArrayView2<f64>,
    target: usize,
    config: &CurveConfig,
) -> Result<Vec<Curve>> {
    check_matrix(OP, "inputs", x)?;
    check_matrix(OP, "attributions", attributions)?;
    if x.dim() != attributions.dim() {
        return Err(ExplainError::ShapeMismatch {
            op: OP,
            what: "attributions",
            expected: x.shape().to_vec(),
            found: attributions.shape().to_vec(),
        });
    }
    let (n, m) = x.dim();
    config.baseline.check(OP, n, m)?;
    let k = predict_checked(OP, predictor, x.slice(ndarray::s![..1, ..]), None)?.ncols();
    check_target(OP, target, k)?;
    let steps = if config.steps == 0 { m } else { config.steps };
    let counts: Vec<usize> = (0..=steps)
        .map(|s| ((s as f64 * m as f64 / steps as f64).round() as usize).min(m))
        .collect();
    let fractions: Array1<f64> = counts.iter().map(|&c| c as f64 / m as f64).collect();
    (0..n)
        .into_par_iter()
        .map(|i| {
            let mut order: Vec<usize> = (0..m).collect();
            order.sort_by(|&a, &b| attributions[[i, b]].total_cmp(&attributions[[i, a]]));
            let mut batch = Array2::zeros((counts.len(), m));
            for (s, &c) in counts.iter().enumerate() {
                let mut row = batch.row_mut(s);
                for j in 0..m {
                    row[j] = match kind {
                        CurveKind::Deletion => x[[i, j]],
                        CurveKind::Insertion => config.baseline.value(i, j),
                    };
                }
                for &j in &order[..c] {
                    row[j] = match kind {
                        CurveKind::Deletion => config.baseline.value(i, j),
                        CurveKind::Insertion => x[[i, j]],
                    };
                }
            }
            let y = predict_chunked(OP, predictor, batch.view(), Some(k), config.max_batch_rows)?;
            let scores = y.column(target).to_owned();
            let auc = auc_trapezoid(fractions.view(), scores.view());
            Ok(Curve {
                fractions: fractions.clone(),
                scores,
                auc,
            })
        })
        .collect()
}

/// Deletion curves ([`CurveKind::Deletion`]).
pub fn deletion_curve<P: Predictor + ?Sized>(
    predictor: &P,
    x: ArrayView2<f64>,
    attributions: ArrayView2<f64>,
    target: usize,
    config: &CurveConfig,
) -> Result<Vec<Curve>> {
    perturbation_curves(
        CurveKind::Deletion,
        predictor,
        x,
        attributions,
        target,
        config,
    )
}

/// Insertion curves ([`CurveKind::Insertion`]).
pub fn insertion_curve<P: Predictor + ?Sized>(
    predictor: &P,
    x: ArrayView2<f64>,
    attributions: ArrayView2<f64>,
    target: usize,
    config: &CurveConfig,
) -> Result<Vec<Curve>> {
    perturbation_curves(
        CurveKind::Insertion,
        predictor,
        x,
        attributions,
        target,
        config,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Axis};

    #[test]
    fn curves_of_a_sum_model_follow_the_ranking() {
        // f = sum(x); x = [3, 1, 2]; ranking by attribution [0.9, 0.1, 0.5] is 0, 2, 1.
        let f = |x: ArrayView2<f64>| x.sum_axis(Axis(1)).insert_axis(Axis(1));
        let x = array![[3.0, 1.0, 2.0]];
        let a = array![[0.9, 0.1, 0.5]];
        let d = deletion_curve(&f, x.view(), a.view(), 0, &CurveConfig::default()).unwrap();
        assert_eq!(d[0].scores.to_vec(), vec![6.0, 3.0, 1.0, 0.0]);
        // trapezoid with spacing 1/3: (6+3)/2 + (3+1)/2 + (1+0)/2 = 7 → 7/3
        assert!((d[0].auc - 7.0 / 3.0).abs() < 1e-12);
        let ins = insertion_curve(&f, x.view(), a.view(), 0, &CurveConfig::default()).unwrap();
        assert_eq!(ins[0].scores.to_vec(), vec![0.0, 3.0, 5.0, 6.0]);
        // the reverse ranking deletes slowly: larger area
        let bad = deletion_curve(&f, x.view(), (-&a).view(), 0, &CurveConfig::default()).unwrap();
        assert!(bad[0].auc > d[0].auc);
    }
}
