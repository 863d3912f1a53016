//! Hugging Face model directories for glassbox.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod batch;
pub mod config;
mod error;
pub mod safetensors_file;
pub mod tokenizer;
pub mod weights;

pub use batch::Batch;
pub use config::{BertConfig, Gpt2Config, HiddenAct};
pub use error::{HfError, Result};
pub use safetensors_file::{
    serialize_safetensors, write_safetensors, Dtype, SafetensorsFile, TensorEntry, TensorToWrite,
};
pub use tokenizer::{Encoding, Tokenizer, Truncation};
pub use weights::Checkpoint;
