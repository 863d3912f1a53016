//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while validating, rendering or writing a report.
///
/// Every variant names the section and field at fault so a caller can fix its data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A field holds a value of the wrong length (for example an image whose pixel count is
    /// not `width * height`).
    #[error("{section}: field `{field}` has length {found}, expected {expected}")]
    Length {
        /// Report section (e.g. `"image explanations[2]"`).
        section: String,
        /// Field name within the section.
        field: String,
        /// Length the field should have.
        expected: usize,
        /// Length it has.
        found: usize,
    },
    /// A field holds a value that is not allowed (a zero image width, a NaN count, ...).
    #[error("{section}: field `{field}` is invalid: {reason}")]
    Invalid {
        /// Report section.
        section: String,
        /// Field name within the section.
        field: String,
        /// Why the value is rejected.
        reason: String,
    },
    /// Encoding a PNG failed.
    #[error("png encoding of {what} ({width}x{height}) failed: {source}")]
    Png {
        /// What was being encoded.
        what: String,
        /// Image width in pixels.
        width: u32,
        /// Image height in pixels.
        height: u32,
        /// The encoder's error.
        #[source]
        source: png::EncodingError,
    },
    /// Reading or writing a file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation (`"create"`, `"write"`, `"rename"`, ...).
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ReportError {
    pub(crate) fn invalid(
        section: impl Into<String>,
        field: &str,
        reason: impl Into<String>,
    ) -> Self {
        ReportError::Invalid {
            section: section.into(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn length(
        section: impl Into<String>,
        field: &str,
        expected: usize,
        found: usize,
    ) -> Self {
        ReportError::Length {
            section: section.into(),
            field: field.to_string(),
            expected,
            found,
        }
    }
}
