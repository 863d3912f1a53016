//! Summary statistics of the numeric columns (pandas' `describe`).

use super::Table;
use crate::preprocess::percentile_sorted;
use std::fmt;

/// Count, missing count, mean, standard deviation (`ddof = 1`, as pandas), min, quartiles
/// and max of one numeric column (NaN when the column has no values).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSummary {
    /// Column name.
    pub name: String,
    /// Non-missing values.
    pub count: usize,
    /// Missing values.
    pub missing: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std: f64,
    /// Minimum.
    pub min: f64,
    /// 25th percentile (linear interpolation).
    pub q25: f64,
    /// Median.
    pub median: f64,
    /// 75th percentile.
    pub q75: f64,
    /// Maximum.
    pub max: f64,
}

/// Summaries of every numeric column; `Display` prints one line per column.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary(pub Vec<ColumnSummary>);

impl Table {
    /// Summary statistics of every numeric column.
    pub fn describe(&self) -> Summary {
        Summary(
            self.columns()
                .iter()
                .filter_map(|c| {
                    let vals = c.as_numeric()?;
                    let mut v: Vec<f64> = vals.iter().flatten().copied().collect();
                    v.sort_by(f64::total_cmp);
                    let n = v.len();
                    let mean = v.iter().sum::<f64>() / n as f64;
                    let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
                    let q = |p| percentile_sorted(&v, p);
                    Some(ColumnSummary {
                        name: c.name.clone(),
                        count: n,
                        missing: vals.len() - n,
                        mean,
                        std: if n > 1 {
                            (ss / (n - 1) as f64).sqrt()
                        } else {
                            f64::NAN
                        },
                        min: q(0.0),
                        q25: q(25.0),
                        median: q(50.0),
                        q75: q(75.0),
                        max: q(100.0),
                    })
                })
                .collect(),
        )
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .0
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(6)
            .max(6);
        writeln!(
            f,
            "{:<w$} {:>7} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
            "column", "count", "missing", "mean", "std", "min", "25%", "50%", "75%", "max"
        )?;
        for s in &self.0 {
            writeln!(
                f,
                "{:<w$} {:>7} {:>7} {:>11.4} {:>11.4} {:>11.4} {:>11.4} {:>11.4} {:>11.4} {:>11.4}",
                s.name, s.count, s.missing, s.mean, s.std, s.min, s.q25, s.median, s.q75, s.max
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::table::{Column, Table};

    #[test]
    fn describe_by_hand() {
        let t = Table::new(vec![
            Column::numeric("x", vec![Some(1.0), Some(2.0), None, Some(3.0), Some(4.0)]),
            Column::text("t", vec![None; 5]),
        ])
        .unwrap();
        let d = t.describe();
        assert_eq!(d.0.len(), 1);
        let s = &d.0[0];
        assert_eq!((s.count, s.missing), (4, 1));
        assert_eq!(
            (s.mean, s.min, s.q25, s.median, s.q75, s.max),
            (2.5, 1.0, 1.75, 2.5, 3.25, 4.0)
        );
        // Sample std of 1..4: sqrt(5/3).
        assert!((s.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(d.to_string().lines().nth(1).unwrap().starts_with("x "));
    }
}
