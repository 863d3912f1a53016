//! Printing a [`Table`]: a header with names and types, then the first rows.

use super::{Table, Value};
use std::fmt;

/// A printable view of the first rows of a table (see [`Table::head`]).
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    table: &'a Table,
    rows: usize,
}

impl Table {
    /// A printable view of the first `rows` rows (cells longer than 24 characters are cut).
    pub fn head(&self, rows: usize) -> Head<'_> {
        Head { table: self, rows }
    }
}

fn cell(v: Value<'_>) -> String {
    let s = match v {
        Value::Missing => "NA".to_string(),
        Value::Number(x) => format!("{x}"),
        Value::Str(s) => s.to_string(),
    };
    if s.chars().count() > 24 {
        let cut: String = s.chars().take(23).collect();
        format!("{cut}…")
    } else {
        s
    }
}

impl fmt::Display for Head<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.table;
        let n = self.rows.min(t.n_rows());
        let cols: Vec<Vec<String>> = t
            .columns()
            .iter()
            .map(|c| {
                let mut v = vec![cell(Value::Str(&c.name)), format!("<{}>", c.column_type())];
                v.extend((0..n).map(|i| cell(c.value(i))));
                v
            })
            .collect();
        let widths: Vec<usize> = cols
            .iter()
            .map(|c| c.iter().map(|s| s.chars().count()).max().unwrap_or(0))
            .collect();
        for line in 0..n + 2 {
            let parts: Vec<String> = cols
                .iter()
                .zip(&widths)
                .map(|(c, &w)| format!("{:>w$}", c[line]))
                .collect();
            writeln!(f, "{}", parts.join("  ").trim_end())?;
        }
        write!(f, "[{} rows x {} columns]", t.n_rows(), t.n_cols())
    }
}

impl fmt::Display for Table {
    /// The first 10 rows (see [`Table::head`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.head(10))
    }
}

#[cfg(test)]
mod tests {
    use crate::table::{Column, Table};

    #[test]
    fn prints_names_types_and_rows() {
        let t = Table::new(vec![
            Column::numeric("x", vec![Some(1.5), None]),
            Column::categorical("color", vec![Some("red".into()), Some("a".repeat(30))]),
        ])
        .unwrap();
        let s = t.head(5).to_string();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "        x                     color");
        assert_eq!(lines[1], "<numeric>             <categorical>");
        assert_eq!(lines[2], "      1.5                       red");
        assert!(lines[3].trim_start().starts_with("NA") && lines[3].ends_with('…'));
        assert_eq!(lines[4], "[2 rows x 2 columns]");
    }
}
