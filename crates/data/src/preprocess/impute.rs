//! Filling missing (NaN) values column by column.

use super::{check_features, check_fit_input, percentile_sorted, present, sorted, Fit, Transform};
use crate::error::{DataError, Result};
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// How [`SimpleImputer`] chooses the fill value of a column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ImputeStrategy {
    /// Mean of the non-missing values.
    Mean,
    /// Median of the non-missing values.
    Median,
    /// Most frequent non-missing value (the smallest one on ties, like scikit-learn).
    MostFrequent,
    /// A fixed value.
    Constant(f64),
}

/// Replaces NaN values by a per-column statistic learnt at fit time (scikit-learn's
/// `SimpleImputer` with `missing_values=np.nan`).
///
/// Columns with no observed value at fit time are dropped from the output (as in
/// scikit-learn) unless `keep_empty_features` is set, in which case they are filled with 0.
/// The `Constant` strategy keeps every column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SimpleImputer {
    /// Fill rule.
    pub strategy: ImputeStrategy,
    /// Keep (and zero-fill) columns that were entirely missing at fit time.
    pub keep_empty_features: bool,
}

impl SimpleImputer {
    /// An imputer with `strategy` that drops all-missing columns.
    pub fn new(strategy: ImputeStrategy) -> Self {
        SimpleImputer {
            strategy,
            keep_empty_features: false,
        }
    }
}

impl Default for SimpleImputer {
    fn default() -> Self {
        SimpleImputer::new(ImputeStrategy::Mean)
    }
}

/// A fitted [`SimpleImputer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSimpleImputer {
    /// Fill value per input column (NaN for a column that was all-missing).
    pub statistics: Array1<f64>,
    /// Input columns kept in the output.
    pub kept: Vec<usize>,
}

impl Fit for SimpleImputer {
    type Fitted = FittedSimpleImputer;
    fn fit(&self, x: ArrayView2<'_, f64>) -> Result<FittedSimpleImputer> {
        check_fit_input("SimpleImputer::fit", x)?;
        if let ImputeStrategy::Constant(c) = self.strategy {
            if c.is_nan() {
                return Err(DataError::invalid(
                    "SimpleImputer::fit",
                    "the constant fill value is NaN",
                ));
            }
            return Ok(FittedSimpleImputer {
                statistics: Array1::from_elem(x.ncols(), c),
                kept: (0..x.ncols()).collect(),
            });
        }
        let mut statistics = Array1::zeros(x.ncols());
        let mut kept = Vec::new();
        for j in 0..x.ncols() {
            let v = present(x, j);
            if v.is_empty() {
                if self.keep_empty_features {
                    kept.push(j);
                    statistics[j] = 0.0;
                } else {
                    statistics[j] = f64::NAN;
                }
                continue;
            }
            kept.push(j);
            statistics[j] = match self.strategy {
                ImputeStrategy::Mean => v.iter().sum::<f64>() / v.len() as f64,
                ImputeStrategy::Median => percentile_sorted(&sorted(v), 50.0),
                ImputeStrategy::MostFrequent => most_frequent(sorted(v)),
                ImputeStrategy::Constant(c) => c,
            };
        }
        Ok(FittedSimpleImputer { statistics, kept })
    }
}

/// Most frequent value of sorted data; ties go to the smallest value.
fn most_frequent(s: Vec<f64>) -> f64 {
    let (mut best, mut best_n) = (s[0], 0usize);
    let mut i = 0;
    while i < s.len() {
        let mut k = i;
        while k < s.len() && s[k] == s[i] {
            k += 1;
        }
        if k - i > best_n {
            best_n = k - i;
            best = s[i];
        }
        i = k;
    }
    best
}

impl Transform for FittedSimpleImputer {
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_features("SimpleImputer::transform", self.n_features_in(), x)?;
        if let Some(&bad) = self.kept.iter().find(|&&j| j >= self.statistics.len()) {
            return Err(DataError::invalid(
                "SimpleImputer::transform",
                format!(
                    "inconsistent fitted state: kept column {bad} >= {} statistics",
                    self.statistics.len()
                ),
            ));
        }
        let mut out = Array2::zeros((x.nrows(), self.kept.len()));
        for (k, &j) in self.kept.iter().enumerate() {
            let fill = self.statistics[j];
            for i in 0..x.nrows() {
                let v = x[[i, j]];
                out[[i, k]] = if v.is_nan() { fill } else { v };
            }
        }
        Ok(out)
    }
    fn n_features_in(&self) -> usize {
        self.statistics.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn strategies_by_hand() {
        let n = f64::NAN;
        let x = array![[1.0, n], [2.0, 4.0], [2.0, 4.0], [n, 3.0], [7.0, 3.0]];
        let fit = |s| {
            SimpleImputer::new(s)
                .fit(x.view())
                .unwrap()
                .statistics
                .to_vec()
        };
        assert_eq!(fit(ImputeStrategy::Mean), vec![3.0, 3.5]);
        assert_eq!(fit(ImputeStrategy::Median), vec![2.0, 3.5]);
        // Ties (3 and 4 twice each): the smallest wins.
        assert_eq!(fit(ImputeStrategy::MostFrequent), vec![2.0, 3.0]);
        let f = SimpleImputer::new(ImputeStrategy::Constant(-1.0))
            .fit(x.view())
            .unwrap();
        assert_eq!(f.transform(x.view()).unwrap()[[0, 1]], -1.0);
    }

    #[test]
    fn all_missing_columns() {
        let n = f64::NAN;
        let x = array![[1.0, n], [3.0, n]];
        let f = SimpleImputer::default().fit(x.view()).unwrap();
        assert_eq!(f.transform(x.view()).unwrap(), array![[1.0], [3.0]]);
        let keep = SimpleImputer {
            strategy: ImputeStrategy::Median,
            keep_empty_features: true,
        };
        let f = keep.fit(x.view()).unwrap();
        assert_eq!(
            f.transform(x.view()).unwrap(),
            array![[1.0, 0.0], [3.0, 0.0]]
        );
    }
}
