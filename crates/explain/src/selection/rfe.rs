//! Recursive feature elimination driven by any importance function.

use ndarray::{Array1, ArrayView2, Axis};

use crate::error::{ExplainError, Result};
use crate::predictor::check_matrix;

/// Result of [`recursive_feature_elimination`].
#[derive(Debug, Clone, PartialEq)]
pub struct RfeResult {
    /// Selected feature indices, ascending.
    pub selected: Vec<usize>,
    /// Whether each feature was kept.
    pub support: Vec<bool>,
    /// scikit-learn `RFE.ranking_`: 1 for selected features, larger for features removed
    /// earlier.
    pub ranking: Vec<usize>,
}

/// Recursive feature elimination (Guyon et al., 2002; scikit-learn `RFE`).
///
/// Starting from all features, `importance` is called with the columns still in play
/// (`x` restricted to them, and their original indices) and must return one importance per
/// column; the `step` least important are dropped, until `n_select` remain. Any importance
/// of this crate fits: permutation importance of a model refitted on the subset, mean
/// |SHAP|, univariate scores, etc.
pub fn recursive_feature_elimination<F>(
    x: ArrayView2<f64>,
    n_select: usize,
    step: usize,
    mut importance: F,
) -> Result<RfeResult>
where
    F: FnMut(ArrayView2<f64>, &[usize]) -> Result<Array1<f64>>,
{
    const OP: &str = "recursive_feature_elimination";
    check_matrix(OP, "x", x)?;
    let m = x.ncols();
    if n_select == 0 || n_select > m {
        return Err(ExplainError::invalid(
            OP,
            "n_select",
            format!("{n_select} must be in 1..={m}"),
        ));
    }
    if step == 0 {
        return Err(ExplainError::invalid(OP, "step", "must be positive"));
    }
    let mut active: Vec<usize> = (0..m).collect();
    let mut ranking = vec![1usize; m];
    while active.len() > n_select {
        let sub = x.select(Axis(1), &active);
        let imp = importance(sub.view(), &active)?;
        if imp.len() != active.len() {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what: "importance output",
                expected: vec![active.len()],
                found: vec![imp.len()],
            });
        }
        if let Some(p) = imp.iter().position(|v| !v.is_finite()) {
            return Err(ExplainError::invalid(
                OP,
                "importance output",
                format!("importance of feature {} is {}", active[p], imp[p]),
            ));
        }
        let mut order: Vec<usize> = (0..active.len()).collect();
        order.sort_by(|&a, &b| imp[a].total_cmp(&imp[b]));
        let n_drop = step.min(active.len() - n_select);
        let drop: Vec<usize> = order[..n_drop].iter().map(|&p| active[p]).collect();
        active.retain(|j| !drop.contains(j));
        for (j, r) in ranking.iter_mut().enumerate() {
            if !active.contains(&j) {
                *r += 1;
            }
        }
    }
    let support: Vec<bool> = (0..m).map(|j| active.contains(&j)).collect();
    Ok(RfeResult {
        selected: active,
        support,
        ranking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn eliminates_in_order_of_importance() {
        // importance = the column's original index: features leave in order 0, 1, 2.
        let x = array![[1.0, 2.0, 3.0, 4.0]];
        let r = recursive_feature_elimination(x.view(), 1, 1, |sub, idx| {
            assert_eq!(sub.ncols(), idx.len());
            Ok(idx.iter().map(|&j| j as f64).collect())
        })
        .unwrap();
        assert_eq!(r.selected, vec![3]);
        assert_eq!(r.ranking, vec![4, 3, 2, 1]);
        assert_eq!(r.support, vec![false, false, false, true]);
        let r = recursive_feature_elimination(x.view(), 2, 5, |_, idx| {
            Ok(idx.iter().map(|&j| -(j as f64)).collect())
        })
        .unwrap();
        assert_eq!(r.selected, vec![0, 1]);
        assert_eq!(r.ranking, vec![1, 1, 2, 2]);
    }
}
