//! A padded batch of token ids: what the models take as input.

use crate::error::{HfError, Result};
use crate::tokenizer::Encoding;

/// `batch × seq_len` token ids with their attention mask (1 = real token, 0 = padding)
/// and segment ids, row-major. Rows are padded on the right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Number of rows.
    pub batch: usize,
    /// Length of every row.
    pub seq_len: usize,
    /// Token ids, `[batch * seq_len]`.
    pub input_ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding, `[batch * seq_len]`.
    pub attention_mask: Vec<u32>,
    /// Segment ids, `[batch * seq_len]`.
    pub token_type_ids: Vec<u32>,
}

impl Batch {
    /// Rows `range` of this batch (same length, padding and segments). Panics if the range
    /// is empty or out of bounds, or if the batch's vectors do not hold `batch · seq_len`
    /// entries (see [`check_lengths`](Self::check_lengths)).
    pub fn rows(&self, range: std::ops::Range<usize>) -> Batch {
        assert!(
            !range.is_empty() && range.end <= self.batch,
            "rows {range:?} of {}",
            self.batch
        );
        let span = range.start * self.seq_len..range.end * self.seq_len;
        Batch {
            batch: range.len(),
            seq_len: self.seq_len,
            input_ids: self.input_ids[span.clone()].to_vec(),
            attention_mask: self.attention_mask[span.clone()].to_vec(),
            token_type_ids: self.token_type_ids[span].to_vec(),
        }
    }

    /// A batch from its parts; every vector must hold `batch * seq_len` entries, the
    /// mask only 0 and 1.
    pub fn new(
        batch: usize,
        seq_len: usize,
        input_ids: Vec<u32>,
        attention_mask: Vec<u32>,
        token_type_ids: Vec<u32>,
    ) -> Result<Self> {
        let b = Batch {
            batch,
            seq_len,
            input_ids,
            attention_mask,
            token_type_ids,
        };
        b.check_lengths()?;
        if let Some(pos) = b.attention_mask.iter().position(|&m| m > 1) {
            return Err(invalid(
                "attention_mask",
                format!("entry {pos} is {}, expected 0 or 1", b.attention_mask[pos]),
            ));
        }
        Ok(b)
    }

    /// Checks that the batch is not empty and that each vector holds `batch · seq_len`
    /// entries (the fields are public, so a batch built by hand may not).
    pub fn check_lengths(&self) -> Result<()> {
        let (batch, seq_len) = (self.batch, self.seq_len);
        let n = batch
            .checked_mul(seq_len)
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                invalid(
                    "batch",
                    format!("{batch} x {seq_len} must be a non-empty batch"),
                )
            })?;
        for (name, v) in [
            ("input_ids", &self.input_ids),
            ("attention_mask", &self.attention_mask),
            ("token_type_ids", &self.token_type_ids),
        ] {
            if v.len() != n {
                return Err(invalid(
                    name,
                    format!(
                        "has {} entries, the batch {batch} x {seq_len} needs {n}",
                        v.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Rows of ids (segment 0), padded on the right with `pad_id` to the longest.
    pub fn from_ids(rows: &[Vec<u32>], pad_id: u32) -> Result<Self> {
        let seq_len = rows.iter().map(Vec::len).max().unwrap_or(0);
        let n = rows.len() * seq_len;
        let (mut ids, mut mask) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for row in rows {
            ids.extend_from_slice(row);
            ids.resize(ids.len() + seq_len - row.len(), pad_id);
            mask.resize(mask.len() + row.len(), 1);
            mask.resize(mask.len() + seq_len - row.len(), 0);
        }
        Batch::new(rows.len(), seq_len, ids, mask, vec![0; n])
    }

    /// Encodings padded on the right with `pad_id` (segment id 0) to the longest.
    pub fn from_encodings(encodings: &[Encoding], pad_id: u32) -> Result<Self> {
        let seq_len = encodings.iter().map(Encoding::len).max().unwrap_or(0);
        let n = encodings.len() * seq_len;
        let (mut ids, mut mask, mut types) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for e in encodings {
            let pad = seq_len - e.len();
            ids.extend_from_slice(&e.ids);
            ids.resize(ids.len() + pad, pad_id);
            mask.extend_from_slice(&e.attention_mask);
            mask.resize(mask.len() + pad, 0);
            types.extend_from_slice(&e.type_ids);
            types.resize(types.len() + pad, 0);
        }
        Batch::new(encodings.len(), seq_len, ids, mask, types)
    }

    /// Number of real tokens of each row.
    pub fn lengths(&self) -> Vec<usize> {
        self.attention_mask
            .chunks(self.seq_len)
            .map(|row| row.iter().filter(|&&m| m == 1).count())
            .collect()
    }

    /// The ids of row `r`.
    pub fn row(&self, r: usize) -> &[u32] {
        &self.input_ids[r * self.seq_len..(r + 1) * self.seq_len]
    }

    /// Checks every id is below `vocab` and every segment id below `types`.
    pub(crate) fn check_ranges(&self, vocab: usize, types: usize) -> Result<()> {
        if let Some(pos) = self.input_ids.iter().position(|&i| i as usize >= vocab) {
            return Err(invalid(
                "input_ids",
                format!(
                    "id {} at row {}, position {} is outside the vocabulary of {vocab}",
                    self.input_ids[pos],
                    pos / self.seq_len,
                    pos % self.seq_len
                ),
            ));
        }
        if let Some(pos) = self
            .token_type_ids
            .iter()
            .position(|&i| i as usize >= types)
        {
            return Err(invalid(
                "token_type_ids",
                format!(
                    "segment id {} at row {} is outside the {types} segment types",
                    self.token_type_ids[pos],
                    pos / self.seq_len
                ),
            ));
        }
        Ok(())
    }
}

fn invalid(what: &str, reason: String) -> HfError {
    HfError::InvalidInput {
        what: what.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pad_right_with_mask() {
        let b = Batch::from_ids(&[vec![5, 6, 7], vec![8]], 0).unwrap();
        assert_eq!((b.batch, b.seq_len), (2, 3));
        assert_eq!(b.input_ids, [5, 6, 7, 8, 0, 0]);
        assert_eq!(b.attention_mask, [1, 1, 1, 1, 0, 0]);
        assert_eq!(b.lengths(), [3, 1]);
        assert_eq!(b.row(1), [8, 0, 0]);
        assert!(b.check_ranges(8, 1).is_err());
        assert!(b.check_ranges(9, 1).is_ok());
    }

    #[test]
    fn inconsistent_parts_are_named() {
        let err = Batch::new(2, 2, vec![1; 4], vec![1; 3], vec![0; 4]).unwrap_err();
        assert!(
            err.to_string().starts_with("attention_mask: has 3 entries"),
            "{err}"
        );
        let err = Batch::new(1, 2, vec![1; 2], vec![1, 2], vec![0; 2]).unwrap_err();
        assert!(err.to_string().contains("entry 1 is 2"), "{err}");
        assert!(Batch::from_ids(&[], 0).is_err());
        assert!(Batch::from_ids(&[vec![]], 0).is_err());
    }
}
