//! Cleaning a [`Table`]: dropping rows or columns with missing values, duplicate rows and
//! constant columns.

use super::{Table, Value};
use crate::error::{DataError, Result};
use std::collections::HashSet;

impl Table {
    /// Drops every row with more than `max_missing` missing values (`0` drops any row
    /// with a missing value, like pandas' `dropna()`).
    pub fn drop_missing_rows(&self, max_missing: usize) -> Result<Table> {
        let keep: Vec<usize> = (0..self.n_rows())
            .filter(|&i| self.columns.iter().filter(|c| c.is_missing(i)).count() <= max_missing)
            .collect();
        self.select_rows(&keep)
    }

    /// Drops every column whose fraction of missing values is above `max_fraction`
    /// (in `[0, 1]`; `0.0` drops any column with a missing value).
    pub fn drop_missing_columns(&self, max_fraction: f64) -> Result<Table> {
        if !(0.0..=1.0).contains(&max_fraction) {
            return Err(DataError::invalid(
                "Table::drop_missing_columns",
                format!("max_fraction must be in [0, 1], got {max_fraction}"),
            ));
        }
        let n = self.n_rows().max(1) as f64;
        let drop: Vec<&str> = self
            .columns
            .iter()
            .filter(|c| c.missing_count() as f64 / n > max_fraction)
            .map(|c| c.name.as_str())
            .collect();
        self.drop_columns(&drop)
    }

    /// Drops rows equal to an earlier row (all columns compared; missing equals missing,
    /// numbers compare by value). Keeps the first occurrence.
    pub fn drop_duplicates(&self) -> Result<Table> {
        let mut seen: HashSet<Vec<Key<'_>>> = HashSet::new();
        let keep: Vec<usize> = (0..self.n_rows())
            .filter(|&i| seen.insert(self.columns.iter().map(|c| Key::from(c.value(i))).collect()))
            .collect();
        self.select_rows(&keep)
    }

    /// Drops columns with at most one distinct non-missing value.
    pub fn drop_constant_columns(&self) -> Result<Table> {
        let drop: Vec<&str> = self
            .columns
            .iter()
            .filter(|c| {
                let distinct: HashSet<Key<'_>> = (0..c.len())
                    .map(|i| Key::from(c.value(i)))
                    .filter(|k| *k != Key::Missing)
                    .collect();
                distinct.len() <= 1
            })
            .map(|c| c.name.as_str())
            .collect();
        self.drop_columns(&drop)
    }
}

/// Hashable form of a cell (numbers by bit pattern, with `-0.0` folded into `0.0`).
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key<'a> {
    Missing,
    Number(u64),
    Str(&'a str),
}

impl<'a> From<Value<'a>> for Key<'a> {
    fn from(v: Value<'a>) -> Self {
        match v {
            Value::Missing => Key::Missing,
            Value::Number(x) => Key::Number(if x == 0.0 { 0 } else { x.to_bits() }),
            Value::Str(s) => Key::Str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::table::{Column, Table};

    fn t() -> Table {
        Table::new(vec![
            Column::numeric("a", vec![Some(1.0), None, Some(1.0), None]),
            Column::categorical(
                "b",
                vec![Some("x".into()), None, Some("x".into()), Some("y".into())],
            ),
            Column::numeric("c", vec![Some(5.0), Some(5.0), Some(5.0), None]),
        ])
        .unwrap()
    }

    #[test]
    fn drops_rows_by_missing_count() {
        // Missing per row: 0, 2, 0, 2.
        assert_eq!(t().drop_missing_rows(0).unwrap().n_rows(), 2);
        assert_eq!(t().drop_missing_rows(1).unwrap().n_rows(), 2);
        assert_eq!(t().drop_missing_rows(2).unwrap().n_rows(), 4);
    }

    #[test]
    fn drops_columns_by_missing_fraction() {
        // Fractions: a 0.5, b 0.25, c 0.25.
        assert_eq!(
            t().drop_missing_columns(0.3).unwrap().column_names(),
            vec!["b", "c"]
        );
        assert_eq!(t().drop_missing_columns(0.0).unwrap().n_cols(), 0);
        assert!(t().drop_missing_columns(1.5).is_err());
    }

    #[test]
    fn drops_duplicates_and_constants() {
        let d = t().drop_duplicates().unwrap();
        assert_eq!(d.n_rows(), 3);
        assert_eq!(
            t().drop_constant_columns().unwrap().column_names(),
            vec!["b"]
        );
    }
}
