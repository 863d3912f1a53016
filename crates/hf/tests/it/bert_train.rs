//! Training support of BertForSequenceClassification: save_pretrained round trips, key
//! names as transformers writes them, gradients against finite differences, dropout only
//! in training mode.

use std::collections::BTreeSet;

use glassbox_autograd::{gradcheck, no_grad, AutogradError};
use glassbox_hf::{
    Batch, BertConfig, BertForSequenceClassification, SafetensorsFile, Tokenizer, WordPieceOptions,
};
use glassbox_nn::Module;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;
use glassbox_testkit::reference_path;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gb-hf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn padded_batch() -> Batch {
    Batch::from_ids(&[vec![2, 7, 9, 11, 3], vec![2, 5, 3], vec![2, 4, 6, 3]], 0).unwrap()
}

fn logits(model: &BertForSequenceClassification, batch: &Batch) -> Vec<f32> {
    no_grad(|| model.forward(batch)).unwrap().value().to_vec()
}

#[test]
fn saved_keys_are_the_ones_transformers_writes() {
    // bert_tiny was written by transformers' save_pretrained: our key names and shapes
    // for the same model must be exactly its float tensors.
    let dir = reference_path("transformers/bert_tiny");
    let model = BertForSequenceClassification::from_dir(&dir).unwrap();
    let file = SafetensorsFile::open(dir.join("model.safetensors")).unwrap();
    let theirs: BTreeSet<(String, Vec<usize>)> = file
        .float_tensors()
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.shape().to_vec()))
        .collect();
    let ours: BTreeSet<(String, Vec<usize>)> = model
        .hf_tensors()
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.shape().to_vec()))
        .collect();
    assert_eq!(ours, theirs);
    // and the values are the file's
    for (k, t) in model.hf_tensors().unwrap() {
        let v = file.tensor(&k).unwrap();
        assert_eq!(t.to_vec(), v.to_vec(), "{k}");
    }
}

#[test]
fn save_then_load_gives_identical_logits() {
    let dir = reference_path("transformers/bert_tiny");
    let model = BertForSequenceClassification::from_dir(&dir).unwrap();
    let tok = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let out = temp_dir("roundtrip");
    model.save_pretrained(&out, Some(&tok)).unwrap();
    let back = BertForSequenceClassification::from_dir(&out).unwrap();
    let batch = padded_batch();
    assert_eq!(logits(&model, &batch), logits(&back, &batch));
    assert_eq!(back.labels(), model.labels());
    let tok2 = Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
    let text = "Re: the meeting, résumé attached";
    assert_eq!(
        tok.encode(text, true).unwrap(),
        tok2.encode(text, true).unwrap()
    );

    // A model trained from scratch with a trained tokenizer round-trips the same way.
    let texts = [
        "free money now",
        "see you at the meeting",
        "money money money",
    ];
    let opts = WordPieceOptions {
        vocab_size: 60,
        min_frequency: 1,
        ..Default::default()
    };
    let tok = Tokenizer::train_wordpiece(&texts, &opts).unwrap();
    let config = BertConfig::new(
        tok.vocab_size(),
        16,
        2,
        2,
        16,
        vec!["ham".into(), "spam".into()],
    )
    .unwrap();
    let mut fresh = BertForSequenceClassification::new(config, 7).unwrap();
    fresh.set_training(false);
    fresh.save_pretrained(&out, Some(&tok)).unwrap();
    let back = BertForSequenceClassification::from_dir(&out).unwrap();
    let enc = tok.encode_batch(&texts, true).unwrap();
    let batch = Batch::from_encodings(&enc, tok.pad_id()).unwrap();
    assert_eq!(logits(&fresh, &batch), logits(&back, &batch));
    assert_eq!(back.labels(), ["ham", "spam"]);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"][0], "BertForSequenceClassification");
    assert_eq!(config["label2id"]["spam"], 1);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn random_init_follows_transformers() {
    let config = BertConfig::new(500, 64, 2, 4, 32, vec!["a".into(), "b".into()]).unwrap();
    let model = BertForSequenceClassification::new(config, 3).unwrap();
    assert!(model.is_training());
    for (k, t) in model.hf_tensors().unwrap() {
        let v = t.to_vec();
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let sd = (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        if k.ends_with("LayerNorm.weight") {
            assert!(v.iter().all(|&x| x == 1.0), "{k}");
        } else if k.ends_with(".bias") {
            assert!(v.iter().all(|&x| x == 0.0), "{k}");
        } else if n < 2048.0 {
            assert!(
                v.iter().all(|&x| x.abs() < 0.2) && sd > 0.01,
                "{k}: sd {sd}"
            );
        } else {
            // normal(0, 0.02): the sample sd of ≥ 2048 draws is within 10%.
            assert!((sd - 0.02).abs() < 0.002, "{k}: sd {sd}");
            assert!(mean.abs() < 0.002, "{k}: mean {mean}");
        }
        if k == "bert.embeddings.word_embeddings.weight" {
            assert!(v[..64].iter().all(|&x| x == 0.0), "[PAD] row");
        }
    }
}

#[test]
fn input_embedding_gradient_matches_finite_differences() {
    let config = BertConfig::new(20, 8, 2, 2, 8, vec!["a".into(), "b".into(), "c".into()]).unwrap();
    let mut model = BertForSequenceClassification::new(config, 11).unwrap();
    model.set_training(false);
    let batch = padded_batch();
    let mut rng = Rng::new(5);
    let x = Tensor::rand_normal(&[batch.batch, batch.seq_len, 8], 0.0, 1.0, &mut rng);
    let report = gradcheck(
        |v| {
            model
                .forward_embeddings(v[0].clone(), &batch)
                .map_err(|e| AutogradError::invalid("bert", e.to_string()))
        },
        &[x],
        1e-2,
        2e-2,
    )
    .unwrap();
    assert!(report.passed(), "{report:?}");
}

#[test]
fn every_parameter_gets_a_gradient_and_dropout_acts_in_training_only() {
    let config = BertConfig::new(20, 8, 2, 2, 8, vec!["a".into(), "b".into()]).unwrap();
    let mut model = BertForSequenceClassification::new(config, 1).unwrap();
    let batch = padded_batch();
    let loss = model.forward(&batch).unwrap().sum_all();
    loss.backward().unwrap();
    for (name, p) in model.named_parameters() {
        let g = p.grad().unwrap_or_else(|| panic!("{name}: no gradient"));
        assert!(
            g.to_vec().iter().any(|&x| x != 0.0),
            "{name}: zero gradient"
        );
    }
    // training: two passes differ (dropout); evaluation: identical
    let a = model.forward(&batch).unwrap().value().to_vec();
    let b = model.forward(&batch).unwrap().value().to_vec();
    assert_ne!(a, b);
    model.set_training(false);
    assert_eq!(logits(&model, &batch), logits(&model, &batch));
}

#[test]
fn pretrained_encoder_gets_a_fresh_head() {
    let dir = reference_path("transformers/bert_tiny");
    let loaded = BertForSequenceClassification::from_dir(&dir).unwrap();
    let labels = vec!["ham".to_string(), "spam".to_string()];
    let mut model =
        BertForSequenceClassification::from_pretrained_encoder(&dir, labels, 0).unwrap();
    assert_eq!(model.num_labels(), 2);
    model.set_training(false);
    // The encoder's weights are the checkpoint's.
    let enc = |m: &BertForSequenceClassification| {
        m.bert
            .hf_tensors("")
            .unwrap()
            .into_iter()
            .map(|(k, t)| (k, t.to_vec()))
            .collect::<Vec<_>>()
    };
    assert_eq!(enc(&model), enc(&loaded));
    let err = BertForSequenceClassification::from_pretrained_encoder(&dir, vec!["x".into()], 0)
        .unwrap_err();
    assert!(err.to_string().contains("at least 2"), "{err}");
}
