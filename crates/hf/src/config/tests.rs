use super::*;

#[test]
fn reads_the_reference_configs() {
    let bert = BertConfig::from_file(glassbox_testkit::reference_path(
        "transformers/bert_tiny/config.json",
    ))
    .unwrap();
    assert_eq!(
        (bert.vocab_size, bert.hidden_size, bert.num_hidden_layers),
        (1327, 32, 2)
    );
    assert_eq!((bert.num_attention_heads, bert.intermediate_size), (4, 37));
    assert_eq!(bert.hidden_act, HiddenAct::Gelu);
    assert_eq!(bert.layer_norm_eps, 1e-12);
    assert_eq!(bert.num_labels(), 3);
    assert_eq!(bert.labels.as_ref().unwrap()[2], "LABEL_2");
    assert_eq!(bert.head_dim(), 8);

    let gpt = Gpt2Config::from_file(glassbox_testkit::reference_path(
        "transformers/gpt2_tiny/config.json",
    ))
    .unwrap();
    assert_eq!((gpt.vocab_size, gpt.n_positions, gpt.n_embd), (600, 64, 32));
    assert_eq!((gpt.n_layer, gpt.n_head, gpt.n_inner), (2, 4, 128));
    assert_eq!(gpt.activation_function, HiddenAct::GeluTanh);
    assert_eq!(gpt.layer_norm_epsilon, 1e-5);
    assert_eq!(gpt.eos_token_id, Some(0));
    assert!(gpt.tie_word_embeddings && gpt.scale_attn_weights);
}

const BERT: &str = r#"{"model_type":"bert","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
"num_attention_heads":2,"intermediate_size":16,"hidden_act":"gelu","max_position_embeddings":16,
"type_vocab_size":2}"#;

fn bert_with(key: &str, value: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(BERT).unwrap();
    if value == "DELETE" {
        v.as_object_mut().unwrap().remove(key);
    } else {
        v[key] = serde_json::from_str(value).unwrap();
    }
    v.to_string()
}

#[test]
fn defaults_apply_to_optional_fields() {
    let c = BertConfig::from_json_str(BERT, "c.json").unwrap();
    assert_eq!(
        (c.layer_norm_eps, c.pad_token_id, c.num_labels()),
        (1e-12, 0, 2)
    );
}

#[test]
fn errors_name_the_file_and_field() {
    let cases = [
        (
            "hidden_size",
            "DELETE",
            "c.json: field `hidden_size`: missing",
        ),
        (
            "hidden_size",
            "\"big\"",
            "c.json: field `hidden_size`: invalid type",
        ),
        (
            "vocab_size",
            "-3",
            "c.json: field `vocab_size`: invalid value",
        ),
        (
            "vocab_size",
            "0",
            "c.json: field `vocab_size`: must be positive",
        ),
        (
            "num_attention_heads",
            "3",
            "field `num_attention_heads`: 3 heads do not divide",
        ),
        (
            "hidden_act",
            "\"swish\"",
            "field `hidden_act`: activation `swish` is not supported",
        ),
        (
            "model_type",
            "\"gpt2\"",
            "field `model_type`: expected `bert`, found `gpt2`",
        ),
        (
            "position_embedding_type",
            "\"relative_key\"",
            "field `position_embedding_type`",
        ),
        (
            "id2label",
            r#"{"0":"a","2":"b"}"#,
            "field `id2label`: class indices",
        ),
        (
            "layer_norm_eps",
            "0.0",
            "field `layer_norm_eps`: must be positive",
        ),
    ];
    for (key, value, expected) in cases {
        let err = BertConfig::from_json_str(&bert_with(key, value), "c.json").unwrap_err();
        assert!(err.to_string().contains(expected), "{key}={value}: {err}");
    }
    let err = BertConfig::from_json_str("[1]", "c.json").unwrap_err();
    assert_eq!(
        err.to_string(),
        "c.json: field `<root>`: expected a JSON object, found an array"
    );
    let err = Gpt2Config::from_json_str(r#"{"n_embd":6,"n_head":4}"#, "g.json").unwrap_err();
    assert!(
        err.to_string()
            .contains("g.json: field `n_head`: 4 heads do not divide"),
        "{err}"
    );
    let err = BertConfig::from_file("/nonexistent/config.json").unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/config.json"),
        "{err}"
    );
}
