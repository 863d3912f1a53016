//! BERT weights under Hugging Face's key names, both ways: a model's tensors as a
//! transformers state dict (for `save_pretrained`), and freshly initialised tensors as
//! transformers' `BertPreTrainedModel._init_weights` draws them (for training from
//! scratch and for new heads).

use glassbox_autograd::Var;
use glassbox_nn::{LayerNorm, Linear};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use super::{BertForSequenceClassification, BertModel};
use crate::config::BertConfig;
use crate::error::Result;

/// How a key is initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Init {
    /// `normal(0, initializer_range)` (Linear and Embedding weights).
    Normal,
    /// The word embeddings: normal, with the `pad_token_id` row zeroed.
    WordEmbeddings,
    /// Zeros (biases).
    Zeros,
    /// Ones (LayerNorm weights).
    Ones,
}

/// `(key, shape, init)` of a Linear layer named `p`.
fn linear_keys(p: &str, inp: usize, out: usize) -> [(String, Vec<usize>, Init); 2] {
    [
        (format!("{p}.weight"), vec![out, inp], Init::Normal),
        (format!("{p}.bias"), vec![out], Init::Zeros),
    ]
}

/// `(key, shape, init)` of a LayerNorm named `p`.
fn norm_keys(p: &str, width: usize) -> [(String, Vec<usize>, Init); 2] {
    [
        (format!("{p}.weight"), vec![width], Init::Ones),
        (format!("{p}.bias"), vec![width], Init::Zeros),
    ]
}

/// Every key of a `BertModel` with pooler, prefixed by `prefix` (`"bert."`).
fn encoder_keys(c: &BertConfig, prefix: &str) -> Vec<(String, Vec<usize>, Init)> {
    let (h, i) = (c.hidden_size, c.intermediate_size);
    let e = format!("{prefix}embeddings.");
    let mut keys = vec![
        (
            format!("{e}word_embeddings.weight"),
            vec![c.vocab_size, h],
            Init::WordEmbeddings,
        ),
        (
            format!("{e}position_embeddings.weight"),
            vec![c.max_position_embeddings, h],
            Init::Normal,
        ),
        (
            format!("{e}token_type_embeddings.weight"),
            vec![c.type_vocab_size, h],
            Init::Normal,
        ),
    ];
    keys.extend(norm_keys(&format!("{e}LayerNorm"), h));
    for l in 0..c.num_hidden_layers {
        let p = format!("{prefix}encoder.layer.{l}.");
        for name in ["query", "key", "value"] {
            keys.extend(linear_keys(&format!("{p}attention.self.{name}"), h, h));
        }
        keys.extend(linear_keys(&format!("{p}attention.output.dense"), h, h));
        keys.extend(norm_keys(&format!("{p}attention.output.LayerNorm"), h));
        keys.extend(linear_keys(&format!("{p}intermediate.dense"), h, i));
        keys.extend(linear_keys(&format!("{p}output.dense"), i, h));
        keys.extend(norm_keys(&format!("{p}output.LayerNorm"), h));
    }
    keys.extend(pooler_keys(c, prefix));
    keys
}

fn pooler_keys(c: &BertConfig, prefix: &str) -> [(String, Vec<usize>, Init); 2] {
    linear_keys(
        &format!("{prefix}pooler.dense"),
        c.hidden_size,
        c.hidden_size,
    )
}

fn classifier_keys(c: &BertConfig) -> [(String, Vec<usize>, Init); 2] {
    linear_keys("classifier", c.hidden_size, c.num_labels())
}

/// Draws the tensors of `keys` in order from `rng`.
fn draw(
    keys: impl IntoIterator<Item = (String, Vec<usize>, Init)>,
    c: &BertConfig,
    rng: &mut Rng,
) -> Vec<(String, Tensor)> {
    let std = c.initializer_range as f32;
    keys.into_iter()
        .map(|(key, shape, init)| {
            let t = match init {
                Init::Normal => Tensor::rand_normal(&shape, 0.0, std, rng),
                Init::WordEmbeddings => {
                    let mut t = Tensor::rand_normal(&shape, 0.0, std, rng);
                    let (pad, h) = (c.pad_token_id, shape[1]);
                    if pad < shape[0] {
                        t.as_slice_mut()[pad * h..(pad + 1) * h].fill(0.0);
                    }
                    t
                }
                Init::Zeros => Tensor::zeros(&shape),
                Init::Ones => Tensor::ones(&shape),
            };
            (key, t)
        })
        .collect()
}

/// Freshly initialised weights of a whole `BertForSequenceClassification` (keys with
/// `bert.`).
pub(crate) fn init_classifier(c: &BertConfig, rng: &mut Rng) -> Vec<(String, Tensor)> {
    let mut keys = encoder_keys(c, "bert.");
    keys.extend(classifier_keys(c));
    draw(keys, c, rng)
}

/// Freshly initialised classification head (and pooler, when `pooler_prefix` is given)
/// for a pretrained encoder.
pub(crate) fn init_head(
    c: &BertConfig,
    pooler_prefix: Option<&str>,
    rng: &mut Rng,
) -> Vec<(String, Tensor)> {
    let mut keys: Vec<_> = pooler_prefix
        .map(|p| pooler_keys(c, p).to_vec())
        .unwrap_or_default();
    keys.extend(classifier_keys(c));
    draw(keys, c, rng)
}

fn value(v: &Var) -> Tensor {
    v.value().contiguous()
}

fn push_linear(out: &mut Vec<(String, Tensor)>, p: &str, l: &Linear) {
    out.push((format!("{p}.weight"), value(&l.weight)));
    if let Some(b) = &l.bias {
        out.push((format!("{p}.bias"), value(b)));
    }
}

fn push_norm(out: &mut Vec<(String, Tensor)>, p: &str, n: &LayerNorm) {
    out.push((format!("{p}.weight"), value(&n.weight)));
    if let Some(b) = &n.bias {
        out.push((format!("{p}.bias"), value(b)));
    }
}

/// Rows `i·rows .. (i+1)·rows` of a row-major matrix (or vector) `t` as a tensor of
/// `shape`.
fn rows_of(t: &Tensor, i: usize, shape: &[usize]) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let data = t.to_vec();
    Ok(Tensor::from_vec(data[i * n..(i + 1) * n].to_vec(), shape)?)
}

impl BertModel {
    /// The weights under transformers' `BertModel` key names, each prefixed by `prefix`
    /// (`"bert."` inside a `BertForSequenceClassification`). The packed attention input
    /// projection is split back into `query`, `key` and `value`.
    pub fn hf_tensors(&self, prefix: &str) -> Result<Vec<(String, Tensor)>> {
        let h = self.config.hidden_size;
        let e = &self.embeddings;
        let pe = format!("{prefix}embeddings.");
        let mut out = vec![
            (
                format!("{pe}word_embeddings.weight"),
                value(&e.word_embeddings.weight),
            ),
            (
                format!("{pe}position_embeddings.weight"),
                value(&e.position_embeddings.weight),
            ),
            (
                format!("{pe}token_type_embeddings.weight"),
                value(&e.token_type_embeddings.weight),
            ),
        ];
        push_norm(&mut out, &format!("{pe}LayerNorm"), &e.layer_norm);
        for (l, layer) in self.layers.iter().enumerate() {
            let p = format!("{prefix}encoder.layer.{l}.");
            let attn = &layer.self_attn;
            let w = value(&attn.in_proj_weight);
            let b = attn.in_proj_bias.as_ref().map(value);
            for (i, name) in ["query", "key", "value"].into_iter().enumerate() {
                let q = format!("{p}attention.self.{name}");
                out.push((format!("{q}.weight"), rows_of(&w, i, &[h, h])?));
                if let Some(b) = &b {
                    out.push((format!("{q}.bias"), rows_of(b, i, &[h])?));
                }
            }
            push_linear(
                &mut out,
                &format!("{p}attention.output.dense"),
                &attn.out_proj,
            );
            push_norm(
                &mut out,
                &format!("{p}attention.output.LayerNorm"),
                &layer.norm1,
            );
            push_linear(&mut out, &format!("{p}intermediate.dense"), layer.linear1());
            push_linear(&mut out, &format!("{p}output.dense"), layer.linear2());
            push_norm(&mut out, &format!("{p}output.LayerNorm"), &layer.norm2);
        }
        if let Some(pooler) = &self.pooler {
            push_linear(&mut out, &format!("{prefix}pooler.dense"), pooler);
        }
        Ok(out)
    }
}

impl BertForSequenceClassification {
    /// The weights under transformers' `BertForSequenceClassification` key names
    /// (`bert.…`, `classifier.…`).
    pub fn hf_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = self.bert.hf_tensors("bert.")?;
        push_linear(&mut out, "classifier", &self.classifier);
        Ok(out)
    }
}
