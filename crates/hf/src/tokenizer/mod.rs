//! `tokenizer.json` through the field's own `tokenizers` crate, wrapped so that results are
//! plain vectors with **character** offsets into the original text, and so that an
//! over-long input is never cut silently.
//!
//! A `tokenizer.json` may switch on truncation and padding (all-MiniLM-L6-v2's cuts and pads
//! to 128). [`Tokenizer::from_file`] turns both off and records them
//! ([`Tokenizer::file_truncation`], [`Tokenizer::file_padding`]); padding is done per
//! batch by [`Batch`](crate::Batch), and truncation only when asked with
//! [`Truncation`]. With the default [`Truncation::Error`] an input longer than the
//! tokenizer's limit (set with [`Tokenizer::with_limit`], e.g. the model's
//! `max_position_embeddings`) is an [`HfError::InputTooLong`] naming both lengths.

mod encoding;
mod train;

use std::path::Path;

use tokenizers::utils::truncation::{TruncationDirection, TruncationParams, TruncationStrategy};
use tokenizers::EncodeInput;

use crate::error::{HfError, Result};
pub use encoding::Encoding;
pub use train::{WordPieceOptions, BERT_SPECIAL_TOKENS};

/// What to do with an input longer than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Truncation {
    /// An input longer than the limit is an [`HfError::InputTooLong`] (the default).
    #[default]
    Error,
    /// Cut to `max_length` tokens (special tokens included), taking tokens from the longer
    /// sequence of a pair first (Hugging Face's `longest_first`).
    LongestFirst {
        /// Length after cutting.
        max_length: usize,
    },
    /// Cut only the first sequence of a pair (or the only one).
    OnlyFirst {
        /// Length after cutting.
        max_length: usize,
    },
    /// Cut only the second sequence of a pair.
    OnlySecond {
        /// Length after cutting.
        max_length: usize,
    },
}

impl Truncation {
    fn params(self) -> Option<TruncationParams> {
        let (strategy, max_length) = match self {
            Truncation::Error => return None,
            Truncation::LongestFirst { max_length } => {
                (TruncationStrategy::LongestFirst, max_length)
            }
            Truncation::OnlyFirst { max_length } => (TruncationStrategy::OnlyFirst, max_length),
            Truncation::OnlySecond { max_length } => (TruncationStrategy::OnlySecond, max_length),
        };
        Some(TruncationParams {
            direction: TruncationDirection::Right,
            max_length,
            strategy,
            stride: 0,
        })
    }

    fn max_length(self) -> Option<usize> {
        self.params().map(|p| p.max_length)
    }
}

/// A tokenizer loaded from `tokenizer.json` (WordPiece, byte-level BPE, or anything else
/// the `tokenizers` crate reads).
///
/// ```
/// use glassbox_hf::Tokenizer;
///
/// let path = glassbox_testkit::reference_path("transformers/tokenizers/wordpiece.json");
/// let tok = Tokenizer::from_file(&path)?.with_limit(16);
/// let enc = tok.encode("Hi there", true)?;
/// assert_eq!(enc.tokens.first().map(String::as_str), Some("[CLS]"));
/// assert_eq!(enc.offsets[1], (0, 1)); // character offsets into the text
/// assert_eq!(enc.special_tokens_mask.last(), Some(&1));
/// let err = tok.encode(&"word ".repeat(40), true).unwrap_err();
/// assert!(err.to_string().contains("longer than the limit of 16"));
/// # Ok::<(), glassbox_hf::HfError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    origin: String,
    limit: Option<usize>,
    truncation: Truncation,
    file_truncation: Option<usize>,
    file_padding: Option<String>,
}

impl Tokenizer {
    /// Loads `path` (a `tokenizer.json`), with its truncation and padding switched off.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| HfError::io(path, e))?;
        Self::from_json_str(&text, &origin)
    }

    /// Parses the contents of a `tokenizer.json` (`origin` names it in errors).
    pub fn from_json_str(json: &str, origin: &str) -> Result<Self> {
        let mut inner: tokenizers::Tokenizer =
            json.parse()
                .map_err(|e: tokenizers::Error| HfError::Tokenizer {
                    origin: origin.to_string(),
                    reason: e.to_string(),
                })?;
        let file_truncation = inner.get_truncation().map(|t| t.max_length);
        let file_padding = inner.get_padding().map(|p| format!("{:?}", p.strategy));
        inner
            .with_truncation(None)
            .map_err(|e| tok_err(origin, e))?;
        inner.with_padding(None);
        Ok(Tokenizer {
            inner,
            origin: origin.to_string(),
            limit: None,
            truncation: Truncation::Error,
            file_truncation,
            file_padding,
        })
    }

    /// Sets the length limit (special tokens included) that [`Truncation::Error`] enforces.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The length limit, if any.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// Chooses how over-long inputs are handled. A truncation length above the limit, or
    /// of zero, is an error.
    pub fn with_truncation(mut self, truncation: Truncation) -> Result<Self> {
        if let Some(max) = truncation.max_length() {
            if max == 0 || self.limit.is_some_and(|l| max > l) {
                return Err(HfError::InvalidInput {
                    what: "truncation max_length".into(),
                    reason: format!("{max} must be in 1..={}", self.limit.unwrap_or(usize::MAX)),
                });
            }
        }
        self.inner
            .with_truncation(truncation.params())
            .map_err(|e| tok_err(&self.origin, e))?;
        self.truncation = truncation;
        Ok(self)
    }

    /// The truncation length `tokenizer.json` asked for (turned off on loading).
    pub fn file_truncation(&self) -> Option<usize> {
        self.file_truncation
    }

    /// The padding strategy `tokenizer.json` asked for (turned off on loading), as text.
    pub fn file_padding(&self) -> Option<&str> {
        self.file_padding.as_deref()
    }

    /// Encodes one text.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Encoding> {
        self.run(EncodeInput::Single(text.into()), add_special_tokens, "text")
    }

    /// Encodes a sentence pair (`[CLS] a [SEP] b [SEP]` for BERT; type ids 0 then 1).
    pub fn encode_pair(&self, a: &str, b: &str, add_special_tokens: bool) -> Result<Encoding> {
        self.run(
            EncodeInput::Dual(a.into(), b.into()),
            add_special_tokens,
            "sentence pair",
        )
    }

    /// Encodes several texts (in parallel for large batches, by the `tokenizers` crate).
    pub fn encode_batch(&self, texts: &[&str], add_special_tokens: bool) -> Result<Vec<Encoding>> {
        let inputs: Vec<EncodeInput> = texts
            .iter()
            .map(|&t| EncodeInput::Single(t.into()))
            .collect();
        let raw = self
            .inner
            .encode_batch_char_offsets(inputs, add_special_tokens)
            .map_err(|e| tok_err(&self.origin, e))?;
        raw.into_iter()
            .enumerate()
            .map(|(i, e)| self.check(e, &format!("text {i}")))
            .collect()
    }

    fn run(&self, input: EncodeInput<'_>, add_special: bool, what: &str) -> Result<Encoding> {
        let raw = self
            .inner
            .encode_char_offsets(input, add_special)
            .map_err(|e| tok_err(&self.origin, e))?;
        self.check(raw, what)
    }

    fn check(&self, raw: tokenizers::Encoding, what: &str) -> Result<Encoding> {
        if let Some(limit) = self.limit {
            if raw.len() > limit {
                return Err(HfError::InputTooLong {
                    what: format!("{}: {what}", self.origin),
                    length: raw.len(),
                    limit,
                });
            }
        }
        Ok(Encoding::from_raw(raw))
    }

    /// Text of `ids`; special tokens are dropped when `skip_special_tokens`.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| tok_err(&self.origin, e))
    }

    /// Id of `token`, if it is in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The token of `id`.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Vocabulary size, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The id used for padding: `[PAD]`, `<pad>` or `<|endoftext|>` when present, else 0.
    pub fn pad_id(&self) -> u32 {
        ["[PAD]", "<pad>", "<|endoftext|>"]
            .iter()
            .find_map(|t| self.token_to_id(t))
            .unwrap_or(0)
    }

    /// The file (or name) the tokenizer came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

fn tok_err(origin: &str, e: tokenizers::Error) -> HfError {
    HfError::Tokenizer {
        origin: origin.to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
