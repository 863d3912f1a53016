//! Text classification with Transformers: a BERT classifier trained from scratch (with a
//! WordPiece tokenizer trained on the corpus) or fine-tuned from a pretrained encoder
//! such as all-MiniLM-L6-v2, saved as a Hugging Face model directory (`config.json`,
//! `model.safetensors`, `tokenizer.json`) that glassbox-hf and Python's transformers
//! load.
//!
//! ```no_run
//! use glassbox::text::{TextClassifier, TextData, TextTrainConfig, TransformerSpec};
//!
//! let data = TextData::from_csv("spam_assassin.csv.gz", "body", "label")?;
//! let (train, test) = data.stratified_split(0.2, 0)?;
//! let spec = TransformerSpec::parse("transformer:layers=2,hidden=64,heads=4,max_len=128")?;
//! let mut clf = TextClassifier::from_scratch(&train, &spec, 0)?;
//! let fit = clf.fit(&train, Some(&test), &TextTrainConfig::default(), &mut |e| {
//!     println!("epoch {}: loss {:.4}, accuracy {:?}, {:.1} s", e.epoch, e.train_loss,
//!              e.val_accuracy, e.seconds);
//! })?;
//! println!("{} of {} mails cut to 128 tokens", fit.truncated, fit.n_train);
//! clf.save_verified("spam-model", &["Free money!!!"])?;
//! # Ok::<(), glassbox::Error>(())
//! ```

pub(crate) mod batching;
mod classifier;
mod data;
mod spec;
mod train;

pub use batching::{LongInputs, TEXT_BATCH};
pub use classifier::{Encoded, TextClassifier};
pub use data::TextData;
pub use spec::TransformerSpec;
pub use train::{linear_warmup_decay, TextEpoch, TextFit, TextTrainConfig};
