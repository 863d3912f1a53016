//! The result of encoding one text or pair.

/// One encoded text (or sentence pair). All vectors have one entry per token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// Token ids.
    pub ids: Vec<u32>,
    /// Segment ids (0 for the first sentence, 1 for the second of a pair).
    pub type_ids: Vec<u32>,
    /// `(start, end)` **character** offsets of each token in its sentence; `(0, 0)` for
    /// special tokens.
    pub offsets: Vec<(usize, usize)>,
    /// 1 for special tokens (`[CLS]`, `[SEP]`, …), 0 for tokens of the text.
    pub special_tokens_mask: Vec<u32>,
    /// 1 for every token (padding is added per batch, by [`Batch`](crate::Batch)).
    pub attention_mask: Vec<u32>,
    /// The tokens as strings.
    pub tokens: Vec<String>,
    /// Which sentence of the input each token comes from (`None` for special tokens).
    pub sequence_ids: Vec<Option<usize>>,
}

impl Encoding {
    pub(crate) fn from_raw(raw: tokenizers::Encoding) -> Self {
        Encoding {
            ids: raw.get_ids().to_vec(),
            type_ids: raw.get_type_ids().to_vec(),
            offsets: raw.get_offsets().to_vec(),
            special_tokens_mask: raw.get_special_tokens_mask().to_vec(),
            attention_mask: raw.get_attention_mask().to_vec(),
            tokens: raw.get_tokens().to_vec(),
            sequence_ids: raw.get_sequence_ids(),
        }
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// `true` when there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}
