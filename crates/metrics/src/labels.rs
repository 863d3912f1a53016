//! Label bookkeeping shared by the classification metrics.

use crate::error::{MetricsError, Result};

/// Sorted distinct labels of the given slices (scikit-learn's `unique_labels`).
pub fn unique_labels<T: Ord + Clone>(slices: &[&[T]]) -> Vec<T> {
    let mut all: Vec<T> = slices.iter().flat_map(|s| s.iter().cloned()).collect();
    all.sort();
    all.dedup();
    all
}

/// Index of every value in `labels` (sorted), or `None` if absent.
pub(crate) fn encode<T: Ord>(values: &[T], labels: &[T]) -> Vec<Option<usize>> {
    values
        .iter()
        .map(|v| labels.binary_search(v).ok())
        .collect()
}

/// Resolves user labels (any order, must be distinct) or the sorted union of the data's.
/// Returns the labels in the caller's order and a sorted copy with the permutation.
pub(crate) fn resolve<T: Ord + Clone>(
    metric: &'static str,
    given: Option<&[T]>,
    slices: &[&[T]],
) -> Result<Vec<T>> {
    match given {
        None => Ok(unique_labels(slices)),
        Some(l) => {
            let mut s = l.to_vec();
            s.sort();
            s.dedup();
            if s.len() != l.len() {
                return Err(MetricsError::Labels {
                    metric,
                    reason: "labels contain duplicates".into(),
                });
            }
            if l.is_empty() {
                return Err(MetricsError::Labels {
                    metric,
                    reason: "labels is empty".into(),
                });
            }
            Ok(l.to_vec())
        }
    }
}

/// Position of each value in `labels` (any order), `None` when absent.
pub(crate) fn positions<T: Ord + Clone>(values: &[T], labels: &[T]) -> Vec<Option<usize>> {
    let mut sorted: Vec<(T, usize)> = labels.iter().cloned().zip(0..).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let keys: Vec<T> = sorted.iter().map(|p| p.0.clone()).collect();
    encode(values, &keys)
        .into_iter()
        .map(|k| k.map(|k| sorted[k].1))
        .collect()
}
