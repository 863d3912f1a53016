//! Encoding class labels as `0..n_classes`.

use crate::error::{DataError, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// Maps labels to indices of their sorted distinct values (scikit-learn's `LabelEncoder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelEncoder<T> {
    /// Sorted distinct labels; label `classes[k]` is encoded as `k`.
    pub classes: Vec<T>,
}

impl<T: Ord + Clone + Debug> LabelEncoder<T> {
    /// Learns the sorted distinct labels.
    pub fn fit(y: &[T]) -> Result<Self> {
        if y.is_empty() {
            return Err(DataError::Empty {
                op: "LabelEncoder::fit",
                reason: "no labels".into(),
            });
        }
        let mut classes = y.to_vec();
        classes.sort();
        classes.dedup();
        Ok(LabelEncoder { classes })
    }

    /// Fits and encodes in one go.
    pub fn fit_transform(y: &[T]) -> Result<(Self, Vec<usize>)> {
        let enc = Self::fit(y)?;
        let codes = enc.transform(y)?;
        Ok((enc, codes))
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Encodes labels; an unseen label is an error naming its (1-based) row.
    pub fn transform(&self, y: &[T]) -> Result<Vec<usize>> {
        y.iter()
            .enumerate()
            .map(|(i, v)| {
                self.classes
                    .binary_search(v)
                    .map_err(|_| DataError::UnknownCategory {
                        op: "LabelEncoder::transform",
                        column: "label".into(),
                        row: i + 1,
                        value: format!("{v:?}"),
                    })
            })
            .collect()
    }

    /// Decodes indices; an index `>= n_classes` is an error.
    pub fn inverse_transform(&self, codes: &[usize]) -> Result<Vec<T>> {
        codes
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                self.classes.get(c).cloned().ok_or_else(|| {
                    DataError::invalid(
                        "LabelEncoder::inverse_transform",
                        format!(
                            "code {c} at row {} is not below {} classes",
                            i + 1,
                            self.classes.len()
                        ),
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_sorted_and_round_trips() {
        let y = ["cat", "ant", "cat", "bee"];
        let (enc, codes) = LabelEncoder::fit_transform(&y).unwrap();
        assert_eq!(enc.classes, vec!["ant", "bee", "cat"]);
        assert_eq!(codes, vec![2, 0, 2, 1]);
        assert_eq!(enc.inverse_transform(&codes).unwrap(), y.to_vec());
        let e = enc.transform(&["dog"]).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("dog"), "{e}");
        assert!(enc.inverse_transform(&[3]).is_err());
        assert!(LabelEncoder::<i32>::fit(&[]).is_err());
    }
}
