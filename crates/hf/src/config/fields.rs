//! Reading `config.json`-style files one field at a time, so every error names its field.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{HfError, Result};

/// A parsed JSON object and the file it came from.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub(crate) file: String,
    map: Map<String, Value>,
}

impl Fields {
    /// Reads and parses `path`, which must hold a JSON object.
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| HfError::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses `text` (named `file` in errors).
    pub(crate) fn parse(text: &str, file: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text).map_err(|e| HfError::Config {
            file: file.to_string(),
            field: "<root>".into(),
            reason: format!("not valid JSON: {e}"),
        })?;
        match value {
            Value::Object(map) => Ok(Fields {
                file: file.to_string(),
                map,
            }),
            other => Err(HfError::Config {
                file: file.to_string(),
                field: "<root>".into(),
                reason: format!("expected a JSON object, found {}", kind(&other)),
            }),
        }
    }

    pub(crate) fn error(&self, field: &str, reason: impl Into<String>) -> HfError {
        HfError::Config {
            file: self.file.clone(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// Field `name`, which must be present and not null.
    pub(crate) fn get<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        match self.map.get(name) {
            None | Some(Value::Null) => Err(self.error(name, "missing")),
            Some(v) => self.convert(name, v),
        }
    }

    /// Field `name`, or `None` when absent or null.
    pub(crate) fn opt<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => self.convert(name, v).map(Some),
        }
    }

    /// Field `name`, or `default` when absent or null.
    pub(crate) fn or<T: DeserializeOwned>(&self, name: &str, default: T) -> Result<T> {
        Ok(self.opt(name)?.unwrap_or(default))
    }

    /// A positive integer field.
    pub(crate) fn positive(&self, name: &str) -> Result<usize> {
        let v: usize = self.get(name)?;
        if v == 0 {
            return Err(self.error(name, "must be positive, got 0"));
        }
        Ok(v)
    }

    fn convert<T: DeserializeOwned>(&self, name: &str, v: &Value) -> Result<T> {
        T::deserialize(v).map_err(|e| self.error(name, format!("{e} (found {v})")))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
