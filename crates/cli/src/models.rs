//! Opening `--model` paths: a glassbox bundle file or a Hugging Face model directory, through
//! the umbrella's [`AutoModel`]. A model of the wrong kind for a subcommand is a usage error
//! (exit code 2) naming `--model`, what the model is, and the subcommand that fits it.

use std::path::Path;

use glassbox::data::{read_csv, CsvOptions, Table};
use glassbox::{AutoModel, HfArchitecture, LoadedModel, Model, ModelSource};

use crate::error::{failure, usage, CliError, CliResult};

/// Opens `path` (bundle or Hugging Face directory), naming it in errors; a missing path is
/// reported as before ("no such file").
pub fn open_model(path: &Path) -> CliResult<AutoModel> {
    if !path.exists() {
        return Err(failure(format!(
            "{}: no such file (model bundle or Hugging Face model directory not found)",
            path.display()
        )));
    }
    Ok(AutoModel::open(path)?)
}

/// The subcommands that serve a model of `kind`.
fn fitting_commands(source: &ModelSource) -> &'static str {
    match source {
        ModelSource::Bundle(_) => "'glassbox predict/evaluate/explain --data'",
        ModelSource::HuggingFace { architecture, .. } => match architecture {
            HfArchitecture::BertForSequenceClassification => {
                "'glassbox predict --text' or 'glassbox evaluate --text-column'"
            }
            HfArchitecture::SentenceTransformer => "'glassbox embed'",
            HfArchitecture::Gpt2LmHeadModel => "'glassbox generate'",
        },
    }
}

/// The usage error for a model of the wrong kind: `'--model PATH': <what it cannot do>;
/// use <the subcommand that fits>`.
pub fn wrong_kind(model: &AutoModel, e: glassbox::Error) -> CliError {
    usage(format!(
        "'--model {}': {}; use {}",
        model.path().display(),
        strip_path(&e.to_string(), model.path()),
        fitting_commands(model.source())
    ))
}

/// `e`'s message without a leading `PATH: ` (the caller names the path itself).
fn strip_path(msg: &str, path: &Path) -> String {
    let prefix = format!("{}: ", path.display());
    msg.strip_prefix(&prefix).unwrap_or(msg).to_string()
}

/// Opens a bundle (tables and images) for `command`: a Hugging Face directory is a usage
/// error naming `--model`, the model's kind, that `command` does not take it yet, and the
/// subcommand that does.
pub fn load_bundle(path: &Path, command: &str) -> CliResult<Model> {
    let model = open_model(path)?;
    if matches!(model.loaded(), LoadedModel::Bundle(_)) {
        return Ok(model.into_bundle()?);
    }
    Err(usage(format!(
        "'--model {}': 'glassbox {command}' takes glassbox bundles; it does not support a \
         Hugging Face {} yet; use {}",
        path.display(),
        model.kind(),
        fitting_commands(model.source())
    )))
}

/// Reads the CSV (or `.csv.gz`) at `path` for a text model.
pub fn read_table(path: &Path) -> CliResult<Table> {
    crate::input::check_exists(path)?;
    Ok(read_csv(path, &CsvOptions::default())?)
}

/// The values of column `column` as strings (missing cells are empty; numbers are
/// written as they read, `1` rather than `1.0`); a column the table lacks is a usage error
/// naming `flag` and listing the columns.
pub fn string_column(table: &Table, column: &str, flag: &str) -> CliResult<Vec<String>> {
    let col = table.column(column).map_err(|_| {
        usage(format!(
            "invalid value '{column}' for '{flag}': {} has no such column (columns: {})",
            table.source(),
            table.column_names().join(", ")
        ))
    })?;
    if let Some(values) = col.as_strings() {
        return Ok(values
            .iter()
            .map(|v| v.clone().unwrap_or_default())
            .collect());
    }
    let numbers = col.as_numeric().unwrap_or_default();
    Ok(numbers
        .iter()
        .map(|v| v.map(|x| x.to_string()).unwrap_or_default())
        .collect())
}

/// A text model's error, with an over-long input reported with the flag that cuts it:
/// `…: input of N tokens is longer than the model's limit of L; pass '--truncate' to keep
/// the first L tokens`.
pub fn text_error(e: glassbox::Error) -> CliError {
    match e {
        glassbox::Error::Hf(glassbox::hf::HfError::InputTooLong {
            what,
            length,
            limit,
        }) => failure(format!(
            "{what}: input of {length} tokens is longer than the model's limit of {limit}; \
             pass '--truncate' to keep the first {limit} tokens"
        )),
        e => e.into(),
    }
}
