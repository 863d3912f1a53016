//! CSV loading with per-column type inference, schema overrides and missing-value tokens.

use super::column::{numeric_token, parse_cell, Column, ColumnType, NumericToken};
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
    /// The largest input accepted, in bytes: the file as stored and, for gzip files, the
    /// decompressed text (default 1 GiB). Checked before the bytes are held in memory,
    /// so a decompression bomb stops at the limit.
    pub max_bytes: u64,
}

/// Default of [`CsvOptions::max_bytes`]: 1 GiB.
pub const DEFAULT_MAX_CSV_BYTES: u64 = 1 << 30;

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
            max_bytes: DEFAULT_MAX_CSV_BYTES,
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

    /// Sets the size limit ([`CsvOptions::max_bytes`]).
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
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
    let limit = options.max_bytes;
    let too_large = |what| DataError::TooLarge {
        path: path.to_path_buf(),
        what,
        limit,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    if file.metadata().map_err(io_err)?.len() > limit {
        return Err(too_large("the file"));
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).map_err(io_err)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(io_err)?;
        if out.len() as u64 > limit {
            return Err(too_large("the decompressed text"));
        }
        read_csv_bytes(&out, path, options)
    } else {
        read_csv_bytes(&bytes, path, options)
    }
}

/// 1-based physical line numbers of byte offsets, counted on `\n` so that CRLF and LF files
/// agree (the `csv` crate's own line count is one short after a CRLF record). Offsets must
/// be asked for in increasing order; the count resumes where the last one stopped.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, byte: u64) -> u64 {
        let mut target =
            usize::try_from(byte).map_or(self.bytes.len(), |b| b.min(self.bytes.len()));
        // After a CRLF record the reader's offset points at the `\n`: a record never starts
        // with a line terminator (blank lines are skipped), so step over them.
        while target < self.bytes.len() && matches!(self.bytes[target], b'\r' | b'\n') {
            target += 1;
        }
        if target > self.offset {
            self.line += self.bytes[self.offset..target]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.offset = target;
        }
        self.line
    }
}

/// Reads CSV text from memory; `source` is the name used in error messages.
pub fn read_csv_bytes(
    bytes: &[u8],
    source: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<Table> {
    let path = source.as_ref().to_path_buf();
    if bytes.len() as u64 > options.max_bytes {
        return Err(DataError::TooLarge {
            path,
            what: "the text",
            limit: options.max_bytes,
        });
    }
    let mut lines_of = LineCounter::new(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.delimiter)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => return Err(DataError::EmptyFile { path }),
        Some(r) => r.map_err(|e| csv_error(&path, e, &mut lines_of))?,
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
        let rec = rec.map_err(|e| csv_error(&path, e, &mut lines_of))?;
        let row = i + 1;
        let line = rec.position().map_or(0, |p| lines_of.line_at(p.byte()));
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
    if lines.is_empty() {
        return Err(DataError::NoRows { path });
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
                        Some(s) => Some(parse_cell(s, &path, i + 1, lines[i], &name)?),
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
    // A column of numbers is numeric even when some are out of range (`inf`, `1e400`):
    // parsing then names the bad cell instead of turning the column into categories.
    let tokens: Vec<NumericToken> = present.iter().map(|s| numeric_token(s)).collect();
    if tokens.iter().all(|t| *t != NumericToken::NotNumber)
        && (present.is_empty() || tokens.iter().any(|t| matches!(t, NumericToken::Number(_))))
    {
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

fn csv_error(path: &Path, e: ::csv::Error, lines_of: &mut LineCounter<'_>) -> DataError {
    let line = e.position().map_or(0, |p| lines_of.line_at(p.byte()));
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

    #[test]
    fn line_numbers_agree_for_crlf_and_lf() {
        let opts = CsvOptions::default().with_type("b", ColumnType::Numeric);
        for text in [
            "a,b\r\n1,2\r\n3,x\r\n",
            "a,b\n1,2\n3,x\n",
            "a,b\n1,2\r\n3,x",
        ] {
            let e = read_csv_bytes(text.as_bytes(), "d.csv", &opts).unwrap_err();
            assert!(
                e.to_string().contains("row 2 (line 3), column 'b'"),
                "{text:?}: {e}"
            );
        }
        let e = read_csv_bytes(b"a,b\r\n1,2\r\n\r\n3\r\n", "d.csv", &CsvOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("(line 4)"), "{e}");
    }

    #[test]
    fn header_only_file_names_the_file() {
        for text in ["a,b\n", "a,b", "a,b\r\n"] {
            let e = read_csv_bytes(text.as_bytes(), "h.csv", &CsvOptions::default()).unwrap_err();
            assert!(matches!(e, DataError::NoRows { .. }), "{e}");
            assert!(e.to_string().starts_with("h.csv: "), "{e}");
        }
    }

    #[test]
    fn out_of_range_numbers_name_row_and_column() {
        for bad in ["inf", "-Infinity", "1e308", "1e400"] {
            let text = format!("x,y\n1,2\n{bad},3\n4,5\n");
            let e = read_csv_bytes(text.as_bytes(), "o.csv", &CsvOptions::default()).unwrap_err();
            assert!(
                matches!(
                    e,
                    DataError::NumberOutOfRange {
                        row: 2,
                        line: 3,
                        ..
                    }
                ),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains("column 'x'"), "{e}");
        }
        // "NaN" is a default missing-value token; f32's largest values are accepted.
        let t =
            read_csv_bytes(b"x\nNaN\n3e38\n-3.4e38\n", "o.csv", &CsvOptions::default()).unwrap();
        assert_eq!(t.column("x").unwrap().missing_count(), 1);
    }

    #[test]
    fn size_limit_applies_to_text_and_to_decompressed_gzip() {
        let opts = CsvOptions::default().with_max_bytes(64);
        let big = format!("a\n{}", "1\n".repeat(100));
        let e = read_csv_bytes(big.as_bytes(), "big.csv", &opts).unwrap_err();
        assert!(matches!(e, DataError::TooLarge { .. }), "{e}");

        // A small gzip file whose text is far larger than the limit (a decompression bomb).
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, format!("a\n{}", "0\n".repeat(1 << 20)).as_bytes())
            .unwrap();
        let dir = std::env::temp_dir().join(format!("glassbox-csv-bomb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bomb.csv.gz");
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let e = read_csv(&path, &CsvOptions::default().with_max_bytes(4096)).unwrap_err();
        assert!(
            e.to_string()
                .contains("decompressed text is larger than the limit of 4096"),
            "{e}"
        );
        assert_eq!(
            read_csv(&path, &CsvOptions::default()).unwrap().n_rows(),
            1 << 20
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
