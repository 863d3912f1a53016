//! Deciding what a model path holds: a bundle file, or a Hugging Face directory whose
//! `config.json` (`architectures`, `model_type`) and sentence-transformers files
//! (`modules.json`, `1_Pooling/`) pick the architecture. Only `config.json` is read here;
//! weights are loaded by [`ModelSource::load`](super::ModelSource::load).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// The Hugging Face architectures glassbox loads from a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HfArchitecture {
    /// `BertForSequenceClassification`: a text classifier (labels from `id2label`).
    BertForSequenceClassification,
    /// A sentence-transformers BERT (`BertModel` weights, the pooling named in
    /// `1_Pooling/config.json`, normalisation when `modules.json` lists it).
    SentenceTransformer,
    /// `GPT2LMHeadModel`: a causal language model that generates text.
    Gpt2LmHeadModel,
}

impl HfArchitecture {
    /// The name used in messages (the `architectures` name where there is one).
    pub fn name(self) -> &'static str {
        match self {
            HfArchitecture::BertForSequenceClassification => "BertForSequenceClassification",
            HfArchitecture::SentenceTransformer => "sentence-transformers BertModel",
            HfArchitecture::Gpt2LmHeadModel => "GPT2LMHeadModel",
        }
    }
}

impl std::fmt::Display for HfArchitecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the architectures supported are called in errors.
const SUPPORTED: &str = "BertForSequenceClassification, BertModel with a sentence-transformers \
                         pooling (modules.json, 1_Pooling/config.json), GPT2LMHeadModel";

/// Whether `dir` is a sentence-transformers directory.
pub(crate) fn has_pooling(dir: &Path) -> bool {
    dir.join("modules.json").is_file() || dir.join("1_Pooling").join("config.json").is_file()
}

/// The architecture of the Hugging Face directory `dir` (which holds `config.json`).
pub(crate) fn hf_architecture(dir: &Path) -> Result<HfArchitecture> {
    let config = dir.join("config.json");
    let file = config.display().to_string();
    let text = std::fs::read_to_string(&config).map_err(|e| Error::io(&config, e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Error::Hf(glassbox_hf::HfError::Config {
            file: file.clone(),
            field: "<root>".into(),
            reason: format!("not valid JSON: {e}"),
        })
    })?;
    let unsupported = |field: &'static str, reason: String| Error::UnsupportedModel {
        file: file.clone(),
        field,
        reason,
    };
    let Value::Object(map) = value else {
        return Err(unsupported(
            "<root>",
            "expected a JSON object (a Hugging Face config.json)".into(),
        ));
    };
    let architectures: Vec<String> = match map.get("architectures") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    unsupported(
                        "architectures",
                        format!("expected a list of names, found {v}"),
                    )
                })
            })
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(unsupported(
                "architectures",
                format!("expected a list of names, found {other}"),
            ))
        }
    };
    let model_type = match map.get("model_type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(unsupported(
                "model_type",
                format!("expected a string, found {other}"),
            ))
        }
    };
    let pooling = has_pooling(dir);
    if let Some(arch) = architectures.first() {
        return match arch.as_str() {
            "BertForSequenceClassification" => Ok(HfArchitecture::BertForSequenceClassification),
            "GPT2LMHeadModel" => Ok(HfArchitecture::Gpt2LmHeadModel),
            a if a.starts_with("Bert") && pooling => Ok(HfArchitecture::SentenceTransformer),
            "BertModel" => Err(unsupported(
                "architectures",
                format!(
                    "`BertModel` without a sentence-transformers pooling ({} not found): \
                     glassbox loads a bare BERT encoder as a sentence embedder only",
                    dir.join("1_Pooling").join("config.json").display()
                ),
            )),
            other => Err(unsupported(
                "architectures",
                format!("`{other}` is not supported (supported: {SUPPORTED})"),
            )),
        };
    }
    match model_type.as_deref() {
        Some("bert") if pooling => Ok(HfArchitecture::SentenceTransformer),
        Some("gpt2") => Ok(HfArchitecture::Gpt2LmHeadModel),
        Some("bert") => Err(unsupported(
            "architectures",
            "missing: `model_type: bert` alone does not say which head the weights have \
             (name BertForSequenceClassification, or add a sentence-transformers pooling)"
                .into(),
        )),
        Some(other) => Err(unsupported(
            "model_type",
            format!("`{other}` is not supported (supported: {SUPPORTED})"),
        )),
        None => Err(unsupported(
            "architectures",
            "missing, and so is `model_type`: the architecture cannot be told".into(),
        )),
    }
}

/// Where a model comes from: a bundle file or a Hugging Face directory, told apart
/// without loading any weights (PyTorch users know this as the dispatch of
/// `AutoModel.from_pretrained`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A glassbox bundle file (`glassbox train`'s `.gbx`).
    Bundle(PathBuf),
    /// A Hugging Face model directory (`config.json`, `model.safetensors`,
    /// `tokenizer.json`).
    HuggingFace {
        /// The directory.
        dir: PathBuf,
        /// The architecture its `config.json` names.
        architecture: HfArchitecture,
    },
}

impl ModelSource {
    /// Tells what `path` is: a file is a bundle; a directory must hold a `config.json`
    /// naming a supported architecture. A missing path, a directory without
    /// `config.json` and an unsupported architecture are errors naming the path, file
    /// and field.
    pub fn detect(path: impl AsRef<Path>) -> Result<ModelSource> {
        let path = path.as_ref();
        if path.is_file() {
            return Ok(ModelSource::Bundle(path.to_path_buf()));
        }
        if !path.is_dir() {
            return Err(Error::NotAModel {
                path: path.display().to_string(),
                reason: "no such file or directory".into(),
            });
        }
        if !path.join("config.json").is_file() {
            return Err(Error::NotAModel {
                path: path.display().to_string(),
                reason: format!(
                    "a directory must be a Hugging Face model directory, and {} is missing",
                    path.join("config.json").display()
                ),
            });
        }
        Ok(ModelSource::HuggingFace {
            dir: path.to_path_buf(),
            architecture: hf_architecture(path)?,
        })
    }

    /// The file or directory.
    pub fn path(&self) -> &Path {
        match self {
            ModelSource::Bundle(p) => p,
            ModelSource::HuggingFace { dir, .. } => dir,
        }
    }

    /// `true` for a Hugging Face directory.
    pub fn is_hugging_face(&self) -> bool {
        matches!(self, ModelSource::HuggingFace { .. })
    }

    /// What the source holds, for messages: `glassbox bundle` or the architecture.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelSource::Bundle(_) => "glassbox bundle",
            ModelSource::HuggingFace { architecture, .. } => architecture.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(name: &str, config: &str, pooling: bool) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gbx-detect-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config.json"), config).unwrap();
        if pooling {
            std::fs::write(d.join("modules.json"), "[]").unwrap();
        }
        d
    }

    #[test]
    fn architectures_and_model_type_pick_the_model() {
        let cases = [
            (
                r#"{"architectures":["BertForSequenceClassification"],"model_type":"bert"}"#,
                false,
                HfArchitecture::BertForSequenceClassification,
            ),
            (
                r#"{"architectures":["BertModel"],"model_type":"bert"}"#,
                true,
                HfArchitecture::SentenceTransformer,
            ),
            (
                r#"{"model_type":"bert"}"#,
                true,
                HfArchitecture::SentenceTransformer,
            ),
            (
                r#"{"architectures":["GPT2LMHeadModel"]}"#,
                false,
                HfArchitecture::Gpt2LmHeadModel,
            ),
            (
                r#"{"model_type":"gpt2"}"#,
                false,
                HfArchitecture::Gpt2LmHeadModel,
            ),
        ];
        for (i, (config, pooling, want)) in cases.into_iter().enumerate() {
            let d = dir_with(&format!("ok{i}"), config, pooling);
            let src = ModelSource::detect(&d).unwrap();
            assert_eq!(
                src,
                ModelSource::HuggingFace {
                    dir: d.clone(),
                    architecture: want
                },
                "{config}"
            );
            std::fs::remove_dir_all(&d).ok();
        }
    }

    #[test]
    fn unsupported_and_missing_are_errors_naming_file_and_field() {
        let cases = [
            (
                r#"{"architectures":["T5ForConditionalGeneration"]}"#,
                "`architectures`",
                "T5ForConditionalGeneration",
            ),
            (
                r#"{"architectures":["BertModel"]}"#,
                "`architectures`",
                "1_Pooling",
            ),
            (r#"{"model_type":"llama"}"#, "`model_type`", "llama"),
            (r#"{"model_type":"bert"}"#, "`architectures`", "which head"),
            (r#"{}"#, "`architectures`", "missing"),
            (
                r#"{"architectures":"BertModel"}"#,
                "`architectures`",
                "list of names",
            ),
            (r#"[1,2]"#, "<root>", "JSON object"),
            (r#"{"architectures": ["#, "<root>", "not valid JSON"),
        ];
        for (i, (config, field, needle)) in cases.into_iter().enumerate() {
            let d = dir_with(&format!("bad{i}"), config, false);
            let e = ModelSource::detect(&d).unwrap_err().to_string();
            assert!(e.contains("config.json"), "{e}");
            assert!(e.contains(field) && e.contains(needle), "{config}: {e}");
            std::fs::remove_dir_all(&d).ok();
        }
        let e = ModelSource::detect("no/such/model")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no/such/model") && e.contains("no such file"),
            "{e}"
        );
        let empty = std::env::temp_dir().join(format!("gbx-detect-{}-empty", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let e = ModelSource::detect(&empty).unwrap_err().to_string();
        assert!(e.contains("config.json is missing"), "{e}");
        std::fs::remove_dir_all(&empty).ok();
    }
}
