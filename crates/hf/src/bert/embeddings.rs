//! BERT's embeddings: word + token type + learned position, then LayerNorm and dropout.

use glassbox_autograd::Var;
use glassbox_nn::attention::PositionalEmbedding;
use glassbox_nn::{Dropout, Embedding, LayerNorm, Module};

use crate::batch::Batch;
use crate::config::BertConfig;
use crate::error::{HfError, Result};
use crate::load::{layer_norm, need};
use crate::weights::Checkpoint;

/// `LayerNorm(word[ids] + token_type[types] + position[0..L])`, then dropout.
#[derive(Debug)]
pub struct BertEmbeddings {
    /// `word_embeddings` `[vocab, hidden]`.
    pub word_embeddings: Embedding,
    /// `position_embeddings` `[max_positions, hidden]`.
    pub position_embeddings: PositionalEmbedding,
    /// `token_type_embeddings` `[type_vocab, hidden]`.
    pub token_type_embeddings: Embedding,
    /// `LayerNorm`.
    pub layer_norm: LayerNorm,
    dropout: Dropout,
}

impl BertEmbeddings {
    /// Loads `{prefix}embeddings.*` from `ck`.
    pub(crate) fn load(ck: &mut Checkpoint, prefix: &str, c: &BertConfig) -> Result<Self> {
        let p = format!("{prefix}embeddings.");
        let h = c.hidden_size;
        let word = need(
            ck,
            &format!("{p}word_embeddings.weight"),
            &[c.vocab_size, h],
        )?;
        let pos = need(
            ck,
            &format!("{p}position_embeddings.weight"),
            &[c.max_position_embeddings, h],
        )?;
        let types = need(
            ck,
            &format!("{p}token_type_embeddings.weight"),
            &[c.type_vocab_size, h],
        )?;
        Ok(BertEmbeddings {
            word_embeddings: Embedding::from_tensor(word)?,
            position_embeddings: PositionalEmbedding::from_tensor(pos, true)?,
            token_type_embeddings: Embedding::from_tensor(types)?,
            layer_norm: layer_norm(ck, &format!("{p}LayerNorm"), h, c.layer_norm_eps)?,
            dropout: Dropout::new(c.hidden_dropout_prob as f32, 0)?,
        })
    }

    /// The embeddings of `batch`: `[batch, seq_len, hidden]`.
    pub fn forward_batch(&self, batch: &Batch) -> Result<Var> {
        let max = self.position_embeddings.max_len();
        if batch.seq_len > max {
            return Err(HfError::InputTooLong {
                what: "BERT position embeddings".into(),
                length: batch.seq_len,
                limit: max,
            });
        }
        let shape = [batch.batch, batch.seq_len];
        let ids: Vec<usize> = batch.input_ids.iter().map(|&i| i as usize).collect();
        let types: Vec<usize> = batch.token_type_ids.iter().map(|&i| i as usize).collect();
        let x = self.word_embeddings.lookup(&ids, &shape)?;
        let x = x.add(&self.token_type_embeddings.lookup(&types, &shape)?)?;
        let x = self.position_embeddings.forward_offset(&x, 0)?;
        let x = self.layer_norm.forward_owned(x)?;
        Ok(self.dropout.forward_owned(x)?)
    }
}

impl Module for BertEmbeddings {
    /// `x`: token ids `[batch, seq_len]` as f32 (segment 0, no padding).
    fn forward(&self, x: &Var) -> glassbox_nn::Result<Var> {
        let batch = crate::load::batch_from_ids(x)?;
        self.forward_batch(&batch).map_err(crate::load::to_nn)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = vec![
            (
                "word_embeddings.weight".into(),
                self.word_embeddings.weight.clone(),
            ),
            (
                "position_embeddings.weight".into(),
                self.position_embeddings.weight.clone(),
            ),
            (
                "token_type_embeddings.weight".into(),
                self.token_type_embeddings.weight.clone(),
            ),
        ];
        p.extend(
            self.layer_norm
                .named_parameters()
                .into_iter()
                .map(|(n, v)| (format!("LayerNorm.{n}"), v)),
        );
        p
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            (
                "word_embeddings".into(),
                &self.word_embeddings as &dyn Module,
            ),
            ("token_type_embeddings".into(), &self.token_type_embeddings),
            ("LayerNorm".into(), &self.layer_norm),
            ("dropout".into(), &self.dropout),
        ]
    }

    fn set_training(&mut self, training: bool) {
        self.word_embeddings.set_training(training);
        self.token_type_embeddings.set_training(training);
        self.layer_norm.set_training(training);
        self.dropout.set_training(training);
    }

    fn is_training(&self) -> bool {
        self.dropout.is_training()
    }

    fn type_name(&self) -> &'static str {
        "BertEmbeddings"
    }
}
