//! `GPT2LMHeadModel`: token and position embeddings, pre-norm causal blocks, final
//! LayerNorm, and the language-model head tied to the token embeddings.

use std::path::Path;

use glassbox_autograd::{NoGradGuard, Var};
use glassbox_nn::attention::{
    EncoderOptions, KvCache, Mask, PositionalEmbedding, TransformerEncoderLayer,
};
use glassbox_nn::{Dropout, Embedding, LayerNorm, Linear, Module};

use crate::batch::Batch;
use crate::config::Gpt2Config;
use crate::dir::ModelDir;
use crate::error::{HfError, Result};
use crate::load::{conv1d, layer_norm, need, BlockParts};
use crate::weights::{transposed, Checkpoint};

/// Hugging Face's `GPT2LMHeadModel`, built from `glassbox-nn` layers: each block is a
/// pre-norm causal [`TransformerEncoderLayer`] with tanh GELU. Conv1D weights (`[in, out]`)
/// are transposed into Linear layout on loading; `lm_head` shares `wte`'s parameter.
#[derive(Debug)]
pub struct Gpt2LmHeadModel {
    /// The configuration.
    pub config: Gpt2Config,
    /// `wte` `[vocab, n_embd]`.
    pub wte: Embedding,
    /// `wpe` `[n_positions, n_embd]`.
    pub wpe: PositionalEmbedding,
    /// `h.{i}`.
    pub blocks: Vec<TransformerEncoderLayer>,
    /// `ln_f`.
    pub ln_f: LayerNorm,
    /// `lm_head` (bias-free; its weight is `wte.weight` when tied).
    pub lm_head: Linear,
    dropout: Dropout,
}

/// Per-layer key/value caches of an incremental decode.
#[derive(Debug, Clone, Default)]
pub struct Gpt2Cache {
    layers: Vec<KvCache>,
}

impl Gpt2Cache {
    /// Positions already decoded.
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, KvCache::len)
    }

    /// `true` before the first step.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Gpt2LmHeadModel {
    /// Loads `config.json` and `model.safetensors` from `dir`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = ModelDir::open(dir)?;
        let config = Gpt2Config::from_file(dir.config_path())?;
        let mut ck = dir.checkpoint()?;
        let model = Self::from_checkpoint(&mut ck, config)?;
        ck.finish("GPT2LMHeadModel")?;
        Ok(model)
    }

    /// Builds the model from `ck` (keys with or without `transformer.`); the caller ends
    /// loading with [`Checkpoint::finish`]. The causal-mask buffers of older checkpoints
    /// (`attn.bias`, `attn.masked_bias`) are skipped.
    pub fn from_checkpoint(ck: &mut Checkpoint, config: Gpt2Config) -> Result<Self> {
        if config.scale_attn_by_inverse_layer_idx || !config.scale_attn_weights {
            return Err(HfError::Config {
                file: ck.origin().to_string(),
                field: "scale_attn_weights / scale_attn_by_inverse_layer_idx".into(),
                reason: "only the standard 1/sqrt(head_dim) scaling is supported".into(),
            });
        }
        ck.ignore_suffix(".attn.bias");
        ck.ignore_suffix(".attn.masked_bias");
        let p = ck.detect_prefix(&["transformer."]);
        let (e, v) = (config.n_embd, config.vocab_size);
        let eps = config.layer_norm_epsilon;
        let wte = Embedding::from_tensor(need(ck, &format!("{p}wte.weight"), &[v, e])?)?;
        let wpe = PositionalEmbedding::from_tensor(
            need(ck, &format!("{p}wpe.weight"), &[config.n_positions, e])?,
            true,
        )?;
        let blocks = (0..config.n_layer)
            .map(|i| load_block(ck, &format!("{p}h.{i}."), &config)?.build())
            .collect::<Result<Vec<_>>>()?;
        let ln_f = layer_norm(ck, &format!("{p}ln_f"), e, eps)?;
        let lm_head = if config.tie_word_embeddings {
            // A copy saved beside the tied weights is the same tensor; it is not used.
            ck.take_optional("lm_head.weight", &[v, e])?;
            let mut head = Linear::from_tensors(wte.weight.value(), None)?;
            head.weight = wte.weight.clone();
            head
        } else {
            Linear::from_tensors(need(ck, "lm_head.weight", &[v, e])?, None)?
        };
        let mut model = Gpt2LmHeadModel {
            dropout: Dropout::new(config.dropout[1] as f32, 0)?,
            config,
            wte,
            wpe,
            blocks,
            ln_f,
            lm_head,
        };
        // Loaded models start in evaluation mode (dropout off), as `from_pretrained`.
        model.set_training(false);
        Ok(model)
    }

    /// Logits `[batch, seq_len, vocab]` of `batch` (causal; right padding excluded from
    /// attention through the mask).
    pub fn forward(&self, batch: &Batch) -> Result<Var> {
        self.forward_hidden(batch).and_then(|h| self.logits(h))
    }

    /// The final hidden states `[batch, seq_len, n_embd]` (after `ln_f`).
    pub fn forward_hidden(&self, batch: &Batch) -> Result<Var> {
        batch.check_ranges(self.config.vocab_size, usize::MAX)?;
        self.check_length(batch.seq_len)?;
        let x = self.embed(batch, 0)?;
        self.forward_embeddings(x, batch)
    }

    /// The blocks and `ln_f` on given input embeddings `[batch, seq_len, n_embd]` (the
    /// output of `wte` plus `wpe`, which attribution methods perturb).
    pub fn forward_embeddings(&self, x: Var, batch: &Batch) -> Result<Var> {
        let padded: Vec<bool> = batch.attention_mask.iter().map(|&m| m == 0).collect();
        let mask = padded
            .iter()
            .any(|&p| p)
            .then(|| Mask::from_bools(&padded, &[batch.batch, batch.seq_len]))
            .transpose()?;
        let opts = EncoderOptions {
            src_key_padding_mask: mask.as_ref(),
            is_causal: true,
            ..EncoderOptions::default()
        };
        let mut x = x;
        for block in &self.blocks {
            x = block.forward_with(&x, &opts)?.output;
        }
        Ok(self.ln_f.forward_owned(x)?)
    }

    /// The model from the output of `wte` (`[batch, seq_len, n_embd]`, the token embeddings
    /// before the position embeddings are added): position embeddings from position 0,
    /// dropout, the blocks and `ln_f`, as [`forward_hidden`](Self::forward_hidden) computes
    /// them after its `wte` lookup. This is the layer Captum's
    /// `LayerIntegratedGradients(f, model.transformer.wte)` perturbs.
    pub fn forward_token_embeddings(&self, x: Var, batch: &Batch) -> Result<Var> {
        self.check_length(batch.seq_len)?;
        let x = self.wpe.forward_offset(&x, 0)?;
        let x = self.dropout.forward_owned(x)?;
        self.forward_embeddings(x, batch)
    }

    /// Logits `[batch, new, vocab]` of the new tokens `ids` (`[batch, new]`, row-major),
    /// attending to everything already in `cache`, whose keys and values are extended.
    /// Runs without a graph.
    pub fn forward_cached(&self, ids: &[u32], batch: usize, cache: &mut Gpt2Cache) -> Result<Var> {
        let _guard = NoGradGuard::new();
        if batch == 0 || ids.is_empty() || ids.len() % batch != 0 {
            return Err(HfError::InvalidInput {
                what: "ids".into(),
                reason: format!("{} ids do not form {batch} rows", ids.len()),
            });
        }
        let new = ids.len() / batch;
        let past = cache.len();
        self.check_length(past + new)?;
        let rows = Batch::from_ids(&ids.chunks(new).map(<[u32]>::to_vec).collect::<Vec<_>>(), 0)?;
        rows.check_ranges(self.config.vocab_size, usize::MAX)?;
        if cache.layers.is_empty() {
            cache.layers = vec![KvCache::new(); self.blocks.len()];
        }
        let mut x = self.embed(&rows, past)?;
        let opts = EncoderOptions {
            is_causal: true,
            ..EncoderOptions::default()
        };
        for (block, kv) in self.blocks.iter().zip(&mut cache.layers) {
            x = block.forward_cached(&x, kv, &opts)?.output;
        }
        self.logits(self.ln_f.forward_owned(x)?)
    }

    fn embed(&self, batch: &Batch, offset: usize) -> Result<Var> {
        let ids: Vec<usize> = batch.input_ids.iter().map(|&i| i as usize).collect();
        let x = self.wte.lookup(&ids, &[batch.batch, batch.seq_len])?;
        let x = self.wpe.forward_offset(&x, offset)?;
        Ok(self.dropout.forward_owned(x)?)
    }

    fn logits(&self, hidden: Var) -> Result<Var> {
        Ok(self.lm_head.forward_owned(hidden)?)
    }

    fn check_length(&self, len: usize) -> Result<()> {
        if len > self.config.n_positions {
            return Err(HfError::InputTooLong {
                what: "GPT-2 context (n_positions)".into(),
                length: len,
                limit: self.config.n_positions,
            });
        }
        Ok(())
    }
}

/// One GPT-2 block's weights as a pre-norm causal encoder layer's parts.
fn load_block(ck: &mut Checkpoint, p: &str, c: &Gpt2Config) -> Result<BlockParts> {
    let (e, i) = (c.n_embd, c.n_inner);
    let eps = c.layer_norm_epsilon;
    Ok(BlockParts {
        heads: c.n_head,
        // Conv1D [E, 3E] (x W) is the packed [3E, E] projection transposed.
        in_proj_weight: transposed(&need(ck, &format!("{p}attn.c_attn.weight"), &[e, 3 * e])?)?,
        in_proj_bias: need(ck, &format!("{p}attn.c_attn.bias"), &[3 * e])?,
        out_proj: conv1d(ck, &format!("{p}attn.c_proj"), e, e)?,
        norm1: layer_norm(ck, &format!("{p}ln_1"), e, eps)?,
        linear1: conv1d(ck, &format!("{p}mlp.c_fc"), e, i)?,
        linear2: conv1d(ck, &format!("{p}mlp.c_proj"), i, e)?,
        norm2: layer_norm(ck, &format!("{p}ln_2"), e, eps)?,
        activation: c.activation_function.kind(),
        norm_first: true,
    })
}

impl Module for Gpt2LmHeadModel {
    /// `x`: token ids `[batch, seq_len]` as f32; returns the logits.
    fn forward(&self, x: &Var) -> glassbox_nn::Result<Var> {
        let batch = crate::load::batch_from_ids(x)?;
        Gpt2LmHeadModel::forward(self, &batch).map_err(crate::load::to_nn)
    }

    /// Every parameter once (`lm_head` is tied to `wte` and not listed again).
    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = vec![
            (
                "transformer.wte.weight".to_string(),
                self.wte.weight.clone(),
            ),
            (
                "transformer.wpe.weight".to_string(),
                self.wpe.weight.clone(),
            ),
        ];
        for (i, b) in self.blocks.iter().enumerate() {
            p.extend(
                b.named_parameters()
                    .into_iter()
                    .map(|(n, v)| (format!("transformer.h.{i}.{n}"), v)),
            );
        }
        p.extend(
            self.ln_f
                .named_parameters()
                .into_iter()
                .map(|(n, v)| (format!("transformer.ln_f.{n}"), v)),
        );
        if !self.config.tie_word_embeddings {
            p.push(("lm_head.weight".into(), self.lm_head.weight.clone()));
        }
        p
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        let mut c: Vec<(String, &dyn Module)> = vec![("transformer.wte".into(), &self.wte)];
        for (i, b) in self.blocks.iter().enumerate() {
            c.push((format!("transformer.h.{i}"), b));
        }
        c.push(("transformer.ln_f".into(), &self.ln_f));
        c.push(("lm_head".into(), &self.lm_head));
        c
    }

    fn set_training(&mut self, training: bool) {
        self.wte.set_training(training);
        self.blocks
            .iter_mut()
            .for_each(|b| b.set_training(training));
        self.ln_f.set_training(training);
        self.lm_head.set_training(training);
        self.dropout.set_training(training);
    }

    fn is_training(&self) -> bool {
        self.dropout.is_training()
    }

    fn type_name(&self) -> &'static str {
        "GPT2LMHeadModel"
    }
}
