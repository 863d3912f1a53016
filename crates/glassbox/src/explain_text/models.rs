//! `glassbox-explain`'s text-model traits for `glassbox-hf`'s models: a BERT classifier
//! split at `bert.embeddings`' output, GPT-2 split at `transformer.wte`'s output (its
//! outputs being the next token's log-probabilities), and GPT-2 as a cached causal LM.

use glassbox_autograd::{no_grad, Var};
use glassbox_explain::text::{CausalLm, EmbeddingModel};
use glassbox_explain::PredictError;
use glassbox_hf::{
    Batch, BertConfig, BertForSequenceClassification, BertModel, Gpt2Cache, Gpt2LmHeadModel,
};
use glassbox_nn::Module;
use glassbox_tensor::Tensor;

/// Takes every parameter of `module` out of the graph (`requires_grad` off), so gradient
/// methods compute only the gradients of their inputs, not a weight gradient per layer.
/// Training the module again needs `requires_grad` switched back on.
pub fn freeze_parameters(module: &dyn Module) {
    for (_, p) in module.named_parameters() {
        // Parameters are leaves: switching their flag cannot fail.
        let _ = p.set_requires_grad(false);
    }
}

/// `rows` copies of the sequence `ids` (no padding, segment 0).
fn repeated(ids: &[u32], rows: usize) -> Result<Batch, PredictError> {
    let n = ids.len();
    let mut all = Vec::with_capacity(rows * n);
    for _ in 0..rows {
        all.extend_from_slice(ids);
    }
    Ok(Batch::new(
        rows,
        n,
        all,
        vec![1; rows * n],
        vec![0; rows * n],
    )?)
}

fn rows_of(emb: &Var, ids: &[u32], hidden: usize) -> Result<usize, PredictError> {
    let s = emb.shape();
    if s.len() != 3 || s[1] != ids.len() || s[2] != hidden {
        return Err(format!(
            "embeddings have shape {s:?}, expected [rows, {}, {hidden}]",
            ids.len()
        )
        .into());
    }
    Ok(s[0])
}

/// A [`BertForSequenceClassification`] split at the output of `bert.embeddings` (word +
/// position + token-type embeddings after LayerNorm); its outputs are the class logits.
/// Sequences are one segment without padding, as `model(input_ids=ids)` in Hugging Face.
#[derive(Debug, Clone, Copy)]
pub struct BertEmbeddingModel<'m> {
    model: &'m BertForSequenceClassification,
}

impl<'m> BertEmbeddingModel<'m> {
    /// Wraps `model` (see [`freeze_parameters`] for speed).
    pub fn new(model: &'m BertForSequenceClassification) -> Self {
        BertEmbeddingModel { model }
    }
}

impl EmbeddingModel for BertEmbeddingModel<'_> {
    fn layer_name(&self) -> &str {
        "bert.embeddings"
    }

    fn hidden_size(&self) -> usize {
        self.model.bert.config.hidden_size
    }

    fn embed(&self, ids: &[u32]) -> Result<Tensor, PredictError> {
        bert_embed(&self.model.bert, ids)
    }

    fn forward_from_embeddings(&self, emb: &Var, ids: &[u32]) -> Result<Var, PredictError> {
        let rows = rows_of(emb, ids, self.hidden_size())?;
        let batch = repeated(ids, rows)?;
        Ok(self.model.forward_embeddings(emb.clone(), &batch)?)
    }

    fn bytes_per_row(&self, seq_len: usize) -> usize {
        bert_bytes_per_row(&self.model.bert.config, seq_len)
    }
}

/// The output of `bert.embeddings` for one unpadded segment `ids`, `[tokens, hidden]`.
fn bert_embed(bert: &BertModel, ids: &[u32]) -> Result<Tensor, PredictError> {
    let batch = repeated(ids, 1)?;
    let c = &bert.config;
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= c.vocab_size) {
        return Err(format!(
            "token id {bad} is outside the vocabulary of {}",
            c.vocab_size
        )
        .into());
    }
    let e = no_grad(|| bert.embeddings.forward_batch(&batch))?;
    Ok(e.value().try_reshape(&[ids.len(), c.hidden_size])?)
}

/// Per encoder layer: the attention block's projections, scores and probabilities and the
/// feed-forward block's activations, each with its gradient.
fn bert_bytes_per_row(c: &BertConfig, seq_len: usize) -> usize {
    let per_layer = seq_len * (12 * c.hidden_size + 3 * c.intermediate_size)
        + 3 * c.num_attention_heads * seq_len * seq_len;
    2 * 4 * (c.num_hidden_layers * per_layer + 4 * seq_len * c.hidden_size)
}

/// A [`BertModel`] (e.g. a sentence-transformers encoder such as all-MiniLM-L6-v2) split at
/// the output of its `embeddings`; its outputs are the **mean-pooled last hidden state**
/// `[rows, hidden]` (one unpadded segment, so the mean is over every token), the function
/// Captum's `LayerIntegratedGradients(lambda ids: model(ids).last_hidden_state.mean(1),
/// model.embeddings)` attributes. A target is one embedding dimension.
#[derive(Debug, Clone, Copy)]
pub struct BertMeanPooledModel<'m> {
    model: &'m BertModel,
}

impl<'m> BertMeanPooledModel<'m> {
    /// Wraps `model` (see [`freeze_parameters`] for speed).
    pub fn new(model: &'m BertModel) -> Self {
        BertMeanPooledModel { model }
    }
}

impl EmbeddingModel for BertMeanPooledModel<'_> {
    fn layer_name(&self) -> &str {
        "embeddings"
    }

    fn hidden_size(&self) -> usize {
        self.model.config.hidden_size
    }

    fn embed(&self, ids: &[u32]) -> Result<Tensor, PredictError> {
        bert_embed(self.model, ids)
    }

    fn forward_from_embeddings(&self, emb: &Var, ids: &[u32]) -> Result<Var, PredictError> {
        let rows = rows_of(emb, ids, self.hidden_size())?;
        let batch = repeated(ids, rows)?;
        let h = self
            .model
            .forward_embeddings(emb.clone(), &batch, Default::default())?
            .last_hidden_state;
        Ok(h.mean_axes(&[1], false)?)
    }

    fn bytes_per_row(&self, seq_len: usize) -> usize {
        bert_bytes_per_row(&self.model.config, seq_len)
    }
}

/// A [`Gpt2LmHeadModel`] split at the output of `transformer.wte` (the token embeddings,
/// before the position embeddings are added); its outputs are the next token's
/// log-probabilities, `log_softmax(logits[-1])`, as in Captum's next-token
/// `LayerIntegratedGradients`. As a [`CausalLm`] it decodes with the key/value cache.
#[derive(Debug, Clone, Copy)]
pub struct Gpt2EmbeddingModel<'m> {
    model: &'m Gpt2LmHeadModel,
}

impl<'m> Gpt2EmbeddingModel<'m> {
    /// Wraps `model` (see [`freeze_parameters`] for speed).
    pub fn new(model: &'m Gpt2LmHeadModel) -> Self {
        Gpt2EmbeddingModel { model }
    }
}

impl EmbeddingModel for Gpt2EmbeddingModel<'_> {
    fn layer_name(&self) -> &str {
        "transformer.wte"
    }

    fn hidden_size(&self) -> usize {
        self.model.config.n_embd
    }

    fn embed(&self, ids: &[u32]) -> Result<Tensor, PredictError> {
        let v = self.model.config.vocab_size;
        let idx = ids
            .iter()
            .map(|&i| {
                if (i as usize) < v {
                    Ok(i as usize)
                } else {
                    Err(format!("token id {i} is outside the vocabulary of {v}"))
                }
            })
            .collect::<Result<Vec<usize>, String>>()?;
        let e = no_grad(|| self.model.wte.lookup(&idx, &[ids.len()]))?;
        Ok(e.value())
    }

    fn forward_from_embeddings(&self, emb: &Var, ids: &[u32]) -> Result<Var, PredictError> {
        let rows = rows_of(emb, ids, self.hidden_size())?;
        let batch = repeated(ids, rows)?;
        let h = self.model.forward_token_embeddings(emb.clone(), &batch)?;
        let last = h
            .narrow(1, ids.len() - 1, 1)?
            .reshape(&[rows, self.hidden_size()])?;
        let logits = self.model.lm_head.forward_owned(last)?;
        Ok(logits.log_softmax(1)?)
    }

    /// Per block: attention projections, scores and probabilities and the MLP's
    /// activations, each with its gradient, plus the last position's logits.
    fn bytes_per_row(&self, seq_len: usize) -> usize {
        let c = &self.model.config;
        let per_block =
            seq_len * (12 * c.n_embd + 3 * c.n_inner) + 3 * c.n_head * seq_len * seq_len;
        2 * 4 * (c.n_layer * per_block + 4 * seq_len * c.n_embd + 2 * c.vocab_size)
    }
}

impl CausalLm for Gpt2EmbeddingModel<'_> {
    type Cache = Gpt2Cache;

    fn vocab_size(&self) -> usize {
        self.model.config.vocab_size
    }

    fn new_cache(&self) -> Gpt2Cache {
        Gpt2Cache::default()
    }

    fn extend(&self, cache: &mut Gpt2Cache, ids: &[u32]) -> Result<Tensor, PredictError> {
        let logits = self.model.forward_cached(ids, 1, cache)?;
        Ok(logits
            .value()
            .try_reshape(&[ids.len(), self.model.config.vocab_size])?)
    }
}
