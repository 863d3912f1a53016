//! Categorical → numeric encoders: one-hot and ordinal.
//!
//! Inputs are string matrices (`n_samples × n_features`, any `AsRef<str>` element).
//! Categories are learnt per column and sorted, as scikit-learn does.

use crate::error::{DataError, Result};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What to do with a category that was not seen at fit time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandleUnknown {
    /// Return [`DataError::UnknownCategory`] naming the row, column and value.
    Error,
    /// Encode it as all zeros (one-hot) or as the encoder's `unknown_value` (ordinal).
    Ignore,
}

fn learn_categories<S: AsRef<str>>(
    op: &'static str,
    x: ArrayView2<'_, S>,
) -> Result<Vec<Vec<String>>> {
    if x.nrows() == 0 {
        return Err(DataError::Empty {
            op,
            reason: format!("cannot fit on an array of shape {:?}", x.shape()),
        });
    }
    Ok(x.columns()
        .into_iter()
        .map(|col| {
            col.iter()
                .map(|s| s.as_ref().to_string())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        })
        .collect())
}

fn check_width<S>(op: &'static str, n: usize, x: &ArrayView2<'_, S>) -> Result<()> {
    if x.ncols() != n {
        return Err(DataError::shape(
            op,
            format!("{n} columns (as at fit time)"),
            format!("{} columns", x.ncols()),
        ));
    }
    Ok(())
}

/// One binary column per (column, category) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneHotEncoder {
    /// Unknown categories at transform time (default: error).
    pub handle_unknown: HandleUnknown,
}

impl Default for OneHotEncoder {
    fn default() -> Self {
        OneHotEncoder {
            handle_unknown: HandleUnknown::Error,
        }
    }
}

impl OneHotEncoder {
    /// Learns the sorted categories of each column.
    pub fn fit<S: AsRef<str>>(&self, x: ArrayView2<'_, S>) -> Result<FittedOneHotEncoder> {
        Ok(FittedOneHotEncoder {
            categories: learn_categories("OneHotEncoder::fit", x)?,
            handle_unknown: self.handle_unknown,
        })
    }
}

/// A fitted [`OneHotEncoder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FittedOneHotEncoder {
    /// Sorted categories of each input column.
    pub categories: Vec<Vec<String>>,
    /// Unknown-category policy.
    pub handle_unknown: HandleUnknown,
}

impl FittedOneHotEncoder {
    /// Number of input columns.
    pub fn n_features_in(&self) -> usize {
        self.categories.len()
    }

    /// Number of output columns (total number of categories).
    pub fn n_features_out(&self) -> usize {
        self.categories.iter().map(Vec::len).sum()
    }

    /// Encodes `x` as a dense 0/1 matrix.
    pub fn transform<S: AsRef<str>>(&self, x: ArrayView2<'_, S>) -> Result<Array2<f64>> {
        check_width("OneHotEncoder::transform", self.n_features_in(), &x)?;
        let mut out = Array2::zeros((x.nrows(), self.n_features_out()));
        let mut offset = 0;
        for (j, cats) in self.categories.iter().enumerate() {
            for i in 0..x.nrows() {
                let v = x[[i, j]].as_ref();
                match cats.binary_search_by(|c| c.as_str().cmp(v)) {
                    Ok(k) => out[[i, offset + k]] = 1.0,
                    Err(_) if self.handle_unknown == HandleUnknown::Ignore => {}
                    Err(_) => {
                        return Err(DataError::UnknownCategory {
                            op: "OneHotEncoder::transform",
                            column: j.to_string(),
                            row: i + 1,
                            value: v.to_string(),
                        })
                    }
                }
            }
            offset += cats.len();
        }
        Ok(out)
    }

    /// Decodes a one-hot matrix; an all-zero block (an ignored unknown) gives `None`.
    pub fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<Option<String>>> {
        if x.ncols() != self.n_features_out() {
            return Err(DataError::shape(
                "OneHotEncoder::inverse_transform",
                format!("{} columns", self.n_features_out()),
                format!("{} columns", x.ncols()),
            ));
        }
        let mut out = Array2::from_elem((x.nrows(), self.n_features_in()), None);
        for i in 0..x.nrows() {
            let mut offset = 0;
            for (j, cats) in self.categories.iter().enumerate() {
                let block = (0..cats.len()).map(|k| x[[i, offset + k]]);
                let (best, val) = block.enumerate().fold((0, f64::NEG_INFINITY), |b, (k, v)| {
                    if v > b.1 {
                        (k, v)
                    } else {
                        b
                    }
                });
                if val > 0.0 {
                    out[[i, j]] = Some(cats[best].clone());
                }
                offset += cats.len();
            }
        }
        Ok(out)
    }

    /// Output column names `"<input>_<category>"` for the given input names.
    pub fn feature_names(&self, input_names: &[&str]) -> Result<Vec<String>> {
        if input_names.len() != self.n_features_in() {
            return Err(DataError::shape(
                "OneHotEncoder::feature_names",
                format!("{} names", self.n_features_in()),
                format!("{} names", input_names.len()),
            ));
        }
        Ok(self
            .categories
            .iter()
            .zip(input_names)
            .flat_map(|(cats, n)| cats.iter().map(move |c| format!("{n}_{c}")))
            .collect())
    }
}

/// One integer code (the category's index in sorted order) per column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OrdinalEncoder {
    /// Unknown categories at transform time (default: error).
    pub handle_unknown: HandleUnknown,
    /// Code given to unknown categories when they are ignored (default −1).
    pub unknown_value: f64,
}

impl Default for OrdinalEncoder {
    fn default() -> Self {
        OrdinalEncoder {
            handle_unknown: HandleUnknown::Error,
            unknown_value: -1.0,
        }
    }
}

impl OrdinalEncoder {
    /// Learns the sorted categories of each column.
    pub fn fit<S: AsRef<str>>(&self, x: ArrayView2<'_, S>) -> Result<FittedOrdinalEncoder> {
        Ok(FittedOrdinalEncoder {
            categories: learn_categories("OrdinalEncoder::fit", x)?,
            handle_unknown: self.handle_unknown,
            unknown_value: self.unknown_value,
        })
    }
}

/// A fitted [`OrdinalEncoder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedOrdinalEncoder {
    /// Sorted categories of each input column.
    pub categories: Vec<Vec<String>>,
    /// Unknown-category policy.
    pub handle_unknown: HandleUnknown,
    /// Code of ignored unknown categories.
    pub unknown_value: f64,
}

impl FittedOrdinalEncoder {
    /// Number of input (= output) columns.
    pub fn n_features_in(&self) -> usize {
        self.categories.len()
    }

    /// Encodes each value as its category index.
    pub fn transform<S: AsRef<str>>(&self, x: ArrayView2<'_, S>) -> Result<Array2<f64>> {
        check_width("OrdinalEncoder::transform", self.n_features_in(), &x)?;
        let mut out = Array2::zeros(x.raw_dim());
        for ((i, j), v) in x.indexed_iter() {
            let v = v.as_ref();
            out[[i, j]] = match self.categories[j].binary_search_by(|c| c.as_str().cmp(v)) {
                Ok(k) => k as f64,
                Err(_) if self.handle_unknown == HandleUnknown::Ignore => self.unknown_value,
                Err(_) => {
                    return Err(DataError::UnknownCategory {
                        op: "OrdinalEncoder::transform",
                        column: j.to_string(),
                        row: i + 1,
                        value: v.to_string(),
                    })
                }
            };
        }
        Ok(out)
    }

    /// Decodes codes back to categories; codes that are not a valid index give `None`.
    pub fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<Option<String>>> {
        if x.ncols() != self.n_features_in() {
            return Err(DataError::shape(
                "OrdinalEncoder::inverse_transform",
                format!("{} columns", self.n_features_in()),
                format!("{} columns", x.ncols()),
            ));
        }
        Ok(Array2::from_shape_fn(x.raw_dim(), |(i, j)| {
            let v = x[[i, j]];
            let cats = &self.categories[j];
            (v >= 0.0 && v.fract() == 0.0 && (v as usize) < cats.len())
                .then(|| cats[v as usize].clone())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn one_hot_by_hand() {
        let x = array![["b", "x"], ["a", "y"], ["b", "y"]];
        let f = OneHotEncoder::default().fit(x.view()).unwrap();
        assert_eq!(f.categories, vec![vec!["a", "b"], vec!["x", "y"]]);
        let z = f.transform(x.view()).unwrap();
        assert_eq!(
            z,
            array![[0., 1., 1., 0.], [1., 0., 0., 1.], [0., 1., 0., 1.]]
        );
        let back = f.inverse_transform(z.view()).unwrap();
        assert_eq!(back[[1, 0]].as_deref(), Some("a"));
        assert_eq!(f.feature_names(&["c1", "c2"]).unwrap()[3], "c2_y");
    }

    #[test]
    fn unknown_categories() {
        let f = OneHotEncoder::default()
            .fit(array![["a"], ["b"]].view())
            .unwrap();
        let e = f
            .transform(array![["a"], ["zz"]].view())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"zz\"") && e.contains("row 2") && e.contains("column 0"),
            "{e}"
        );
        let g = FittedOneHotEncoder {
            handle_unknown: HandleUnknown::Ignore,
            ..f
        };
        assert_eq!(
            g.transform(array![["zz"]].view()).unwrap(),
            array![[0.0, 0.0]]
        );
        let o = OrdinalEncoder {
            handle_unknown: HandleUnknown::Ignore,
            unknown_value: -1.0,
        };
        let fo = o.fit(array![["b"], ["a"]].view()).unwrap();
        assert_eq!(
            fo.transform(array![["b"], ["q"]].view()).unwrap(),
            array![[1.0], [-1.0]]
        );
        let strict = OrdinalEncoder::default().fit(array![["b"]].view()).unwrap();
        assert!(strict.transform(array![["q"]].view()).is_err());
        assert_eq!(
            fo.inverse_transform(array![[0.0], [7.0]].view()).unwrap()[[0, 0]].as_deref(),
            Some("a")
        );
    }
}
