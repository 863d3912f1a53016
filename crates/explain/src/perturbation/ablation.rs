//! Feature ablation with optional feature groups.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use super::Baseline;
use crate::error::{ExplainError, Result};
use crate::predictor::{
    check_matrix, check_target, predict_checked, predict_chunked, Predictor, DEFAULT_MAX_BATCH_ROWS,
};

const OP: &str = "feature_ablation";

/// Settings of [`feature_ablation`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureAblationConfig {
    /// Value of an ablated feature.
    pub baseline: Baseline,
    /// Group id of each feature (length = features): features sharing an id are ablated
    /// together and receive the same attribution (Captum's `feature_mask`). `None` ablates
    /// every feature on its own.
    pub feature_mask: Option<Vec<usize>>,
    /// Cap on rows per predictor call; `0` means [`DEFAULT_MAX_BATCH_ROWS`].
    pub max_batch_rows: usize,
}

/// Feature ablation (Captum `FeatureAblation`): the attribution of a feature (group) is
/// `f(x)[target] − f(x with the group set to the baseline)[target]`.
///
/// `x` is `[inputs, features]`; the result has the same shape. All ablated copies of an
/// input are evaluated in one batched predictor call (chunked by `max_batch_rows`), inputs
/// in parallel.
pub fn feature_ablation<P: Predictor + ?Sized>(
    predictor: &P,
    x: ArrayView2<f64>,
    target: usize,
    config: &FeatureAblationConfig,
) -> Result<Array2<f64>> {
    check_matrix(OP, "inputs", x)?;
    let (n, m) = x.dim();
    config.baseline.check(OP, n, m)?;
    let groups = group_members(OP, config.feature_mask.as_deref(), m)?;
    let fx = predict_checked(OP, predictor, x, None)?;
    let k = fx.ncols();
    check_target(OP, target, k)?;
    let max_rows = if config.max_batch_rows == 0 {
        DEFAULT_MAX_BATCH_ROWS
    } else {
        config.max_batch_rows
    };
    let rows: Vec<Result<Vec<f64>>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut batch = Array2::zeros((groups.len(), m));
            for (g, members) in groups.iter().enumerate() {
                let mut row = batch.row_mut(g);
                row.assign(&x.row(i));
                for &j in members {
                    row[j] = config.baseline.value(i, j);
                }
            }
            let y = predict_chunked(OP, predictor, batch.view(), Some(k), max_rows)?;
            let mut attr = vec![0.0; m];
            for (g, members) in groups.iter().enumerate() {
                let d = fx[[i, target]] - y[[g, target]];
                for &j in members {
                    attr[j] = d;
                }
            }
            Ok(attr)
        })
        .collect();
    let mut out = Array2::zeros((n, m));
    for (i, r) in rows.into_iter().enumerate() {
        for (j, v) in r?.into_iter().enumerate() {
            out[[i, j]] = v;
        }
    }
    Ok(out)
}

/// Members of each group, groups ordered by first appearance.
pub(crate) fn group_members(
    op: &'static str,
    mask: Option<&[usize]>,
    m: usize,
) -> Result<Vec<Vec<usize>>> {
    match mask {
        None => Ok((0..m).map(|j| vec![j]).collect()),
        Some(mask) => {
            if mask.len() != m {
                return Err(ExplainError::ShapeMismatch {
                    op,
                    what: "feature_mask",
                    expected: vec![m],
                    found: vec![mask.len()],
                });
            }
            let mut ids: Vec<usize> = Vec::new();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for (j, &g) in mask.iter().enumerate() {
                match ids.iter().position(|&id| id == g) {
                    Some(p) => groups[p].push(j),
                    None => {
                        ids.push(g);
                        groups.push(vec![j]);
                    }
                }
            }
            Ok(groups)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Axis};

    #[test]
    fn linear_model_ablation_is_weight_times_difference() {
        // f = [x0 + 2 x1 + 3 x2, -x0]; baseline 1 → attribution of feature j for output 0
        // is w_j (x_j - 1).
        let f = |x: ArrayView2<f64>| {
            let a = &x.column(0) + &(2.0 * &x.column(1)) + 3.0 * &x.column(2);
            ndarray::stack(Axis(1), &[a.view(), (-&x.column(0)).view()]).unwrap()
        };
        let x = array![[2.0, 3.0, 4.0]];
        let cfg = FeatureAblationConfig {
            baseline: Baseline::Scalar(1.0),
            ..Default::default()
        };
        let a = feature_ablation(&f, x.view(), 0, &cfg).unwrap();
        assert_eq!(a, array![[1.0, 4.0, 9.0]]);
        let grouped = FeatureAblationConfig {
            baseline: Baseline::Scalar(1.0),
            feature_mask: Some(vec![7, 3, 7]),
            max_batch_rows: 1,
        };
        let a = feature_ablation(&f, x.view(), 0, &grouped).unwrap();
        assert_eq!(a, array![[10.0, 4.0, 10.0]]);
        assert!(matches!(
            feature_ablation(&f, x.view(), 2, &cfg),
            Err(ExplainError::TargetOutOfRange {
                target: 2,
                outputs: 2,
                ..
            })
        ));
    }
}
