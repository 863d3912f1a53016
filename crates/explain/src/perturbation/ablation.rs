//! Feature ablation with optional feature groups.

use ndarray::{Array2, ArrayView2};

use super::{removal_attributions, Baseline};
use crate::error::{ExplainError, Result};
use crate::predictor::{check_matrix, Predictor};

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
    /// Cap on rows per predictor call; `0` means
    /// [`DEFAULT_MAX_BATCH_ROWS`](crate::predictor::DEFAULT_MAX_BATCH_ROWS).
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
    removal_attributions(
        OP,
        predictor,
        x,
        target,
        &config.baseline,
        &groups,
        config.max_batch_rows,
        |drops, attr| {
            for (&d, members) in drops.iter().zip(&groups) {
                for &j in members {
                    attr[j] = d;
                }
            }
        },
    )
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
