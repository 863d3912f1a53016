//! CSV loading with per-column type inference, schema overrides and missing-value tokens.

use super::column::{parse_number, Column, ColumnType};
use super::Table;
use crate::error::{DataError, Result};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Options of [`read_csv`].
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    /// Field delimiter (default `b','`).
    pub delimiter: u8,
    /// Fields equal to one of these (after trimming spaces) are missing values.
    /// Default: `""`, `"NA"`, `"NaN"`, `"?"`.
    pub missing_tokens: Vec<String>,
    /// Declared types that override inference, by column name. Naming a column the file
    /// does not have is an error.
    pub schema: Vec<(String, ColumnType)>,
    /// A non-numeric column with at most this many distinct values is categorical
    /// (default 50) ...
    pub max_categories: usize,
    /// ... provided its distinct values are at most this fraction of its non-missing
    /// values (default 0.5); otherwise it is text.
    pub max_category_fraction: f64,
    /// Trim spaces around fields (default true).
    pub trim: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            missing_tokens: ["", "NA", "NaN", "?"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            schema: Vec::new(),
            max_categories: 50,
            max_category_fraction: 0.5,
            trim: true,
        }
    }
}

impl CsvOptions {
    /// Declares the type of column `name` (overriding inference).
    pub fn with_type(mut self, name: impl Into<String>, ty: ColumnType) -> Self {
        self.schema.push((name.into(), ty));
        self
    }

    /// Replaces the missing-value tokens.
    pub fn with_missing_tokens(mut self, tokens: &[&str]) -> Self {
        self.missing_tokens = tokens.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Sets the delimiter.
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// Reads a CSV file with a header line into a [`Table`]. Files ending in `.gz` (or starting
/// with the gzip magic bytes) are decompressed on the fly.
///
/// Errors name the file, the 1-based data row, the line and the column: ragged rows,
/// unparsable numbers in a column declared numeric, unknown column names in the schema,
/// empty files and non-UTF-8 fields.
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Table> {
    let path = path.as_ref();
    let io_err = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io_err)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(io_err)?;
        read_csv_bytes(&out, path, options)
    } else {
        read_csv_bytes(&bytes, path, options)
    }
}

/// Reads CSV text from memory; `source` is the name used in error messages.
pub fn read_csv_bytes(
    bytes: &[u8],
    source: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<Table> {
    let path = source.as_ref().to_path_buf();
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.delimiter)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => return Err(DataError::EmptyFile { path }),
        Some(r) => r.map_err(|e| csv_error(&path, e))?,
    };
    let mut names = Vec::with_capacity(header.len());
    for (j, field) in header.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|_| DataError::NonUtf8 {
            path: path.clone(),
            row: 0,
            line: 1,
            column: format!("#{} of the header", j + 1),
        })?;
        let name = if options.trim { name.trim() } else { name };
        if names.iter().any(|n: &String| n == name) {
            return Err(DataError::DuplicateColumn {
                path,
                column: name.to_string(),
            });
        }
        names.push(name.to_string());
    }
    if names.is_empty() || (names.len() == 1 && names[0].is_empty()) {
        return Err(DataError::EmptyFile { path });
    }
    let mut declared: Vec<Option<ColumnType>> = vec![None; names.len()];
    for (name, ty) in &options.schema {
        let j = names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| DataError::UnknownColumn {
                context: format!("{} (schema override)", path.display()),
                column: name.clone(),
                available: names.join(", "),
            })?;
        declared[j] = Some(*ty);
    }
    let missing: HashSet<&str> = options.missing_tokens.iter().map(String::as_str).collect();
    let mut raw: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    let mut lines: Vec<u64> = Vec::new();
    for (i, rec) in records.enumerate() {
        let rec = rec.map_err(|e| csv_error(&path, e))?;
        let row = i + 1;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != names.len() {
            return Err(DataError::RaggedRow {
                path,
                row,
                line,
                expected: names.len(),
                found: rec.len(),
            });
        }
        for (j, field) in rec.iter().enumerate() {
            let s = std::str::from_utf8(field).map_err(|_| DataError::NonUtf8 {
                path: path.clone(),
                row,
                line,
                column: names[j].clone(),
            })?;
            let s = if options.trim { s.trim() } else { s };
            raw[j].push(if missing.contains(s) {
                None
            } else {
                Some(s.to_string())
            });
        }
        lines.push(line);
    }
    let mut columns = Vec::with_capacity(names.len());
    for (j, (name, values)) in names.into_iter().zip(raw).enumerate() {
        let ty = declared[j].unwrap_or_else(|| infer_type(&values, options));
        let col = match ty {
            ColumnType::Numeric => {
                let mut nums = Vec::with_capacity(values.len());
                for (i, v) in values.iter().enumerate() {
                    nums.push(match v {
                        None => None,
                        Some(s) => Some(parse_number(s).ok_or_else(|| DataError::ParseNumber {
                            path: path.clone(),
                            row: i + 1,
                            line: lines[i],
                            column: name.clone(),
                            value: s.clone(),
                        })?),
                    });
                }
                Column::numeric(name, nums)
            }
            ColumnType::Categorical => Column::categorical(name, values),
            ColumnType::Text => Column::text(name, values),
        };
        columns.push(col);
    }
    Ok(Table::new(columns)?.with_source(path.display().to_string()))
}

fn infer_type(values: &[Option<String>], options: &CsvOptions) -> ColumnType {
    let present: Vec<&str> = values.iter().flatten().map(String::as_str).collect();
    if present.iter().all(|s| parse_number(s).is_some()) {
        return ColumnType::Numeric;
    }
    let distinct: HashSet<&str> = present.iter().copied().collect();
    if distinct.len() <= options.max_categories
        && distinct.len() as f64 <= options.max_category_fraction * present.len() as f64
    {
        ColumnType::Categorical
    } else {
        ColumnType::Text
    }
}

fn csv_error(path: &Path, e: ::csv::Error) -> DataError {
    let line = e.position().map_or(0, |p| p.line());
    let path: PathBuf = path.to_path_buf();
    match e.into_kind() {
        ::csv::ErrorKind::Io(source) => DataError::Io { path, source },
        other => DataError::Csv {
            path,
            line,
            message: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;

    #[test]
    fn infers_types_and_missing_values() {
        let text =
            "x,color,note\n1,red,hello there\nNA,green,another note\n3.5,red,?\n,red,more words\n";
        let t = read_csv_bytes(text.as_bytes(), "mem.csv", &CsvOptions::default()).unwrap();
        assert_eq!(
            t.column_types(),
            vec![
                ColumnType::Numeric,
                ColumnType::Categorical,
                ColumnType::Text
            ]
        );
        assert_eq!(t.column("x").unwrap().missing_count(), 2);
        assert_eq!(t.column("note").unwrap().missing_count(), 1);
        assert_eq!(t.column("color").unwrap().value(1), Value::Str("green"));
    }

    #[test]
    fn schema_override_and_custom_tokens() {
        let text = "id,v\n1,-\n2,5\n";
        let opts = CsvOptions::default()
            .with_type("id", ColumnType::Categorical)
            .with_missing_tokens(&["-"]);
        let t = read_csv_bytes(text.as_bytes(), "mem.csv", &opts).unwrap();
        assert_eq!(
            t.column_types(),
            vec![ColumnType::Categorical, ColumnType::Numeric]
        );
        assert!(t.column("v").unwrap().is_missing(0));
    }

    #[test]
    fn duplicate_header_is_an_error() {
        let e = read_csv_bytes(b"a,a\n1,2\n", "d.csv", &CsvOptions::default()).unwrap_err();
        assert!(e.to_string().contains("duplicate column name 'a'"), "{e}");
    }
}
