//! Building a BERT configuration in code and writing it as a Hugging Face `config.json`.

use serde_json::{json, Map, Value};

use super::{BertConfig, HiddenAct};
use crate::error::{HfError, Result};

impl HiddenAct {
    /// The name `config.json` uses (`gelu`, `gelu_new`, `relu`).
    pub fn hf_name(self) -> &'static str {
        match self {
            HiddenAct::Gelu => "gelu",
            HiddenAct::GeluTanh => "gelu_new",
            HiddenAct::Relu => "relu",
        }
    }
}

impl BertConfig {
    /// A BERT configuration with transformers' `BertConfig` defaults (erf GELU, dropout
    /// 0.1, LayerNorm eps 1e-12, two token types, `initializer_range` 0.02, feed-forward
    /// width `4 * hidden_size`) for the given sizes, with classes `labels` (`id2label`).
    ///
    /// ```
    /// let c = glassbox_hf::BertConfig::new(8000, 128, 2, 4, 256, vec!["ham".into(), "spam".into()])?;
    /// assert_eq!((c.intermediate_size, c.head_dim(), c.num_labels()), (512, 32, 2));
    /// # Ok::<(), glassbox_hf::HfError>(())
    /// ```
    pub fn new(
        vocab_size: usize,
        hidden_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        max_position_embeddings: usize,
        labels: Vec<String>,
    ) -> Result<Self> {
        let bad = |what: &str, reason: String| HfError::InvalidInput {
            what: format!("BertConfig {what}"),
            reason,
        };
        for (name, v) in [
            ("vocab_size", vocab_size),
            ("hidden_size", hidden_size),
            ("num_hidden_layers", num_hidden_layers),
            ("num_attention_heads", num_attention_heads),
            ("max_position_embeddings", max_position_embeddings),
        ] {
            if v == 0 {
                return Err(bad(name, "must be positive, got 0".into()));
            }
        }
        if hidden_size % num_attention_heads != 0 {
            return Err(bad(
                "num_attention_heads",
                format!("{num_attention_heads} heads do not divide the hidden size {hidden_size}"),
            ));
        }
        if labels.len() < 2 {
            return Err(bad(
                "labels",
                format!(
                    "a classifier needs at least 2 classes, got {}",
                    labels.len()
                ),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = labels.iter().find(|l| !seen.insert(l.as_str())) {
            return Err(bad("labels", format!("class `{dup}` appears twice")));
        }
        Ok(BertConfig {
            vocab_size,
            hidden_size,
            num_hidden_layers,
            num_attention_heads,
            intermediate_size: 4 * hidden_size,
            hidden_act: HiddenAct::Gelu,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            classifier_dropout: None,
            labels: Some(labels),
            architectures: vec!["BertForSequenceClassification".into()],
            initializer_range: 0.02,
        })
    }

    /// The configuration as a Hugging Face `config.json` object: transformers' field names,
    /// `model_type: "bert"`, `architectures`, and `id2label`/`label2id` when there are
    /// labels.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("architectures", json!(self.architectures));
        put("model_type", json!("bert"));
        put("vocab_size", json!(self.vocab_size));
        put("hidden_size", json!(self.hidden_size));
        put("num_hidden_layers", json!(self.num_hidden_layers));
        put("num_attention_heads", json!(self.num_attention_heads));
        put("intermediate_size", json!(self.intermediate_size));
        put("hidden_act", json!(self.hidden_act.hf_name()));
        put("hidden_dropout_prob", json!(self.hidden_dropout_prob));
        put(
            "attention_probs_dropout_prob",
            json!(self.attention_probs_dropout_prob),
        );
        put(
            "max_position_embeddings",
            json!(self.max_position_embeddings),
        );
        put("type_vocab_size", json!(self.type_vocab_size));
        put("layer_norm_eps", json!(self.layer_norm_eps));
        put("initializer_range", json!(self.initializer_range));
        put("pad_token_id", json!(self.pad_token_id));
        put("position_embedding_type", json!("absolute"));
        put("classifier_dropout", json!(self.classifier_dropout));
        put("torch_dtype", json!("float32"));
        if let Some(labels) = &self.labels {
            let id2label: Map<String, Value> = labels
                .iter()
                .enumerate()
                .map(|(i, l)| (i.to_string(), json!(l)))
                .collect();
            let label2id: Map<String, Value> = labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), json!(i)))
                .collect();
            put("id2label", Value::Object(id2label));
            put("label2id", Value::Object(label2id));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_config_reads_back_identically() {
        let c = BertConfig::new(500, 64, 2, 4, 128, vec!["ham".into(), "spam".into()]).unwrap();
        let text = serde_json::to_string_pretty(&c.to_json()).unwrap();
        let back = BertConfig::from_json_str(&text, "config.json").unwrap();
        assert_eq!(back, c);
        let v = c.to_json();
        assert_eq!(v["label2id"]["spam"], json!(1));
        assert_eq!(v["id2label"]["0"], json!("ham"));
    }

    #[test]
    fn bad_sizes_are_named() {
        let labels = || vec!["a".to_string(), "b".to_string()];
        let e = BertConfig::new(10, 30, 1, 4, 8, labels()).unwrap_err();
        assert!(e.to_string().contains("num_attention_heads"), "{e}");
        let e = BertConfig::new(0, 32, 1, 4, 8, labels()).unwrap_err();
        assert!(e.to_string().contains("vocab_size"), "{e}");
        let e = BertConfig::new(10, 32, 1, 4, 8, vec!["a".into(), "a".into()]).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }
}
