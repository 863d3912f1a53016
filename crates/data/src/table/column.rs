//! Typed columns of a [`Table`](crate::Table).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The inferred or declared type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColumnType {
    /// Floating-point numbers (integers are stored as `f64` too).
    Numeric,
    /// A small set of repeated string values (e.g. `"red"`, `"green"`).
    Categorical,
    /// Free text: many distinct string values.
    Text,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::Numeric => "numeric",
            ColumnType::Categorical => "categorical",
            ColumnType::Text => "text",
        })
    }
}

/// The values of one column; `None` is a missing value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ColumnData {
    /// Numeric values.
    Numeric(Vec<Option<f64>>),
    /// Categorical values.
    Categorical(Vec<Option<String>>),
    /// Text values.
    Text(Vec<Option<String>>),
}

/// A named column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Header name.
    pub name: String,
    /// Values.
    pub data: ColumnData,
}

/// A borrowed cell value, used for row comparisons and display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Missing value.
    Missing,
    /// A number.
    Number(f64),
    /// A string (categorical or text).
    Str(&'a str),
}

impl Column {
    /// A numeric column.
    pub fn numeric(name: impl Into<String>, values: Vec<Option<f64>>) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Numeric(values),
        }
    }

    /// A categorical column.
    pub fn categorical(name: impl Into<String>, values: Vec<Option<String>>) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Categorical(values),
        }
    }

    /// A text column.
    pub fn text(name: impl Into<String>, values: Vec<Option<String>>) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Text(values),
        }
    }

    /// The column's type.
    pub fn column_type(&self) -> ColumnType {
        match self.data {
            ColumnData::Numeric(_) => ColumnType::Numeric,
            ColumnData::Categorical(_) => ColumnType::Categorical,
            ColumnData::Text(_) => ColumnType::Text,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Categorical(v) | ColumnData::Text(v) => v.len(),
        }
    }

    /// True when the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `row` (0-based). Out-of-range rows read as missing.
    pub fn value(&self, row: usize) -> Value<'_> {
        match &self.data {
            ColumnData::Numeric(v) => match v.get(row).copied().flatten() {
                Some(x) => Value::Number(x),
                None => Value::Missing,
            },
            ColumnData::Categorical(v) | ColumnData::Text(v) => match v.get(row) {
                Some(Some(s)) => Value::Str(s),
                _ => Value::Missing,
            },
        }
    }

    /// True when the value at `row` is missing.
    pub fn is_missing(&self, row: usize) -> bool {
        matches!(self.value(row), Value::Missing)
    }

    /// Number of missing values.
    pub fn missing_count(&self) -> usize {
        match &self.data {
            ColumnData::Numeric(v) => v.iter().filter(|x| x.is_none()).count(),
            ColumnData::Categorical(v) | ColumnData::Text(v) => {
                v.iter().filter(|x| x.is_none()).count()
            }
        }
    }

    /// The numeric values, or `None` if the column is not numeric.
    pub fn as_numeric(&self) -> Option<&[Option<f64>]> {
        match &self.data {
            ColumnData::Numeric(v) => Some(v),
            _ => None,
        }
    }

    /// The string values, or `None` if the column is numeric.
    pub fn as_strings(&self) -> Option<&[Option<String>]> {
        match &self.data {
            ColumnData::Categorical(v) | ColumnData::Text(v) => Some(v),
            ColumnData::Numeric(_) => None,
        }
    }

    /// A new column holding the rows `indices` (0-based, in that order).
    pub fn select_rows(&self, indices: &[usize]) -> Column {
        let data = match &self.data {
            ColumnData::Numeric(v) => ColumnData::Numeric(indices.iter().map(|&i| v[i]).collect()),
            ColumnData::Categorical(v) => {
                ColumnData::Categorical(indices.iter().map(|&i| v[i].clone()).collect())
            }
            ColumnData::Text(v) => {
                ColumnData::Text(indices.iter().map(|&i| v[i].clone()).collect())
            }
        };
        Column {
            name: self.name.clone(),
            data,
        }
    }
}

/// Parses a number the way the CSV loader does (surrounding spaces allowed, `inf`/`nan`
/// spellings rejected so that only real numbers are numeric).
/// The largest magnitude a numeric cell may have: models compute in f32, so a value past
/// `f32::MAX` would become infinite inside them (and its square overflows a scaler).
pub const MAX_ABS_VALUE: f64 = f32::MAX as f64;

/// What a numeric cell holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumericToken {
    /// A finite number within `±MAX_ABS_VALUE`.
    Number(f64),
    /// A number, but infinite, NaN or beyond `±MAX_ABS_VALUE` (`inf`, `-Infinity`, `1e400`,
    /// `3e38` is fine, `1e308` is not).
    OutOfRange,
    /// Not a number at all.
    NotNumber,
}

/// Parses a numeric cell, with the error naming where it stands: `ParseNumber` for text
/// that is no number, `NumberOutOfRange` for infinite, NaN or beyond-f32 numbers.
pub(crate) fn parse_cell(
    s: &str,
    path: &std::path::Path,
    row: usize,
    line: u64,
    column: &str,
) -> crate::error::Result<f64> {
    use crate::error::DataError;
    match numeric_token(s) {
        NumericToken::Number(x) => Ok(x),
        NumericToken::OutOfRange => Err(DataError::NumberOutOfRange {
            path: path.to_path_buf(),
            row,
            line,
            column: column.to_string(),
            value: s.to_string(),
        }),
        NumericToken::NotNumber => Err(DataError::ParseNumber {
            path: path.to_path_buf(),
            row,
            line,
            column: column.to_string(),
            value: s.to_string(),
        }),
    }
}

/// Classifies a cell's text as a number, an out-of-range number, or not a number.
pub(crate) fn numeric_token(s: &str) -> NumericToken {
    let t = s.trim();
    if t.is_empty() {
        return NumericToken::NotNumber;
    }
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() && x.abs() <= MAX_ABS_VALUE => NumericToken::Number(x),
        Ok(_) => NumericToken::OutOfRange,
        Err(_) => NumericToken::NotNumber,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_number_accepts_numbers_only() {
        assert_eq!(numeric_token(" 1.5 "), NumericToken::Number(1.5));
        assert_eq!(numeric_token("-2e3"), NumericToken::Number(-2000.0));
        assert_eq!(numeric_token("abc"), NumericToken::NotNumber);
        assert_eq!(numeric_token(""), NumericToken::NotNumber);
        assert_eq!(numeric_token("3e38"), NumericToken::Number(3e38));
        for bad in ["inf", "-Infinity", "NaN", "1e308", "-1e39", "1e400"] {
            assert_eq!(numeric_token(bad), NumericToken::OutOfRange, "{bad}");
        }
        assert_eq!(numeric_token("1e3x"), NumericToken::NotNumber);
    }

    #[test]
    fn column_accessors() {
        let c = Column::categorical("c", vec![Some("a".into()), None]);
        assert_eq!(c.column_type(), ColumnType::Categorical);
        assert_eq!(c.missing_count(), 1);
        assert_eq!(c.value(0), Value::Str("a"));
        assert!(c.is_missing(1));
        assert!(c.as_numeric().is_none());
        let n = Column::numeric("n", vec![Some(1.0), Some(2.0), None]);
        let s = n.select_rows(&[2, 0]);
        assert_eq!(s.as_numeric().unwrap(), &[None, Some(1.0)]);
    }
}
