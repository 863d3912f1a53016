//! The error type of `glassbox-data`: every variant names the file, row, column or
//! operation at fault.

use std::path::PathBuf;

/// Result alias used throughout `glassbox-data`.
pub type Result<T> = std::result::Result<T, DataError>;

/// Everything that can go wrong while loading, transforming, splitting or batching data.
///
/// Rows are 1-based *data* rows (the header is not counted); lines are 1-based physical
/// line numbers in the file (the header is line 1). Columns are named by their header
/// name when one is known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// File being read.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file holds no header (or no bytes at all).
    #[error("{path}: empty file (expected a header line)")]
    EmptyFile {
        /// File being read.
        path: PathBuf,
    },
    /// The file has a header line but no data rows.
    #[error("{path}: the header is the only line: the file has no data rows")]
    NoRows {
        /// File being read.
        path: PathBuf,
    },
    /// A numeric cell holds an infinite or NaN number, or one beyond f32's range.
    #[error(
        "{path}: row {row} (line {line}), column '{column}': {value:?} is not a finite number \
         within ±3.4e38 (models compute in f32); fix the cell or declare it a missing-value token"
    )]
    NumberOutOfRange {
        /// File (or table) being read.
        path: PathBuf,
        /// 1-based data row.
        row: usize,
        /// 1-based line number (0 when the value did not come from a file).
        line: u64,
        /// Column name.
        column: String,
        /// The cell's text.
        value: String,
    },
    /// The input is larger than the reader's limit (a huge file or a decompression bomb).
    #[error("{path}: {what} is larger than the limit of {limit} bytes (CsvOptions::max_bytes)")]
    TooLarge {
        /// File being read.
        path: PathBuf,
        /// What exceeded the limit ("the file", "the decompressed text").
        what: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// A data row has a different number of fields than the header.
    #[error("{path}: row {row} (line {line}) has {found} fields, the header has {expected}")]
    RaggedRow {
        /// File being read.
        path: PathBuf,
        /// 1-based data row.
        row: usize,
        /// 1-based line number.
        line: u64,
        /// Number of header fields.
        expected: usize,
        /// Number of fields found in the row.
        found: usize,
    },
    /// A field of a numeric column is not a number and not a missing-value token.
    #[error(
        "{path}: row {row} (line {line}), column '{column}': cannot parse {value:?} as a number"
    )]
    ParseNumber {
        /// File (or table) being read.
        path: PathBuf,
        /// 1-based data row.
        row: usize,
        /// 1-based line number (0 when the value did not come from a file).
        line: u64,
        /// Column name.
        column: String,
        /// Offending text.
        value: String,
    },
    /// A field (or the header) is not valid UTF-8.
    #[error("{path}: row {row} (line {line}), column '{column}': field is not valid UTF-8")]
    NonUtf8 {
        /// File being read.
        path: PathBuf,
        /// 1-based data row (0 for the header).
        row: usize,
        /// 1-based line number.
        line: u64,
        /// Column name (or `#<index>` for the header itself).
        column: String,
    },
    /// The CSV reader itself failed (e.g. an unterminated quote).
    #[error("{path}: line {line}: malformed CSV: {message}")]
    Csv {
        /// File being read.
        path: PathBuf,
        /// 1-based line number (0 if unknown).
        line: u64,
        /// Reader's message.
        message: String,
    },
    /// A column name that the table does not have.
    #[error("{context}: unknown column '{column}' (available: {available})")]
    UnknownColumn {
        /// File or operation that looked the column up.
        context: String,
        /// Requested name.
        column: String,
        /// Comma-separated list of the existing names.
        available: String,
    },
    /// The header names the same column twice.
    #[error("{path}: duplicate column name '{column}' in the header")]
    DuplicateColumn {
        /// File being read.
        path: PathBuf,
        /// Repeated name.
        column: String,
    },
    /// A malformed IDX file.
    #[error("{path}: invalid IDX file: {reason}")]
    Idx {
        /// File being read.
        path: PathBuf,
        /// What is wrong (magic, dimensions, length).
        reason: String,
    },
    /// Input with the wrong number of rows or columns.
    #[error("{op}: shape mismatch: expected {expected}, found {found}")]
    Shape {
        /// Operation that checked the shape.
        op: &'static str,
        /// What was expected.
        expected: String,
        /// What was given.
        found: String,
    },
    /// A category seen at transform time that was not seen when fitting.
    #[error("{op}: unknown category {value:?} in column {column} (row {row})")]
    UnknownCategory {
        /// Encoder that met it.
        op: &'static str,
        /// Column index or name.
        column: String,
        /// 1-based row.
        row: usize,
        /// The category.
        value: String,
    },
    /// A missing value where none is allowed.
    #[error("{op}: missing value at row {row}, column {column}")]
    MissingValue {
        /// Operation that met it.
        op: &'static str,
        /// 1-based row.
        row: usize,
        /// Column index or name.
        column: String,
    },
    /// An infinite or NaN value where a finite one is required.
    #[error("{op}: non-finite value {value} at row {row}, column {column}")]
    NonFinite {
        /// Operation that met it.
        op: &'static str,
        /// 1-based row.
        row: usize,
        /// Column index or name.
        column: String,
        /// The value.
        value: f64,
    },
    /// A column has the wrong type for the operation.
    #[error("{op}: column '{column}' is {found}, expected {expected}")]
    ColumnType {
        /// Operation.
        op: &'static str,
        /// Column name.
        column: String,
        /// Expected type.
        expected: String,
        /// Actual type.
        found: String,
    },
    /// An invalid parameter (batch size 0, test fraction outside (0, 1), ...).
    #[error("{op}: invalid argument: {reason}")]
    InvalidArgument {
        /// Operation.
        op: &'static str,
        /// Why the argument is invalid.
        reason: String,
    },
    /// A fit on no rows (or no non-missing values).
    #[error("{op}: empty input: {reason}")]
    Empty {
        /// Operation.
        op: &'static str,
        /// What is empty.
        reason: String,
    },
    /// A dataset failed to produce a batch (raised by user `Dataset` implementations).
    #[error("dataset: {0}")]
    Dataset(String),
}

impl DataError {
    /// Shorthand for [`DataError::InvalidArgument`].
    pub(crate) fn invalid(op: &'static str, reason: impl Into<String>) -> Self {
        DataError::InvalidArgument {
            op,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`DataError::Shape`].
    pub(crate) fn shape(
        op: &'static str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        DataError::Shape {
            op,
            expected: expected.into(),
            found: found.into(),
        }
    }
}
