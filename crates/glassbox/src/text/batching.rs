//! Running a text model on many texts: how over-long texts are treated ([`LongInputs`]) and
//! batches of similar length run in parallel ([`batched`]).

use glassbox_hf::{Batch, Tokenizer, Truncation};
use glassbox_tensor::Tensor;
use ndarray::Array2;
use rayon::prelude::*;

use crate::error::Result;

/// Texts run through the model per forward pass.
pub const TEXT_BATCH: usize = 32;

/// What to do with a text longer than the model's limit (special tokens included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LongInputs {
    /// An [`HfError::InputTooLong`](glassbox_hf::HfError::InputTooLong) naming the text,
    /// its length and the limit (the default: nothing is cut silently).
    #[default]
    Error,
    /// Keep the first tokens up to the limit (the final `[SEP]` is kept), as
    /// transformers' `truncation=True`.
    Truncate,
}

/// A tokenizer that errors on over-long input and its truncating twin, both at `limit`.
#[derive(Debug, Clone)]
pub(crate) struct Tokenizers {
    strict: Tokenizer,
    truncating: Tokenizer,
}

impl Tokenizers {
    pub(crate) fn new(tokenizer: Tokenizer, limit: usize) -> Result<Self> {
        let strict = tokenizer
            .with_limit(limit)
            .with_truncation(Truncation::Error)?;
        let truncating = strict
            .clone()
            .with_truncation(Truncation::OnlyFirst { max_length: limit })?;
        Ok(Tokenizers { strict, truncating })
    }

    pub(crate) fn pick(&self, long: LongInputs) -> &Tokenizer {
        match long {
            LongInputs::Error => &self.strict,
            LongInputs::Truncate => &self.truncating,
        }
    }
}

/// Runs `f` on batches of at most [`TEXT_BATCH`] id rows of similar length (in parallel)
/// and puts the `[rows, width]` results back in input order. `f` returns `[batch, width]`.
pub(crate) fn batched(
    ids: &[Vec<u32>],
    pad_id: u32,
    width: usize,
    f: impl Fn(&Batch) -> Result<Tensor> + Sync,
) -> Result<Array2<f32>> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i].len());
    let chunks: Vec<&[usize]> = order.chunks(TEXT_BATCH).collect();
    let parts = chunks
        .par_iter()
        .map(|chunk| -> Result<Vec<f32>> {
            let rows: Vec<Vec<u32>> = chunk.iter().map(|&i| ids[i].clone()).collect();
            let batch = Batch::from_ids(&rows, pad_id)?;
            Ok(f(&batch)?.contiguous().to_vec())
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = Array2::zeros((ids.len(), width));
    for (chunk, values) in chunks.iter().zip(parts) {
        for (k, &i) in chunk.iter().enumerate() {
            out.row_mut(i)
                .as_slice_mut()
                .expect("standard layout")
                .copy_from_slice(&values[k * width..(k + 1) * width]);
        }
    }
    Ok(out)
}
