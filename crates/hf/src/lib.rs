//! Hugging Face model directories for glassbox: safetensors files, `config.json`,
//! `tokenizer.json`, and BERT and GPT-2 built from `glassbox-nn`'s Transformer layers.
//!
//! This crate sits above `glassbox-nn`: `nn` and `tensor` know nothing of JSON configs or
//! tokenizers. A Hugging Face directory (`config.json` + `model.safetensors` +
//! `tokenizer.json`) loads into:
//!
//! - [`BertModel`] and [`BertForSequenceClassification`] (keys with or without `bert.`),
//! - [`Gpt2LmHeadModel`] with [`generate`](Gpt2LmHeadModel::generate) (greedy or seeded
//!   sampling, key/value cache),
//! - [`SentenceEmbedder`] for sentence-transformers models such as all-MiniLM-L6-v2.
//!
//! Missing and unexpected weights are listed in one [`HfError::Keys`]; over-long inputs are
//! an [`HfError::InputTooLong`] unless a [`Truncation`] is chosen.
//!
//! ```
//! use glassbox_autograd::no_grad;
//! use glassbox_hf::{Batch, BertForSequenceClassification, Tokenizer};
//!
//! let dir = glassbox_testkit::reference_path("transformers/bert_tiny");
//! let model = BertForSequenceClassification::from_dir(&dir)?;
//! let tok = Tokenizer::from_file(dir.join("tokenizer.json"))?.with_limit(64);
//! let enc = tok.encode_batch(&["Free money!!!", "Re: the meeting"], true)?;
//! let batch = Batch::from_encodings(&enc, tok.pad_id())?;
//! let logits = no_grad(|| model.forward(&batch))?;
//! assert_eq!(logits.shape(), vec![2, 3]);
//! # Ok::<(), glassbox_hf::HfError>(())
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod batch;
pub mod bert;
pub mod config;
mod dir;
mod error;
pub mod gpt2;
mod load;
pub mod safetensors_file;
pub mod sentence;
pub mod tokenizer;
pub mod weights;

pub use batch::Batch;
pub use bert::{BertForSequenceClassification, BertModel, BertOutput, BertOutputs};
pub use config::{BertConfig, Gpt2Config, HiddenAct};
pub use dir::ModelDir;
pub use error::{HfError, Result};
pub use gpt2::{Decoding, GenerateOptions, Generated, Gpt2Cache, Gpt2LmHeadModel, StopReason};
pub use safetensors_file::{
    serialize_safetensors, write_safetensors, Dtype, SafetensorsFile, TensorEntry, TensorToWrite,
};
pub use sentence::{cosine_matrix, l2_normalize, Pooling, SentenceEmbedder};
pub use tokenizer::{Encoding, Tokenizer, Truncation, WordPieceOptions};
pub use weights::Checkpoint;
