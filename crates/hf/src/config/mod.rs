//! `config.json` of BERT and GPT-2 models, read field by field: a missing field or a value
//! of the wrong type or range is an [`HfError::Config`](crate::HfError::Config) naming the
//! file and the field.

mod bert_write;
mod fields;

use std::collections::BTreeMap;
use std::path::Path;

use glassbox_nn::ActivationKind;

use crate::error::Result;
pub(crate) use fields::Fields;

/// The hidden activation named by `hidden_act` / `activation_function`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenAct {
    /// `gelu`: the exact (erf) GELU.
    Gelu,
    /// `gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`: the tanh approximation.
    GeluTanh,
    /// `relu`.
    Relu,
}

impl HiddenAct {
    fn parse(fields: &Fields, field: &str, name: &str) -> Result<Self> {
        match name {
            "gelu" => Ok(HiddenAct::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(HiddenAct::GeluTanh),
            "relu" => Ok(HiddenAct::Relu),
            other => Err(fields.error(
                field,
                format!("activation `{other}` is not supported (gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu)"),
            )),
        }
    }

    /// The matching `glassbox-nn` activation.
    pub fn kind(self) -> ActivationKind {
        match self {
            HiddenAct::Gelu => ActivationKind::Gelu,
            HiddenAct::GeluTanh => ActivationKind::GeluTanh,
            HiddenAct::Relu => ActivationKind::Relu,
        }
    }
}

/// Checks `model_type` when present.
fn check_model_type(f: &Fields, expected: &str) -> Result<()> {
    if let Some(found) = f.opt::<String>("model_type")? {
        if found != expected {
            return Err(f.error(
                "model_type",
                format!("expected `{expected}`, found `{found}`"),
            ));
        }
    }
    Ok(())
}

/// Checks that `heads` divides `hidden`.
fn check_heads(f: &Fields, hidden: usize, heads_field: &str, heads: usize) -> Result<()> {
    if hidden % heads != 0 {
        return Err(f.error(
            heads_field,
            format!("{heads} heads do not divide the hidden size {hidden}"),
        ));
    }
    Ok(())
}

/// Reads `id2label` (keys are decimal strings) into a dense list, checking the ids are
/// `0..n`.
fn labels(f: &Fields) -> Result<Option<Vec<String>>> {
    let Some(map) = f.opt::<BTreeMap<String, String>>("id2label")? else {
        return Ok(None);
    };
    let mut by_id = BTreeMap::new();
    for (k, v) in map {
        let id: usize = k
            .parse()
            .map_err(|_| f.error("id2label", format!("key `{k}` is not a class index")))?;
        by_id.insert(id, v);
    }
    if by_id.keys().copied().ne(0..by_id.len()) {
        return Err(f.error("id2label", "class indices must be 0..n without gaps"));
    }
    Ok(Some(by_id.into_values().collect()))
}

/// A BERT `config.json` (`BertModel`, `BertForSequenceClassification`).
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// `vocab_size`.
    pub vocab_size: usize,
    /// `hidden_size`.
    pub hidden_size: usize,
    /// `num_hidden_layers`.
    pub num_hidden_layers: usize,
    /// `num_attention_heads`.
    pub num_attention_heads: usize,
    /// `intermediate_size`.
    pub intermediate_size: usize,
    /// `hidden_act`.
    pub hidden_act: HiddenAct,
    /// `hidden_dropout_prob` (only used in training mode).
    pub hidden_dropout_prob: f64,
    /// `attention_probs_dropout_prob` (only used in training mode).
    pub attention_probs_dropout_prob: f64,
    /// `max_position_embeddings`.
    pub max_position_embeddings: usize,
    /// `type_vocab_size`.
    pub type_vocab_size: usize,
    /// `layer_norm_eps`.
    pub layer_norm_eps: f64,
    /// `pad_token_id`.
    pub pad_token_id: usize,
    /// `classifier_dropout` (falls back to `hidden_dropout_prob`).
    pub classifier_dropout: Option<f64>,
    /// Class names from `id2label`, when present.
    pub labels: Option<Vec<String>>,
    /// `architectures`, when present.
    pub architectures: Vec<String>,
    /// `initializer_range`: standard deviation of the random initialisation (default 0.02).
    pub initializer_range: f64,
}

impl BertConfig {
    /// Reads `path` (a BERT `config.json`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_fields(&Fields::read(path.as_ref())?)
    }

    /// Parses `text` (named `file` in errors).
    pub fn from_json_str(text: &str, file: &str) -> Result<Self> {
        Self::from_fields(&Fields::parse(text, file)?)
    }

    fn from_fields(f: &Fields) -> Result<Self> {
        check_model_type(f, "bert")?;
        let position: String = f.or("position_embedding_type", "absolute".to_string())?;
        if position != "absolute" {
            return Err(f.error(
                "position_embedding_type",
                format!("only `absolute` is supported, found `{position}`"),
            ));
        }
        let hidden_size = f.positive("hidden_size")?;
        let num_attention_heads = f.positive("num_attention_heads")?;
        check_heads(f, hidden_size, "num_attention_heads", num_attention_heads)?;
        let act: String = f.get("hidden_act")?;
        let layer_norm_eps: f64 = f.or("layer_norm_eps", 1e-12)?;
        if layer_norm_eps.is_nan() || layer_norm_eps <= 0.0 {
            return Err(f.error(
                "layer_norm_eps",
                format!("must be positive, got {layer_norm_eps}"),
            ));
        }
        Ok(BertConfig {
            vocab_size: f.positive("vocab_size")?,
            hidden_size,
            num_hidden_layers: f.positive("num_hidden_layers")?,
            num_attention_heads,
            intermediate_size: f.positive("intermediate_size")?,
            hidden_act: HiddenAct::parse(f, "hidden_act", &act)?,
            hidden_dropout_prob: f.or("hidden_dropout_prob", 0.1)?,
            attention_probs_dropout_prob: f.or("attention_probs_dropout_prob", 0.1)?,
            max_position_embeddings: f.positive("max_position_embeddings")?,
            type_vocab_size: f.positive("type_vocab_size")?,
            layer_norm_eps,
            pad_token_id: f.or("pad_token_id", 0)?,
            classifier_dropout: f.opt("classifier_dropout")?,
            labels: labels(f)?,
            architectures: f.or("architectures", Vec::new())?,
            initializer_range: f.or("initializer_range", 0.02)?,
        })
    }

    /// Number of classes of a sequence-classification head (`id2label`'s size, else 2 as
    /// in transformers).
    pub fn num_labels(&self) -> usize {
        self.labels.as_ref().map_or(2, Vec::len)
    }

    /// Size of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// A GPT-2 `config.json` (`GPT2LMHeadModel`).
#[derive(Debug, Clone, PartialEq)]
pub struct Gpt2Config {
    /// `vocab_size`.
    pub vocab_size: usize,
    /// `n_positions` (context length).
    pub n_positions: usize,
    /// `n_embd`.
    pub n_embd: usize,
    /// `n_layer`.
    pub n_layer: usize,
    /// `n_head`.
    pub n_head: usize,
    /// `n_inner` (defaults to `4 * n_embd`).
    pub n_inner: usize,
    /// `activation_function`.
    pub activation_function: HiddenAct,
    /// `layer_norm_epsilon`.
    pub layer_norm_epsilon: f64,
    /// `bos_token_id`.
    pub bos_token_id: Option<usize>,
    /// `eos_token_id`.
    pub eos_token_id: Option<usize>,
    /// `tie_word_embeddings` (default true: `lm_head` shares `wte`).
    pub tie_word_embeddings: bool,
    /// `scale_attn_weights` (default true: scores divided by √head_dim).
    pub scale_attn_weights: bool,
    /// `scale_attn_by_inverse_layer_idx` (default false: scores also divided by layer+1).
    pub scale_attn_by_inverse_layer_idx: bool,
    /// Dropout probabilities (`resid_pdrop`, `embd_pdrop`, `attn_pdrop`), used only in
    /// training mode.
    pub dropout: [f64; 3],
}

impl Gpt2Config {
    /// Reads `path` (a GPT-2 `config.json`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_fields(&Fields::read(path.as_ref())?)
    }

    /// Parses `text` (named `file` in errors).
    pub fn from_json_str(text: &str, file: &str) -> Result<Self> {
        Self::from_fields(&Fields::parse(text, file)?)
    }

    fn from_fields(f: &Fields) -> Result<Self> {
        check_model_type(f, "gpt2")?;
        let n_embd = f.positive("n_embd")?;
        let n_head = f.positive("n_head")?;
        check_heads(f, n_embd, "n_head", n_head)?;
        let act: String = f.or("activation_function", "gelu_new".to_string())?;
        let n_inner = match f.opt::<usize>("n_inner")? {
            Some(0) => return Err(f.error("n_inner", "must be positive, got 0")),
            Some(n) => n,
            None => 4 * n_embd,
        };
        let eps: f64 = f.or("layer_norm_epsilon", 1e-5)?;
        if eps.is_nan() || eps <= 0.0 {
            return Err(f.error("layer_norm_epsilon", format!("must be positive, got {eps}")));
        }
        Ok(Gpt2Config {
            vocab_size: f.positive("vocab_size")?,
            n_positions: f.positive("n_positions")?,
            n_embd,
            n_layer: f.positive("n_layer")?,
            n_head,
            n_inner,
            activation_function: HiddenAct::parse(f, "activation_function", &act)?,
            layer_norm_epsilon: eps,
            bos_token_id: f.opt("bos_token_id")?,
            eos_token_id: f.opt("eos_token_id")?,
            tie_word_embeddings: f.or("tie_word_embeddings", true)?,
            scale_attn_weights: f.or("scale_attn_weights", true)?,
            scale_attn_by_inverse_layer_idx: f.or("scale_attn_by_inverse_layer_idx", false)?,
            dropout: [
                f.or("resid_pdrop", 0.1)?,
                f.or("embd_pdrop", 0.1)?,
                f.or("attn_pdrop", 0.1)?,
            ],
        })
    }

    /// Size of one attention head.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }
}

#[cfg(test)]
mod tests;
