//! Feature selection: variance threshold, univariate scores (ANOVA F, χ², mutual
//! information) with SelectKBest, and recursive feature elimination driven by any
//! importance.

mod mutual_info;
mod rfe;
pub mod special;
mod univariate;

pub use mutual_info::{mutual_info_classif, MutualInfoConfig};
pub use rfe::{recursive_feature_elimination, RfeResult};
pub use univariate::{
    chi2, f_classif, select_k_best, variance_threshold, variances, UnivariateScores,
};

use crate::error::{ExplainError, Result};

/// Checks there is one label per row.
pub(crate) fn check_labels(op: &'static str, rows: usize, y: &[usize]) -> Result<()> {
    if y.len() != rows {
        return Err(ExplainError::ShapeMismatch {
            op,
            what: "labels y",
            expected: vec![rows],
            found: vec![y.len()],
        });
    }
    Ok(())
}

/// Sorted distinct labels.
pub(crate) fn classes(y: &[usize]) -> Vec<usize> {
    let mut c = y.to_vec();
    c.sort_unstable();
    c.dedup();
    c
}
