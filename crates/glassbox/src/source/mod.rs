//! Model sources: one entry point for every kind of model glassbox loads.
//!
//! A model path is either a glassbox bundle file or a Hugging Face model directory
//! (`config.json` + `model.safetensors` + `tokenizer.json`). [`ModelSource::detect`] tells
//! which without loading weights; [`AutoModel::open`] loads it (as transformers'
//! `AutoModel.from_pretrained` does) into one of the [`LoadedModel`]s:
//!
//! | source | `config.json` says | loads as | can |
//! | --- | --- | --- | --- |
//! | bundle file | – | [`Model`] | predict tables / images, explain |
//! | HF directory | `BertForSequenceClassification` | [`TextClassifier`] | classify texts |
//! | HF directory | `BertModel` + `modules.json`/`1_Pooling` | [`TextEmbedder`] | embed texts |
//! | HF directory | `GPT2LMHeadModel` | [`TextGenerator`] | generate text |
//!
//! Asking a model for what its kind cannot do is an [`Error::Capability`] naming the path,
//! the action and the kind ("cannot generate text (it is a BertForSequenceClassification)").
//!
//! ```
//! use glassbox::{AutoModel, LongInputs};
//!
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/transformers/bert_tiny");
//! let model = AutoModel::open(dir)?;
//! assert_eq!(model.kind(), "BertForSequenceClassification");
//! let p = model.classify_texts(&["Free money!!!"], LongInputs::Error)?;
//! assert_eq!(p.len(), 1);
//! let e = model.embed_texts(&["Free money!!!"], LongInputs::Error).unwrap_err();
//! assert!(e.to_string().contains("cannot embed texts (it is a BertForSequenceClassification)"));
//! # Ok::<(), glassbox::Error>(())
//! ```

mod detect;
mod generator;
mod text;

use std::path::Path;

use glassbox_hf::GenerateOptions;
use ndarray::Array2;

pub use detect::{HfArchitecture, ModelSource};
pub use generator::{Generation, TextGenerator};
pub use text::TextEmbedder;

use crate::text::{LongInputs, TextClassifier};

use crate::error::{Error, Result};
use crate::model::{Model, Predictions};

/// A model loaded from any [`ModelSource`].
#[derive(Debug)]
pub enum LoadedModel {
    /// A glassbox bundle (tables or images).
    Bundle(Model),
    /// A `BertForSequenceClassification` directory.
    TextClassifier(TextClassifier),
    /// A sentence-transformers directory.
    TextEmbedder(TextEmbedder),
    /// A `GPT2LMHeadModel` directory.
    TextGenerator(TextGenerator),
}

/// A loaded model and where it came from: what [`AutoModel::open`] returns.
#[derive(Debug)]
pub struct AutoModel {
    source: ModelSource,
    model: LoadedModel,
}

impl ModelSource {
    /// Loads the model: the bundle and its network, or the directory's weights, config
    /// and tokenizer. Errors name the file (and tensor, key or field) at fault.
    pub fn load(self) -> Result<AutoModel> {
        let model = match &self {
            ModelSource::Bundle(path) => LoadedModel::Bundle(Model::load(path)?),
            ModelSource::HuggingFace { dir, architecture } => match architecture {
                HfArchitecture::BertForSequenceClassification => {
                    LoadedModel::TextClassifier(TextClassifier::load(dir)?)
                }
                HfArchitecture::SentenceTransformer => {
                    LoadedModel::TextEmbedder(TextEmbedder::from_dir(dir)?)
                }
                HfArchitecture::Gpt2LmHeadModel => {
                    LoadedModel::TextGenerator(TextGenerator::from_dir(dir)?)
                }
            },
        };
        Ok(AutoModel {
            source: self,
            model,
        })
    }
}

impl AutoModel {
    /// Detects what `path` holds ([`ModelSource::detect`]) and loads it.
    pub fn open(path: impl AsRef<Path>) -> Result<AutoModel> {
        ModelSource::detect(path)?.load()
    }

    /// Where the model came from.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }

    /// The file or directory.
    pub fn path(&self) -> &Path {
        self.source.path()
    }

    /// What the model is: `glassbox bundle` or the Hugging Face architecture.
    pub fn kind(&self) -> &'static str {
        self.source.kind()
    }

    /// The loaded model.
    pub fn loaded(&self) -> &LoadedModel {
        &self.model
    }

    /// The loaded model and its source.
    pub fn into_parts(self) -> (ModelSource, LoadedModel) {
        (self.source, self.model)
    }

    fn cannot(&self, action: &'static str) -> Error {
        Error::Capability {
            path: self.path().display().to_string(),
            action,
            kind: self.kind().to_string(),
        }
    }

    /// The bundle model (tables and images); a capability error for text models.
    pub fn bundle(&self) -> Result<&Model> {
        match &self.model {
            LoadedModel::Bundle(m) => Ok(m),
            _ => Err(self.cannot("predict tables or images")),
        }
    }

    /// The bundle model, by value.
    pub fn into_bundle(self) -> Result<Model> {
        match self.model {
            LoadedModel::Bundle(m) => Ok(m),
            _ => Err(self.cannot("predict tables or images")),
        }
    }

    /// The text classifier; a capability error for other models.
    pub fn text_classifier(&self) -> Result<&TextClassifier> {
        match &self.model {
            LoadedModel::TextClassifier(m) => Ok(m),
            _ => Err(self.cannot("classify texts")),
        }
    }

    /// The sentence embedder; a capability error for other models.
    pub fn text_embedder(&self) -> Result<&TextEmbedder> {
        match &self.model {
            LoadedModel::TextEmbedder(m) => Ok(m),
            _ => Err(self.cannot("embed texts")),
        }
    }

    /// The text generator; a capability error for other models.
    pub fn text_generator(&self) -> Result<&TextGenerator> {
        match &self.model {
            LoadedModel::TextGenerator(m) => Ok(m),
            _ => Err(self.cannot("generate text")),
        }
    }

    /// Classifies `texts` ([`TextClassifier::classify`]).
    pub fn classify_texts(&self, texts: &[&str], long: LongInputs) -> Result<Predictions> {
        self.text_classifier()?.classify(texts, long)
    }

    /// Embeds `texts` ([`TextEmbedder::embed`]).
    pub fn embed_texts(&self, texts: &[&str], long: LongInputs) -> Result<Array2<f32>> {
        self.text_embedder()?.embed(texts, long)
    }

    /// Continues `prompt` ([`TextGenerator::generate`]).
    pub fn generate(&self, prompt: &str, opts: &GenerateOptions) -> Result<Generation> {
        self.text_generator()?.generate(prompt, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_refuses_what_it_cannot_do_by_name() {
        let gpt =
            AutoModel::open(glassbox_testkit::reference_path("transformers/gpt2_tiny")).unwrap();
        assert_eq!(gpt.kind(), "GPT2LMHeadModel");
        assert!(matches!(gpt.loaded(), LoadedModel::TextGenerator(_)));
        for e in [
            gpt.classify_texts(&["x"], LongInputs::Error).unwrap_err(),
            gpt.embed_texts(&["x"], LongInputs::Error).unwrap_err(),
            gpt.bundle().unwrap_err(),
        ] {
            let m = e.to_string();
            assert!(
                m.contains("gpt2_tiny") && m.contains("(it is a GPT2LMHeadModel)"),
                "{m}"
            );
        }
        let clf =
            AutoModel::open(glassbox_testkit::reference_path("transformers/bert_tiny")).unwrap();
        let e = clf
            .generate("x", &GenerateOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot generate text (it is a BertForSequenceClassification)"),
            "{e}"
        );
    }

    #[test]
    fn a_directory_with_a_missing_weights_file_names_it() {
        let d = std::env::temp_dir().join(format!("gbx-source-{}-noweights", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let cfg = glassbox_testkit::reference_path("transformers/bert_tiny/config.json");
        std::fs::copy(cfg, d.join("config.json")).unwrap();
        let e = AutoModel::open(&d).unwrap_err().to_string();
        assert!(e.contains("model.safetensors"), "{e}");
        // Weights but no tokenizer.json: the error names the tokenizer file.
        let w = glassbox_testkit::reference_path("transformers/bert_tiny/model.safetensors");
        std::fs::copy(w, d.join("model.safetensors")).unwrap();
        let e = AutoModel::open(&d).unwrap_err().to_string();
        assert!(e.contains("tokenizer.json"), "{e}");
        std::fs::remove_dir_all(&d).ok();
    }
}
