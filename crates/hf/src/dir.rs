//! A Hugging Face model directory: `config.json`, `model.safetensors`, `tokenizer.json`.

use std::path::{Path, PathBuf};

use crate::error::{HfError, Result};
use crate::safetensors_file::SafetensorsFile;
use crate::tokenizer::Tokenizer;
use crate::weights::Checkpoint;

/// The files of a model directory, checked to exist.
#[derive(Debug, Clone)]
pub struct ModelDir {
    root: PathBuf,
}

impl ModelDir {
    /// `path`, which must be a folder holding `config.json` and `model.safetensors`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_path_buf();
        for file in ["config.json", "model.safetensors"] {
            let p = root.join(file);
            if !p.is_file() {
                return Err(HfError::io(
                    &p,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "a Hugging Face model directory needs config.json and model.safetensors",
                    ),
                ));
            }
        }
        Ok(ModelDir { root })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// The float weights of `model.safetensors`.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        Checkpoint::from_file(&SafetensorsFile::open(self.root.join("model.safetensors"))?)
    }

    /// `tokenizer.json`, loaded with truncation and padding off and `limit` as its length
    /// limit.
    pub fn tokenizer(&self, limit: usize) -> Result<Tokenizer> {
        Ok(Tokenizer::from_file(self.root.join("tokenizer.json"))?.with_limit(limit))
    }
}
