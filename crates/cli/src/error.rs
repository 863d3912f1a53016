//! Command errors and their exit codes: 2 for usage errors, 1 for data and model errors.

use std::fmt;

/// An error that ends the command with one line on stderr.
#[derive(Debug)]
pub enum CliError {
    /// A flag value is invalid (exit code 2, like clap's own usage errors).
    Usage(String),
    /// Data, model or I/O failure (exit code 1).
    Failure(String),
    /// The reader of stdout went away (`glassbox predict … | head -1`): the command stops
    /// quietly with exit code 0, like the Unix tools.
    BrokenPipe,
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failure(_) => 1,
            CliError::BrokenPipe => 0,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Failure(m) => f.write_str(m),
            CliError::BrokenPipe => f.write_str("stdout closed by its reader"),
        }
    }
}

impl From<glassbox::Error> for CliError {
    fn from(e: glassbox::Error) -> Self {
        CliError::Failure(one_line(&e.to_string()))
    }
}

macro_rules! failure_from {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError::Failure(one_line(&e.to_string()))
            }
        }
    )*};
}
failure_from!(
    glassbox::data::DataError,
    glassbox::metrics::MetricsError,
    glassbox::explain::ExplainError,
    glassbox::hf::HfError,
    glassbox::nn::NnError,
    glassbox::report::ReportError
);

/// Collapses a multi-line message into one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Shorthand for a usage error.
pub fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
}

/// Shorthand for a failure.
pub fn failure(msg: impl Into<String>) -> CliError {
    CliError::Failure(msg.into())
}

/// The error of a failed write to stdout: [`CliError::BrokenPipe`] when the reader went
/// away, otherwise a failure naming stdout.
pub fn stdout_error(e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::BrokenPipe
    } else {
        CliError::Failure(format!("writing to stdout: {e}"))
    }
}

/// Result of a command.
pub type CliResult<T> = Result<T, CliError>;
