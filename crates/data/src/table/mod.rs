//! A typed, column-oriented table: what the CSV loader produces and what cleaning,
//! column transformers and conversions to `ndarray` work on.

mod clean;
mod column;
mod csv;
mod describe;
mod display;

pub use self::csv::{read_csv, read_csv_bytes, CsvOptions};
pub use column::{Column, ColumnData, ColumnType, Value};
pub use describe::{ColumnSummary, Summary};
pub use display::Head;

use crate::error::{DataError, Result};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// A table of equally long named columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    columns: Vec<Column>,
    /// Where the table came from (file path or a description), used in error messages.
    source: String,
}

impl Table {
    /// Builds a table from columns; they must all have the same length and distinct names.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        if let Some(first) = columns.first() {
            for c in &columns {
                if c.len() != first.len() {
                    return Err(DataError::shape(
                        "Table::new",
                        format!("{} rows (column '{}')", first.len(), first.name),
                        format!("{} rows in column '{}'", c.len(), c.name),
                    ));
                }
            }
        }
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].iter().any(|d| d.name == c.name) {
                return Err(DataError::invalid(
                    "Table::new",
                    format!("duplicate column name '{}'", c.name),
                ));
            }
        }
        Ok(Table {
            columns,
            source: "table".to_string(),
        })
    }

    /// Sets the description used in error messages (the loader sets the file path).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// The description used in error messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.columns.len()
    }

    /// All columns in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column names in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The type of every column, in order.
    pub fn column_types(&self) -> Vec<ColumnType> {
        self.columns.iter().map(Column::column_type).collect()
    }

    /// Position of the column `name`.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| DataError::UnknownColumn {
                context: self.source.clone(),
                column: name.to_string(),
                available: self.column_names().join(", "),
            })
    }

    /// The column `name`.
    pub fn column(&self, name: &str) -> Result<&Column> {
        Ok(&self.columns[self.column_index(name)?])
    }

    /// A table with only the named columns, in the given order.
    pub fn select(&self, names: &[&str]) -> Result<Table> {
        let cols = names
            .iter()
            .map(|n| self.column(n).cloned())
            .collect::<Result<Vec<_>>>()?;
        Ok(Table::new(cols)?.with_source(self.source.clone()))
    }

    /// The table without the named columns.
    pub fn drop_columns(&self, names: &[&str]) -> Result<Table> {
        for n in names {
            self.column_index(n)?;
        }
        let cols = self
            .columns
            .iter()
            .filter(|c| !names.contains(&c.name.as_str()))
            .cloned()
            .collect();
        Ok(Table {
            columns: cols,
            source: self.source.clone(),
        })
    }

    /// The rows `indices` (0-based), in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Result<Table> {
        let n = self.n_rows();
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(DataError::invalid(
                "Table::select_rows",
                format!("row index {bad} out of range for {n} rows"),
            ));
        }
        Ok(Table {
            columns: self
                .columns
                .iter()
                .map(|c| c.select_rows(indices))
                .collect(),
            source: self.source.clone(),
        })
    }

    /// The named numeric columns as an `n_rows × names.len()` array; missing values are NaN.
    ///
    /// Errors if a name is unknown or a column is not numeric (cast it first with
    /// [`Table::cast`] or encode it).
    pub fn to_array(&self, names: &[&str]) -> Result<Array2<f64>> {
        let mut out = Array2::<f64>::zeros((self.n_rows(), names.len()));
        for (j, name) in names.iter().enumerate() {
            let col = self.column(name)?;
            let vals = col.as_numeric().ok_or_else(|| DataError::ColumnType {
                op: "Table::to_array",
                column: col.name.clone(),
                expected: "numeric".into(),
                found: col.column_type().to_string(),
            })?;
            for (i, v) in vals.iter().enumerate() {
                out[[i, j]] = v.unwrap_or(f64::NAN);
            }
        }
        Ok(out)
    }

    /// Every numeric column as an array (in table order), with the names used.
    pub fn numeric_array(&self) -> Result<(Array2<f64>, Vec<String>)> {
        let names: Vec<&str> = self
            .columns
            .iter()
            .filter(|c| c.column_type() == ColumnType::Numeric)
            .map(|c| c.name.as_str())
            .collect();
        let arr = self.to_array(&names)?;
        Ok((arr, names.into_iter().map(String::from).collect()))
    }

    /// The column `name` converted to `to`.
    ///
    /// Numeric → categorical/text formats each number (`1.0` becomes `"1"`);
    /// categorical/text → numeric parses each value and fails with the row and column of
    /// the first value that is not a number; categorical ↔ text only relabels.
    pub fn cast(&self, name: &str, to: ColumnType) -> Result<Table> {
        let idx = self.column_index(name)?;
        let col = &self.columns[idx];
        let data = match (&col.data, to) {
            (ColumnData::Numeric(v), ColumnType::Numeric) => ColumnData::Numeric(v.clone()),
            (ColumnData::Numeric(v), t) => {
                let s: Vec<Option<String>> = v.iter().map(|x| x.map(|x| format!("{x}"))).collect();
                if t == ColumnType::Categorical {
                    ColumnData::Categorical(s)
                } else {
                    ColumnData::Text(s)
                }
            }
            (ColumnData::Categorical(v) | ColumnData::Text(v), ColumnType::Numeric) => {
                let mut out = Vec::with_capacity(v.len());
                for (row, x) in v.iter().enumerate() {
                    out.push(match x {
                        None => None,
                        Some(s) => Some(column::parse_cell(
                            s,
                            std::path::Path::new(&self.source),
                            row + 1,
                            0,
                            &col.name,
                        )?),
                    });
                }
                ColumnData::Numeric(out)
            }
            (ColumnData::Categorical(v) | ColumnData::Text(v), ColumnType::Categorical) => {
                ColumnData::Categorical(v.clone())
            }
            (ColumnData::Categorical(v) | ColumnData::Text(v), ColumnType::Text) => {
                ColumnData::Text(v.clone())
            }
        };
        let mut out = self.clone();
        out.columns[idx].data = data;
        Ok(out)
    }

    /// Appends a column (its length must match and its name must be new).
    pub fn push_column(&mut self, column: Column) -> Result<()> {
        if !self.columns.is_empty() && column.len() != self.n_rows() {
            return Err(DataError::shape(
                "Table::push_column",
                format!("{} rows", self.n_rows()),
                format!("{} rows in column '{}'", column.len(), column.name),
            ));
        }
        if self.columns.iter().any(|c| c.name == column.name) {
            return Err(DataError::invalid(
                "Table::push_column",
                format!("duplicate column name '{}'", column.name),
            ));
        }
        self.columns.push(column);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table::new(vec![
            Column::numeric("a", vec![Some(1.0), None, Some(3.0)]),
            Column::categorical(
                "b",
                vec![Some("x".into()), Some("2".into()), Some("y".into())],
            ),
        ])
        .unwrap()
    }

    #[test]
    fn to_array_maps_missing_to_nan_and_rejects_strings() {
        let t = sample();
        let a = t.to_array(&["a"]).unwrap();
        assert_eq!(a[[0, 0]], 1.0);
        assert!(a[[1, 0]].is_nan());
        let e = t.to_array(&["b"]).unwrap_err().to_string();
        assert!(e.contains("'b'") && e.contains("categorical"), "{e}");
        let e = t.to_array(&["zz"]).unwrap_err().to_string();
        assert!(
            e.contains("unknown column 'zz'") && e.contains("a, b"),
            "{e}"
        );
    }

    #[test]
    fn cast_reports_row_and_column() {
        let t = sample();
        let e = t.cast("b", ColumnType::Numeric).unwrap_err().to_string();
        assert!(
            e.contains("row 1") && e.contains("'b'") && e.contains("\"x\""),
            "{e}"
        );
        let s = t.cast("a", ColumnType::Categorical).unwrap();
        assert_eq!(s.column("a").unwrap().value(0), Value::Str("1"));
    }

    #[test]
    fn new_rejects_ragged_columns() {
        let e = Table::new(vec![
            Column::numeric("a", vec![Some(1.0)]),
            Column::numeric("b", vec![]),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("column 'b'"));
    }

    #[test]
    fn select_and_drop() {
        let t = sample();
        assert_eq!(t.select(&["b"]).unwrap().column_names(), vec!["b"]);
        assert_eq!(t.drop_columns(&["b"]).unwrap().column_names(), vec!["a"]);
        assert_eq!(t.select_rows(&[2]).unwrap().n_rows(), 1);
        assert!(t.select_rows(&[3]).is_err());
    }
}
