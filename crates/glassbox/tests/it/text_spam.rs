//! A Transformer text classifier trained from scratch on SpamAssassin.

use std::time::Instant;

use glassbox::text::{TextClassifier, TextData, TextTrainConfig, TransformerSpec};
use glassbox_testkit::shared_file;

/// The CI claim of issue 15 item 6: a 2-layer BERT (hidden 64, 4 heads, 128 tokens, 8000
/// WordPiece tokens trained on the training split), trained from random weights for 3
/// epochs, reaches ≥ 97% accuracy on a stratified, seeded 20% held-out split (1,210 mails)
/// that neither the tokenizer nor the model saw. It is then saved as a Hugging Face
/// directory, loaded back, and must predict identically.
///
/// Measured: 98.02% (1,186 of 1,210) after the 3 epochs (97.27% after 2), about 220
/// CPU-seconds with tensor, autograd and nn built at opt-level 3 in the test profile
/// (Cargo.toml). Before the workspace moved to one RNG (other initial weights and batch
/// order) the same configuration gave 97.44%.
///
/// The figure is not bit-reproducible: the WordPiece vocabulary trained by HF `tokenizers`
/// depends on hash-map iteration order (huggingface/tokenizers#1794), so each run trains a
/// slightly different model from the same seed. Four runs on one machine (session 9, Zen 4)
/// gave 97.93%–98.35%.
#[test]
fn transformer_from_scratch_reaches_97_percent_on_spamassassin() {
    let Some(path) = shared_file("data/text/spam_assassin.csv.gz") else {
        return;
    };
    let start = Instant::now();
    let data = TextData::from_csv(&path, "body", "label").unwrap();
    assert_eq!(data.len(), 6046);
    assert_eq!(data.classes, ["ham", "spam"]);
    let (train, test) = data.stratified_split(0.2, 0).unwrap();
    assert_eq!(test.len(), 1210);
    let spec =
        TransformerSpec::parse("transformer:layers=2,hidden=64,heads=4,max_len=128,vocab=8000")
            .unwrap();
    let mut clf = TextClassifier::from_scratch(&train, &spec, 0).unwrap();
    let cfg = TextTrainConfig {
        epochs: 3,
        batch_size: 32,
        lr: 1e-3,
        ..TextTrainConfig::default()
    };
    let fit = clf
        .fit(&train, Some(&test), &cfg, &mut |e| {
            eprintln!(
                "epoch {}: loss {:.4}, held-out accuracy {:.4}, {:.1} s",
                e.epoch,
                e.train_loss,
                e.val_accuracy.unwrap_or(f64::NAN),
                e.seconds
            )
        })
        .unwrap();
    eprintln!(
        "{} of {} training mails cut to {} tokens; total {:.1} s",
        fit.truncated,
        fit.n_train,
        spec.max_len,
        start.elapsed().as_secs_f64()
    );
    let acc = fit.epochs.last().unwrap().val_accuracy.unwrap();
    assert!(acc >= 0.97, "held-out accuracy {acc:.4} < 0.97");
    assert_eq!(clf.accuracy(&test).unwrap(), acc);

    let dir = std::env::temp_dir().join(format!("gb-spam-bert-{}", std::process::id()));
    let sample: Vec<&str> = test.text_refs().into_iter().take(50).collect();
    clf.save_verified(&dir, &sample).unwrap();
    let mut back = TextClassifier::load(&dir).unwrap();
    assert_eq!(back.max_len(), 128);
    assert_eq!(back.accuracy(&test).unwrap(), acc);
    std::fs::remove_dir_all(&dir).unwrap();
}
