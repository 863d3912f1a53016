//! `BertModel`: embeddings, a stack of post-norm encoder layers, and the pooler.

use glassbox_autograd::Var;
use glassbox_nn::attention::{EncoderOptions, Mask, TransformerEncoderLayer};
use glassbox_nn::{Linear, Module};
use glassbox_tensor::Tensor;

use super::embeddings::BertEmbeddings;
use crate::batch::Batch;
use crate::config::BertConfig;
use crate::error::Result;
use crate::load::{layer_norm, linear, need, BlockParts};
use crate::weights::Checkpoint;

/// Tokens × hidden size below which an inference forward is not split between threads.
const SPLIT_MIN_WORK: usize = 1 << 15;

/// What [`BertModel::forward`] returns besides the last hidden state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BertOutputs {
    /// Keep the embeddings' output and every layer's output.
    pub hidden_states: bool,
    /// Keep every layer's per-head attention probabilities.
    pub attentions: bool,
}

/// Outputs of [`BertModel::forward`].
#[derive(Debug, Clone)]
pub struct BertOutput {
    /// `[batch, seq_len, hidden]`.
    pub last_hidden_state: Var,
    /// `tanh(dense(h[:, 0]))`, `[batch, hidden]`, when the model has a pooler.
    pub pooler_output: Option<Var>,
    /// Embeddings then each layer's output (`num_hidden_layers + 1` tensors), if asked.
    pub hidden_states: Vec<Var>,
    /// Each layer's attention probabilities `[batch, heads, seq_len, seq_len]`, if asked.
    pub attentions: Vec<Var>,
}

/// Hugging Face's `BertModel`, built from `glassbox-nn` layers: each BERT layer is a
/// post-norm [`TransformerEncoderLayer`] with the configured GELU and LayerNorm epsilon
/// (query, key and value weights packed into its `in_proj_weight`).
#[derive(Debug)]
pub struct BertModel {
    /// The configuration.
    pub config: BertConfig,
    /// Embeddings.
    pub embeddings: BertEmbeddings,
    /// `encoder.layer.{i}`.
    pub layers: Vec<TransformerEncoderLayer>,
    /// `pooler.dense` (absent when the checkpoint has no pooler).
    pub pooler: Option<Linear>,
}

impl BertModel {
    /// Builds the model from `ck`, whose keys start with `prefix` (`"bert."` or `""`). The
    /// pooler is loaded when the checkpoint has one.
    pub(crate) fn load(ck: &mut Checkpoint, prefix: &str, config: BertConfig) -> Result<Self> {
        let embeddings = BertEmbeddings::load(ck, prefix, &config)?;
        // Hugging Face's dropouts (training mode only): hidden_dropout_prob after the
        // attention and feed-forward blocks, attention_probs_dropout_prob on the attention
        // probabilities, none between the two feed-forward linears.
        let (hidden_p, attn_p) = (
            config.hidden_dropout_prob as f32,
            config.attention_probs_dropout_prob as f32,
        );
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let layer = load_layer(ck, &format!("{prefix}encoder.layer.{i}."), &config)?;
                let seed = 0x5eed_0000 + i as u64;
                Ok(layer.build()?.with_dropout(hidden_p, 0.0, attn_p, seed)?)
            })
            .collect::<Result<Vec<_>>>()?;
        let h = config.hidden_size;
        let pooler = if ck.has_prefix(&format!("{prefix}pooler.")) {
            Some(linear(ck, &format!("{prefix}pooler.dense"), h, h)?)
        } else {
            None
        };
        let mut model = BertModel {
            config,
            embeddings,
            layers,
            pooler,
        };
        // Loaded models start in evaluation mode (dropout off), as `from_pretrained`.
        model.set_training(false);
        Ok(model)
    }

    /// Runs the model on `batch` (padding excluded from attention through the mask).
    ///
    /// Inference (no gradient recorded, evaluation mode) on several rows runs as one
    /// forward per thread, each on a contiguous share of the rows, and the outputs are
    /// concatenated: each row's result does not depend on the other rows, and the threads
    /// then meet once per call instead of at every one of a layer's dozen operations (a
    /// 2-thread BERT L2/H128 forward on 8 × 128 tokens spent ~8% of its time waking rayon
    /// workers between operations).
    pub fn forward(&self, batch: &Batch, outputs: BertOutputs) -> Result<BertOutput> {
        batch.check_ranges(self.config.vocab_size, self.config.type_vocab_size)?;
        let groups = self.row_groups(batch);
        if groups > 1 {
            batch.check_lengths()?;
            return self.forward_split(batch, outputs, groups);
        }
        let mut x = self.embeddings.forward_batch(batch)?;
        self.encode(&mut x, batch, outputs)
    }

    /// How many row groups an inference forward of `batch` is split into (1: not split).
    fn row_groups(&self, batch: &Batch) -> usize {
        let threads = glassbox_tensor::parallel::threads();
        let work = batch.batch * batch.seq_len * self.config.hidden_size;
        let inference = !glassbox_autograd::is_grad_enabled() && !any_training(self);
        if inference && threads > 1 && batch.batch > 1 && work >= SPLIT_MIN_WORK {
            threads.min(batch.batch)
        } else {
            1
        }
    }

    /// [`forward`](Self::forward) as `groups` forwards over contiguous shares of the rows,
    /// run side by side and concatenated in row order.
    fn forward_split(
        &self,
        batch: &Batch,
        outputs: BertOutputs,
        groups: usize,
    ) -> Result<BertOutput> {
        use rayon::prelude::*;
        let parts: Vec<BertOutput> = (0..groups)
            .into_par_iter()
            .map(|g| {
                let rows = batch.batch * g / groups..batch.batch * (g + 1) / groups;
                let sub = batch.rows(rows);
                // Each share runs its operations on its own thread (see `parallel::serial`).
                glassbox_tensor::parallel::serial(|| {
                    glassbox_autograd::no_grad(|| {
                        let mut x = self.embeddings.forward_batch(&sub)?;
                        self.encode(&mut x, &sub, outputs)
                    })
                })
            })
            .collect::<Result<_>>()?;
        let cat = |pick: &dyn Fn(&BertOutput) -> Var| -> Result<Var> {
            let vars: Vec<Var> = parts.iter().map(pick).collect();
            Ok(Var::concat(&vars, 0)?)
        };
        let first = &parts[0];
        Ok(BertOutput {
            last_hidden_state: cat(&|o| o.last_hidden_state.clone())?,
            pooler_output: match first.pooler_output {
                Some(_) => Some(cat(&|o| {
                    o.pooler_output.clone().expect("every part pools")
                })?),
                None => None,
            },
            hidden_states: (0..first.hidden_states.len())
                .map(|i| cat(&|o| o.hidden_states[i].clone()))
                .collect::<Result<_>>()?,
            attentions: (0..first.attentions.len())
                .map(|i| cat(&|o| o.attentions[i].clone()))
                .collect::<Result<_>>()?,
        })
    }

    /// The encoder and pooler on given embeddings `x` `[batch, seq_len, hidden]` (the
    /// layer that attribution methods perturb).
    pub fn forward_embeddings(
        &self,
        x: Var,
        batch: &Batch,
        outputs: BertOutputs,
    ) -> Result<BertOutput> {
        let mut x = x;
        self.encode(&mut x, batch, outputs)
    }

    fn encode(&self, x: &mut Var, batch: &Batch, outputs: BertOutputs) -> Result<BertOutput> {
        let padded: Vec<bool> = batch.attention_mask.iter().map(|&m| m == 0).collect();
        let mask = padded
            .iter()
            .any(|&p| p)
            .then(|| Mask::from_bools(&padded, &[batch.batch, batch.seq_len]))
            .transpose()?;
        let opts = EncoderOptions {
            src_key_padding_mask: mask.as_ref(),
            need_weights: outputs.attentions,
            ..EncoderOptions::default()
        };
        let mut hidden_states = Vec::new();
        let mut attentions = Vec::new();
        for layer in &self.layers {
            if outputs.hidden_states {
                hidden_states.push(x.clone());
            }
            let out = layer.forward_with(x, &opts)?;
            *x = out.output;
            attentions.extend(out.attn_weights);
        }
        if outputs.hidden_states {
            hidden_states.push(x.clone());
        }
        let pooler_output = match &self.pooler {
            Some(dense) => {
                let first = x
                    .narrow(1, 0, 1)?
                    .reshape(&[batch.batch, self.config.hidden_size])?;
                Some(dense.forward_owned(first)?.tanh())
            }
            None => None,
        };
        Ok(BertOutput {
            last_hidden_state: x.clone(),
            pooler_output,
            hidden_states,
            attentions,
        })
    }
}

/// Whether `m` or any module below it is in training mode (dropout draws from shared
/// generators, so a training forward must not be split between threads).
fn any_training(m: &dyn Module) -> bool {
    m.is_training() || m.named_children().into_iter().any(|(_, c)| any_training(c))
}

/// One BERT layer's weights as a post-norm encoder layer's parts.
fn load_layer(ck: &mut Checkpoint, p: &str, c: &BertConfig) -> Result<BlockParts> {
    let (h, i) = (c.hidden_size, c.intermediate_size);
    let mut w = Vec::with_capacity(3);
    let mut b = Vec::with_capacity(3);
    for name in ["query", "key", "value"] {
        w.push(need(
            ck,
            &format!("{p}attention.self.{name}.weight"),
            &[h, h],
        )?);
        b.push(need(ck, &format!("{p}attention.self.{name}.bias"), &[h])?);
    }
    let eps = c.layer_norm_eps;
    Ok(BlockParts {
        heads: c.num_attention_heads,
        in_proj_weight: Tensor::try_concat(&[&w[0], &w[1], &w[2]], 0)?,
        in_proj_bias: Tensor::try_concat(&[&b[0], &b[1], &b[2]], 0)?,
        out_proj: linear(ck, &format!("{p}attention.output.dense"), h, h)?,
        norm1: layer_norm(ck, &format!("{p}attention.output.LayerNorm"), h, eps)?,
        linear1: linear(ck, &format!("{p}intermediate.dense"), h, i)?,
        linear2: linear(ck, &format!("{p}output.dense"), i, h)?,
        norm2: layer_norm(ck, &format!("{p}output.LayerNorm"), h, eps)?,
        activation: c.hidden_act.kind(),
        norm_first: false,
    })
}

impl Module for BertModel {
    /// `x`: token ids `[batch, seq_len]` as f32 (no padding); returns the last hidden state.
    fn forward(&self, x: &Var) -> glassbox_nn::Result<Var> {
        let batch = crate::load::batch_from_ids(x)?;
        self.forward(&batch, BertOutputs::default())
            .map(|o| o.last_hidden_state)
            .map_err(crate::load::to_nn)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        self.named_children()
            .into_iter()
            .flat_map(|(name, m)| {
                m.named_parameters()
                    .into_iter()
                    .map(move |(p, v)| (format!("{name}.{p}"), v))
            })
            .collect()
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        let mut c: Vec<(String, &dyn Module)> = vec![("embeddings".into(), &self.embeddings)];
        for (i, l) in self.layers.iter().enumerate() {
            c.push((format!("encoder.layer.{i}"), l));
        }
        if let Some(p) = &self.pooler {
            c.push(("pooler.dense".into(), p));
        }
        c
    }

    fn set_training(&mut self, training: bool) {
        self.embeddings.set_training(training);
        self.layers
            .iter_mut()
            .for_each(|l| l.set_training(training));
        if let Some(p) = &mut self.pooler {
            p.set_training(training);
        }
    }

    fn is_training(&self) -> bool {
        self.embeddings.is_training()
    }

    fn type_name(&self) -> &'static str {
        "BertModel"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bert::BertForSequenceClassification;
    use glassbox_autograd::no_grad;

    fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(f)
    }

    /// The row-split inference forward (2 threads) gives what one forward over the whole
    /// batch gives (1 thread), for every output, on a padded batch with an odd row count.
    #[test]
    fn split_inference_matches_the_whole_batch_forward() {
        let config = BertConfig::new(300, 64, 2, 2, 128, vec!["a".into(), "b".into()]).unwrap();
        let mut model = BertForSequenceClassification::new(config, 3).unwrap();
        model.set_training(false);
        let rows: Vec<Vec<u32>> = (0..5)
            .map(|r| {
                (0..(120 - 17 * r))
                    .map(|c| ((r * 31 + c * 7) % 290 + 5) as u32)
                    .collect()
            })
            .collect();
        let batch = Batch::from_ids(&rows, 0).unwrap();
        let outputs = BertOutputs {
            hidden_states: true,
            attentions: true,
        };
        assert!(
            in_pool(2, || model.bert.row_groups(&batch)) == 1,
            "grad enabled: no split"
        );
        let run = |threads| {
            in_pool(threads, || {
                assert_eq!(no_grad(|| model.bert.row_groups(&batch)), threads);
                no_grad(|| model.bert.forward(&batch, outputs)).unwrap()
            })
        };
        let (whole, split) = (run(1), run(2));
        let close = |a: &Var, b: &Var, what: &str| {
            let (a, b) = (a.value(), b.value());
            assert_eq!(a.shape(), b.shape(), "{what}");
            let worst = a
                .to_vec()
                .iter()
                .zip(b.to_vec())
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "{what}: {worst}");
        };
        close(
            &whole.last_hidden_state,
            &split.last_hidden_state,
            "last hidden state",
        );
        close(
            whole.pooler_output.as_ref().unwrap(),
            split.pooler_output.as_ref().unwrap(),
            "pooler",
        );
        assert_eq!(whole.hidden_states.len(), 3);
        assert_eq!(whole.attentions.len(), 2);
        for (a, b) in whole.hidden_states.iter().zip(&split.hidden_states) {
            close(a, b, "hidden state");
        }
        for (a, b) in whole.attentions.iter().zip(&split.attentions) {
            close(a, b, "attention");
        }
        // Training mode anywhere below the model: no split.
        model.bert.layers[1].set_training(true);
        assert_eq!(in_pool(2, || no_grad(|| model.bert.row_groups(&batch))), 1);
        // A hand-built batch whose vectors are too short is an error, not a panic.
        let mut bad = batch.clone();
        bad.attention_mask.pop();
        model.bert.layers[1].set_training(false);
        assert!(in_pool(2, || no_grad(|| model.bert.forward(&bad, outputs))).is_err());
    }
}
