//! Training a BERT WordPiece tokenizer on a corpus with the `tokenizers` crate's own
//! `WordPieceTrainer`, and writing any tokenizer back as `tokenizer.json`.

use std::path::Path;

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::models::TrainerWrapper;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::AddedToken;

use super::{tok_err, Tokenizer, Truncation};
use crate::error::{HfError, Result};

/// BERT's special tokens, in the order they get ids 0..5.
pub const BERT_SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Settings of [`Tokenizer::train_wordpiece`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordPieceOptions {
    /// Vocabulary size, special tokens and the alphabet included (default 8000).
    pub vocab_size: usize,
    /// A pair must occur this often to be merged (default 2).
    pub min_frequency: u64,
    /// Keep at most this many distinct characters (the rarest become `[UNK]`; default
    /// 1000, as transformers' `BertWordPieceTokenizer`).
    pub limit_alphabet: usize,
    /// Lowercase and strip accents (BERT uncased; default true).
    pub lowercase: bool,
}

impl Default for WordPieceOptions {
    fn default() -> Self {
        WordPieceOptions {
            vocab_size: 8000,
            min_frequency: 2,
            limit_alphabet: 1000,
            lowercase: true,
        }
    }
}

impl Tokenizer {
    /// Trains a BERT WordPiece tokenizer on `texts`: BERT normaliser (cleaning, CJK
    /// spacing, lowercase and accent stripping when `opts.lowercase`), BERT
    /// pre-tokenizer (whitespace and punctuation), `##` continuation prefix, the special
    /// tokens [`BERT_SPECIAL_TOKENS`] with ids 0–4, and `[CLS] … [SEP]` added by the
    /// post-processor. The vocabulary is learnt by the `tokenizers` crate's
    /// `WordPieceTrainer`. The result has no length limit and no truncation.
    ///
    /// ```
    /// use glassbox_hf::tokenizer::WordPieceOptions;
    /// use glassbox_hf::Tokenizer;
    ///
    /// let texts = ["Free money now", "Meeting moved to Monday", "free MONEY!!"];
    /// let opts = WordPieceOptions { vocab_size: 120, min_frequency: 1, ..Default::default() };
    /// let tok = Tokenizer::train_wordpiece(&texts, &opts)?;
    /// let enc = tok.encode("Free money", true)?;
    /// assert_eq!(enc.tokens, ["[CLS]", "free", "money", "[SEP]"]);
    /// assert_eq!(tok.pad_id(), 0);
    /// # Ok::<(), glassbox_hf::HfError>(())
    /// ```
    pub fn train_wordpiece<S: AsRef<str> + Sync>(
        texts: &[S],
        opts: &WordPieceOptions,
    ) -> Result<Tokenizer> {
        let origin = "<trained WordPiece>";
        if opts.vocab_size <= BERT_SPECIAL_TOKENS.len() {
            return Err(HfError::InvalidInput {
                what: "WordPiece vocab_size".into(),
                reason: format!(
                    "{} must exceed the {} special tokens",
                    opts.vocab_size,
                    BERT_SPECIAL_TOKENS.len()
                ),
            });
        }
        let specials = BERT_SPECIAL_TOKENS
            .iter()
            .map(|t| AddedToken::from(*t, true))
            .collect();
        let mut trainer: TrainerWrapper = WordPieceTrainer::builder()
            .vocab_size(opts.vocab_size)
            .min_frequency(opts.min_frequency)
            .limit_alphabet(opts.limit_alphabet)
            .special_tokens(specials)
            .show_progress(false)
            .build()
            .into();
        let model = WordPiece::builder()
            .unk_token("[UNK]".into())
            .build()
            .map_err(|e| tok_err(origin, e))?;
        let mut inner = tokenizers::Tokenizer::new(model);
        inner.with_normalizer(Some(BertNormalizer::new(
            true,
            true,
            Some(opts.lowercase),
            opts.lowercase,
        )));
        inner.with_pre_tokenizer(Some(BertPreTokenizer));
        inner.with_decoder(Some(WordPieceDecoder::default()));
        inner
            .train(&mut trainer, texts.iter().map(|t| t.as_ref()))
            .map_err(|e| tok_err(origin, e))?;
        let id = |t: &str| {
            inner.token_to_id(t).ok_or_else(|| HfError::Tokenizer {
                origin: origin.into(),
                reason: format!("special token {t} missing after training"),
            })
        };
        let (sep, cls) = (id("[SEP]")?, id("[CLS]")?);
        inner.with_post_processor(Some(BertProcessing::new(
            ("[SEP]".into(), sep),
            ("[CLS]".into(), cls),
        )));
        Ok(Tokenizer {
            inner,
            origin: origin.to_string(),
            limit: None,
            truncation: Truncation::Error,
            file_truncation: None,
            file_padding: None,
        })
    }

    /// The tokenizer as `tokenizer.json` text (the format the `tokenizers` libraries read;
    /// a chosen [`Truncation`] is written too, so Python applies the same cut).
    pub fn to_json(&self, pretty: bool) -> Result<String> {
        self.inner
            .to_string(pretty)
            .map_err(|e| tok_err(&self.origin, e))
    }

    /// Writes [`to_json`](Self::to_json) to `path` atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let json = self.to_json(true)?;
        glassbox_nn::io::envelope::write_atomic(path.as_ref(), json.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        (0..200)
            .map(|i| {
                format!(
                    "Résumé {i}: the quick brown fox jumps over the lazy dog; CLICK HERE for free money {}",
                    i % 7
                )
            })
            .collect()
    }

    #[test]
    fn trains_bert_wordpiece_with_specials_first() {
        let opts = WordPieceOptions {
            vocab_size: 300,
            ..Default::default()
        };
        let tok = Tokenizer::train_wordpiece(&corpus(), &opts).unwrap();
        for (i, t) in BERT_SPECIAL_TOKENS.iter().enumerate() {
            assert_eq!(tok.token_to_id(t), Some(i as u32), "{t}");
        }
        assert!(tok.vocab_size() <= 300);
        let enc = tok.encode("RÉSUMÉ: Click here", true).unwrap();
        assert_eq!(
            enc.tokens,
            ["[CLS]", "resume", ":", "click", "here", "[SEP]"]
        );
        // Unseen characters become [UNK], never an error.
        let enc = tok.encode("∮ quick", true).unwrap();
        assert_eq!(enc.tokens, ["[CLS]", "[UNK]", "quick", "[SEP]"]);
    }

    #[test]
    fn json_round_trip_keeps_encodings() {
        let opts = WordPieceOptions {
            vocab_size: 200,
            ..Default::default()
        };
        let tok = Tokenizer::train_wordpiece(&corpus(), &opts)
            .unwrap()
            .with_limit(8)
            .with_truncation(Truncation::OnlyFirst { max_length: 8 })
            .unwrap();
        let json = tok.to_json(false).unwrap();
        let back = Tokenizer::from_json_str(&json, "tokenizer.json").unwrap();
        assert_eq!(back.file_truncation(), Some(8));
        let text = "the lazy dog jumps over the quick brown fox again and again";
        let a = tok.encode(text, true).unwrap();
        assert_eq!(a.len(), 8);
        let b = back
            .with_limit(8)
            .with_truncation(Truncation::OnlyFirst { max_length: 8 })
            .unwrap()
            .encode(text, true)
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn too_small_vocabulary_is_an_error() {
        let opts = WordPieceOptions {
            vocab_size: 5,
            ..Default::default()
        };
        let e = Tokenizer::train_wordpiece(&corpus(), &opts).unwrap_err();
        assert!(e.to_string().contains("vocab_size"), "{e}");
    }
}
