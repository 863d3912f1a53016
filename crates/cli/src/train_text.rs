//! `glassbox train --text-column COL --target LABEL --model transformer:…`: a BERT text
//! classifier trained from scratch (WordPiece tokenizer trained on the training split),
//! written as a Hugging Face model directory (`config.json`, `model.safetensors`,
//! `tokenizer.json`).
//!
//! The directory is built next to `--out`, loaded back and checked to predict the same,
//! then renamed to `--out`. The optimizer is AdamW (weight decay 0.01, linear warm-up over
//! 10% of the steps then linear decay, gradient norm clipped to 1); `--optimizer` and
//! `--patience` apply to tabular models only. Texts longer than `max_len` tokens keep
//! their first tokens (head truncation); how many were cut is printed.

use glassbox::text::{TextClassifier, TextData, TextTrainConfig, TransformerSpec};

use crate::error::{failure, usage, CliResult};
use crate::train::TrainArgs;

/// Whether `train` was asked for a text model.
pub fn wants_text(a: &TrainArgs) -> bool {
    a.text_column.is_some() || a.model.starts_with("transformer")
}

/// Runs the text path of `glassbox train`.
pub fn run(a: TrainArgs) -> CliResult<()> {
    let Some(text_column) = a.text_column.as_deref() else {
        return Err(usage(format!(
            "invalid value '{}' for '--model': a transformer needs '--text-column <COLUMN>'",
            a.model
        )));
    };
    let target = a.target.as_deref().ok_or_else(|| {
        usage("the following required argument was not provided: '--target <TARGET>' (the label column, needed with '--text-column')")
    })?;
    let spec = TransformerSpec::parse(&a.model).map_err(|e| {
        usage(format!(
            "invalid value '{}' for '--model': {e} (text data needs transformer:layers=…,hidden=…,heads=…,max_len=…,vocab=…)",
            a.model
        ))
    })?;
    if a.distributed {
        return Err(usage(
            "'--distributed' is not supported with '--text-column' (text models train in one process)",
        ));
    }
    if a.epochs == 0 {
        return Err(usage(
            "invalid value '0' for '--epochs': must be at least 1",
        ));
    }
    if a.batch_size == 0 {
        return Err(usage(
            "invalid value '0' for '--batch-size': must be at least 1",
        ));
    }
    if !(a.lr.is_finite() && a.lr > 0.0) {
        return Err(usage(format!(
            "invalid value '{}' for '--lr': must be > 0",
            a.lr
        )));
    }
    if !(0.0..0.9).contains(&a.val_split) {
        return Err(usage(format!(
            "invalid value '{}' for '--val-split': must be in [0, 0.9)",
            a.val_split
        )));
    }
    let data = TextData::from_csv(&a.data, text_column, target).map_err(|e| {
        failure(format!(
            "{} (--text-column '{text_column}', --target '{target}')",
            crate::error::one_line(&e.to_string())
        ))
    })?;
    let (train, val) = if a.val_split > 0.0 {
        let (t, v) = data.stratified_split(a.val_split, a.seed)?;
        (t, Some(v))
    } else {
        (data, None)
    };
    let quiet = a.quiet;
    if !quiet {
        eprintln!(
            "training {spec} on {} ({} texts for training, {} held out, classes {})",
            a.data.display(),
            train.len(),
            val.as_ref().map_or(0, TextData::len),
            train.classes.join(", ")
        );
    }
    let mut clf = TextClassifier::from_scratch(&train, &spec, a.seed)?;
    let cfg = TextTrainConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        seed: a.seed,
        ..TextTrainConfig::default()
    };
    let fit = clf.fit(&train, val.as_ref(), &cfg, &mut |e| {
        if !quiet {
            let acc = e
                .val_accuracy
                .map_or(String::new(), |v| format!(", held-out accuracy {v:.4}"));
            eprintln!(
                "epoch {}/{}: loss {:.4}{acc}, {:.1} s",
                e.epoch, cfg.epochs, e.train_loss, e.seconds
            );
        }
    })?;
    if !quiet {
        eprintln!(
            "{} of {} training texts were longer than {} tokens and kept their first {} tokens",
            fit.truncated, fit.n_train, spec.max_len, spec.max_len
        );
    }
    let check: Vec<&str> = train.text_refs().into_iter().take(16).collect();
    clf.save_verified(&a.out, &check)?;
    let acc = fit
        .epochs
        .last()
        .and_then(|e| e.val_accuracy)
        .map_or(String::new(), |v| format!(", val_accuracy {v:.4}"));
    let loss = fit.epochs.last().map_or(f64::NAN, |e| e.train_loss);
    println!(
        "saved {} (Hugging Face BertForSequenceClassification directory; train_loss {loss:.4}{acc})",
        a.out.display()
    );
    Ok(())
}
