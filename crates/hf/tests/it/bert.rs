//! BERT against transformers' BertForSequenceClassification (`bert_tiny/reference.json`).

use std::collections::HashMap;

use glassbox_autograd::no_grad;
use glassbox_hf::{
    write_safetensors, Batch, BertForSequenceClassification, BertModel, BertOutputs, HfError,
    SafetensorsFile, TensorToWrite, Tokenizer,
};
use glassbox_testkit::{assert_close, reference_json, reference_path};
use serde_json::Value;

use crate::{flat, ids, rows, values};

fn reference_batch(r: &Value) -> Batch {
    let rows_of =
        |key: &str| -> Vec<Vec<u32>> { r[key].as_array().unwrap().iter().map(ids).collect() };
    let (input, mask) = (rows_of("input_ids"), rows_of("attention_mask"));
    let (b, l) = (input.len(), input[0].len());
    Batch::new(b, l, input.concat(), mask.concat(), vec![0; b * l]).unwrap()
}

#[test]
fn sequence_classification_matches_transformers() {
    let r = reference_json("transformers/bert_tiny/reference.json");
    let dir = reference_path("transformers/bert_tiny");
    let model = BertForSequenceClassification::from_dir(&dir).unwrap();
    let batch = reference_batch(&r);

    // The tokenizer of the directory gives the reference ids.
    let tok = Tokenizer::from_file(dir.join("tokenizer.json"))
        .unwrap()
        .with_limit(64);
    let texts: Vec<&str> = r["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let enc = tok.encode_batch(&texts, true).unwrap();
    assert_eq!(
        Batch::from_encodings(&enc, tok.pad_id()).unwrap().input_ids,
        batch.input_ids
    );

    let outputs = BertOutputs {
        hidden_states: true,
        attentions: true,
    };
    let (logits, out) = no_grad(|| model.forward_with(&batch, outputs)).unwrap();
    assert_eq!(logits.shape(), vec![4, 3]);
    assert_close(
        "logits",
        &values(&logits.value()),
        &flat(&r["logits"]),
        1e-4,
    );
    let pooled = out.pooler_output.unwrap().value();
    assert_close(
        "pooler_output",
        &values(&pooled),
        &flat(&r["pooler_output"]),
        1e-4,
    );

    let real = |i: usize| batch.attention_mask[i] == 1;
    let h = 32;
    assert_eq!(out.hidden_states.len(), 3);
    for (k, (ours, theirs)) in out
        .hidden_states
        .iter()
        .zip(r["hidden_states"].as_array().unwrap())
        .enumerate()
    {
        let ours = rows(&values(&ours.value()), h, real);
        let theirs = rows(&flat(theirs), h, real);
        assert_close(
            &format!("hidden_states[{k}] on real tokens"),
            &ours,
            &theirs,
            1e-4,
        );
    }
    assert_eq!(out.attentions.len(), 2);
    let l = batch.seq_len;
    for (k, (ours, theirs)) in out
        .attentions
        .iter()
        .zip(r["attentions"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(ours.shape(), vec![4, 4, l, l]);
        // Rows are (batch, head, query); keep rows whose query is a real token.
        let keep = |row: usize| real((row / (4 * l)) * l + row % l);
        let ours = rows(&values(&ours.value()), l, keep);
        let theirs = rows(&flat(theirs), l, keep);
        assert_close(
            &format!("attentions[{k}] of real queries"),
            &ours,
            &theirs,
            1e-4,
        );
    }
}

/// The checkpoint's tensors, renamed by `rename` (None drops a tensor), written with the
/// same config into a fresh directory.
fn rewritten_dir(name: &str, rename: impl Fn(&str) -> Option<String>) -> std::path::PathBuf {
    let src = reference_path("transformers/bert_tiny");
    let dir = std::env::temp_dir().join(format!("gb-hf-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(src.join("config.json"), dir.join("config.json")).unwrap();
    let file = SafetensorsFile::open(src.join("model.safetensors")).unwrap();
    let tensors: Vec<TensorToWrite> = file
        .float_tensors()
        .unwrap()
        .into_iter()
        .filter_map(|(n, t)| rename(&n).map(|n| TensorToWrite::f32(&n, &t).unwrap()))
        .collect();
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    write_safetensors(dir.join("model.safetensors"), &tensors, Some(meta)).unwrap();
    dir
}

#[test]
fn keys_load_without_the_bert_prefix_and_integer_buffers_are_skipped() {
    let r = reference_json("transformers/bert_tiny/reference.json");
    let batch = reference_batch(&r);
    let with = BertModel::from_dir(reference_path("transformers/bert_tiny")).unwrap();
    let dir = rewritten_dir("noprefix", |n| {
        (!n.starts_with("classifier.")).then(|| n.trim_start_matches("bert.").to_string())
    });
    // Add an I64 buffer as transformers saves it: it must be skipped, not "unexpected".
    let file = SafetensorsFile::open(dir.join("model.safetensors")).unwrap();
    let mut tensors: Vec<TensorToWrite> = file
        .float_tensors()
        .unwrap()
        .iter()
        .map(|(n, t)| TensorToWrite::f32(n, t).unwrap())
        .collect();
    tensors.push(
        TensorToWrite::i64(
            "embeddings.position_ids",
            &[1, 64],
            &(0..64).collect::<Vec<_>>(),
        )
        .unwrap(),
    );
    write_safetensors(dir.join("model.safetensors"), &tensors, None).unwrap();
    let without = BertModel::from_dir(&dir).unwrap();
    let a = no_grad(|| with.forward(&batch, BertOutputs::default())).unwrap();
    let b = no_grad(|| without.forward(&batch, BertOutputs::default())).unwrap();
    assert_eq!(
        values(&a.last_hidden_state.value()),
        values(&b.last_hidden_state.value())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_and_unexpected_keys_are_listed() {
    let dir = rewritten_dir("badkeys", |n| match n {
        "bert.encoder.layer.1.output.dense.bias" | "bert.pooler.dense.weight" => None,
        "bert.embeddings.LayerNorm.bias" => Some("bert.embeddings.LayerNorm.beta".into()),
        other => Some(other.to_string()),
    });
    let err = BertForSequenceClassification::from_dir(&dir).unwrap_err();
    match &err {
        HfError::Keys {
            missing,
            unexpected,
            ..
        } => {
            assert_eq!(
                missing,
                &[
                    "bert.embeddings.LayerNorm.bias",
                    "bert.encoder.layer.1.output.dense.bias",
                    "bert.pooler.dense.weight",
                ]
            );
            assert_eq!(unexpected, &["bert.embeddings.LayerNorm.beta"]);
        }
        other => panic!("expected a keys error, got {other}"),
    }
    assert!(
        err.to_string().contains("BertForSequenceClassification"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_inputs_are_errors() {
    let model = BertModel::from_dir(reference_path("transformers/bert_tiny")).unwrap();
    let bad = Batch::from_ids(&[vec![2, 5000, 3]], 0).unwrap();
    let err = model.forward(&bad, BertOutputs::default()).unwrap_err();
    assert!(
        err.to_string().contains("id 5000 at row 0, position 1"),
        "{err}"
    );
    let long = Batch::from_ids(&[vec![2; 65]], 0).unwrap();
    match model.forward(&long, BertOutputs::default()).unwrap_err() {
        HfError::InputTooLong { length, limit, .. } => assert_eq!((length, limit), (65, 64)),
        other => panic!("expected InputTooLong, got {other}"),
    }
}
