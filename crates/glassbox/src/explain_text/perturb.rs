//! Hugging Face models as explain's [`TokenPredictor`], a tokenized text's perturbable
//! features, and attention maps as data.

use glassbox_autograd::no_grad;
use glassbox_explain::predictor::PredictResult;
use glassbox_explain::text::{
    attention_rollout, word_groups, RolloutConfig, TextFeatures, TokenPredictor,
};
use glassbox_hf::{
    Batch, BertForSequenceClassification, BertOutputs, Encoding, Gpt2LmHeadModel, HfError,
};
use ndarray::{Array2, Array3};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows per forward pass inside one predictor call.
const CHUNK: usize = 32;

/// Runs `f` on chunks of `rows` of similar length (sorted by length, in parallel) and puts
/// the output rows back in the callers' order.
fn by_length_chunks(
    rows: &[Vec<u32>],
    outputs: usize,
    f: impl Fn(&[Vec<u32>]) -> std::result::Result<Vec<f64>, HfError> + Sync,
) -> PredictResult {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].len());
    let parts = order
        .par_chunks(CHUNK)
        .map(|chunk| {
            let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| rows[i].clone()).collect();
            f(&batch).map(|y| (chunk, y))
        })
        .collect::<std::result::Result<Vec<_>, HfError>>()?;
    let mut out = Array2::zeros((rows.len(), outputs));
    for (chunk, y) in parts {
        for (&i, r) in chunk.iter().zip(y.chunks(outputs)) {
            out.row_mut(i).iter_mut().zip(r).for_each(|(o, &v)| *o = v);
        }
    }
    Ok(out)
}

/// A BERT sequence classifier as a [`TokenPredictor`]: each row of ids (with its own
/// `[CLS]` and `[SEP]`) is classified without padding effects (rows of one forward pass
/// are padded with `pad_id` and masked); the outputs are the **class probabilities**
/// (softmax of the logits).
#[derive(Debug, Clone, Copy)]
pub struct BertPredictor<'a> {
    /// The model.
    pub model: &'a BertForSequenceClassification,
    /// The padding id (`Tokenizer::pad_id`).
    pub pad_id: u32,
}

impl TokenPredictor for BertPredictor<'_> {
    fn predict_ids(&self, rows: &[Vec<u32>]) -> PredictResult {
        let k = self.model.num_labels();
        by_length_chunks(rows, k, |batch| {
            let b = Batch::from_ids(batch, self.pad_id)?;
            let logits = no_grad(|| self.model.forward(&b))?.value();
            let p = logits.try_softmax(1).map_err(HfError::from)?;
            Ok(p.to_vec().into_iter().map(f64::from).collect())
        })
    }
}

/// GPT-2 as a [`TokenPredictor`] of its next token: the outputs are the probabilities of
/// the `targets` ids at the position after each row's last token (softmax over the whole
/// vocabulary, then these columns).
#[derive(Debug, Clone)]
pub struct Gpt2NextToken<'a> {
    /// The model.
    pub model: &'a Gpt2LmHeadModel,
    /// The padding id (right padding, masked).
    pub pad_id: u32,
    /// Token ids whose next-token probabilities are the outputs.
    pub targets: Vec<u32>,
}

impl TokenPredictor for Gpt2NextToken<'_> {
    fn predict_ids(&self, rows: &[Vec<u32>]) -> PredictResult {
        let vocab = self.model.config.vocab_size;
        if let Some(&t) = self.targets.iter().find(|&&t| t as usize >= vocab) {
            return Err(format!(
                "GPT-2 next-token target id {t} is outside the vocabulary of {vocab}"
            )
            .into());
        }
        by_length_chunks(rows, self.targets.len(), |batch| {
            let b = Batch::from_ids(batch, self.pad_id)?;
            let logits = no_grad(|| self.model.forward(&b))?.value();
            let (l, v) = (b.seq_len, vocab);
            let all = logits.to_vec();
            let mut out = Vec::with_capacity(batch.len() * self.targets.len());
            for (r, row) in batch.iter().enumerate() {
                let last = row.len().max(1) - 1;
                let z = &all[(r * l + last) * v..(r * l + last + 1) * v];
                let max = z.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
                let sum: f64 = z.iter().map(|&x| f64::from(x - max).exp()).sum();
                out.extend(
                    self.targets
                        .iter()
                        .map(|&t| f64::from(z[t as usize] - max).exp() / sum),
                );
            }
            Ok(out)
        })
    }
}

/// What a perturbation method removes at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Granularity {
    /// Each non-special token.
    #[default]
    Tokens,
    /// Each whitespace-delimited word (its subword tokens together), found from the
    /// encoding's character offsets ([`word_groups`]).
    Words,
}

/// The perturbable features of `text` encoded as `enc` (special tokens excluded).
pub fn text_features(text: &str, enc: &Encoding, granularity: Granularity) -> Result<TextFeatures> {
    let special: Vec<bool> = enc.special_tokens_mask.iter().map(|&s| s == 1).collect();
    Ok(match granularity {
        Granularity::Tokens => TextFeatures::tokens(enc.ids.clone(), &special)?,
        Granularity::Words => {
            let groups = word_groups(text, &enc.offsets, &special)?;
            TextFeatures::from_groups(enc.ids.clone(), groups)?
        }
    })
}

/// Every layer's attention probabilities `[heads, n, n]` (queries × keys, first layer
/// first) of BERT on one unpadded row of ids: the data that
/// [`attention_rollout`] and `attention_flow` read.
pub fn attention_maps(
    model: &BertForSequenceClassification,
    ids: &[u32],
) -> Result<Vec<Array3<f64>>> {
    if ids.is_empty() {
        return Err(Error::Input("attention maps of an empty row of ids".into()));
    }
    let batch = Batch::from_ids(&[ids.to_vec()], 0)?;
    let outputs = BertOutputs {
        hidden_states: false,
        attentions: true,
    };
    let (_, out) = no_grad(|| model.forward_with(&batch, outputs))?;
    out.attentions
        .iter()
        .map(|a| {
            let t = a.value();
            let shape = t.shape().to_vec();
            let (h, n) = (shape[1], shape[2]);
            Array3::from_shape_vec((h, n, n), t.to_vec().into_iter().map(f64::from).collect())
                .map_err(|e| Error::Input(format!("attention map of shape {shape:?}: {e}")))
        })
        .collect()
}

/// Attention rollout (Abnar & Zuidema; a heuristic, not an explanation) of BERT's `[CLS]`
/// position over the features: row 0 of the rollout, summed over each feature's tokens.
pub fn rollout_scores(
    model: &BertForSequenceClassification,
    features: &TextFeatures,
    config: &RolloutConfig,
) -> Result<Vec<f64>> {
    let maps = attention_maps(model, features.ids())?;
    let r = attention_rollout(&maps, config)?;
    Ok(features
        .groups()
        .iter()
        .map(|g| g.iter().map(|&p| r[[0, p]]).sum())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_hf::Tokenizer;

    #[test]
    fn bert_predictor_gives_padding_free_probabilities() {
        let dir = glassbox_testkit::reference_path("transformers/bert_tiny");
        let model = BertForSequenceClassification::from_dir(&dir).unwrap();
        let tok = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
        let short = tok.encode("Free money", true).unwrap().ids;
        let long = tok
            .encode("Re: the meeting is moved to Tuesday", true)
            .unwrap()
            .ids;
        let p = BertPredictor {
            model: &model,
            pad_id: tok.pad_id(),
        };
        let both = p.predict_ids(&[long.clone(), short.clone()]).unwrap();
        let alone = p.predict_ids(&[short]).unwrap();
        assert_eq!(both.dim(), (2, 3));
        for c in 0..3 {
            assert!((both[[1, c]] - alone[[0, c]]).abs() < 1e-6);
        }
        assert!((both.row(0).sum() - 1.0).abs() < 1e-6);
    }
}
