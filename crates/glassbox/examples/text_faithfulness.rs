//! Faithfulness of every text explanation method on 100 held-out SpamAssassin mails (issue
//! 16, item 6).
//!
//! A small BERT (2 layers, hidden 64, 4 heads, 64 tokens, 4,000 WordPiece tokens trained
//! on the training split) is trained from scratch for 2 epochs on a seeded, stratified 80%
//! split of `../shared/data/text/spam_assassin.csv.gz`. The first 100 mails of the 20%
//! held-out split are then explained for the predicted class by Layer Integrated Gradients
//! (50 Gauss–Legendre points, baseline `[CLS] [PAD]… [SEP]`), occlusion, Kernel SHAP (500
//! coalitions), LIME (500 samples) and attention rollout, and each method is measured with
//! ERASER's AOPC comprehensiveness and sufficiency (bins 1, 5, 10, 20, 50%) and the areas
//! under the deletion and insertion curves, features removed by deletion, next to random
//! rankings (mean of 5 seeded rankings per mail). Mails longer than the model's 64 tokens
//! keep their first 63 tokens and `[SEP]` (head truncation; the count is printed).
//!
//! Writes `OUT/text_faithfulness.json` (the table, readable by
//! `glassbox explain --text … --out PAGE.html --faithfulness FILE`) and
//! `OUT/text_faithfulness.html` (the report's text page: two held-out mails explained by
//! every method, and the table). `OUT` is the first argument, default
//! `target/text-faithfulness`.
//!
//! ```text
//! cargo run --release -p glassbox --example text_faithfulness [-- OUT]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use glassbox::explain::gradient::{Approximation, BatchCap};
use glassbox::explain::text::{LigRule, TextLigConfig};
use glassbox::explain_text::{
    report_faithfulness, MethodOptions, TextExplainer, TextLigOptions, TextMethod, TextMethodConfig,
};
use glassbox::report::{Report, TextExplanations};
use glassbox::text::{LongInputs, TextClassifier, TextData, TextTrainConfig, TransformerSpec};
use serde_json::json;

/// Held-out mails measured.
const MAILS: usize = 100;
const SPEC: &str = "transformer:layers=2,hidden=64,heads=4,max_len=64,vocab=4000";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/text-faithfulness"));
    let Some(csv) = glassbox_testkit::shared_file("data/text/spam_assassin.csv.gz") else {
        return Ok(());
    };
    let start = Instant::now();
    let data = TextData::from_csv(&csv, "body", "label")?;
    let (train, test) = data.stratified_split(0.2, 0)?;
    let spec = TransformerSpec::parse(SPEC)?;
    let mut clf = TextClassifier::from_scratch(&train, &spec, 0)?;
    let cfg = TextTrainConfig {
        epochs: 2,
        batch_size: 32,
        lr: 1e-3,
        ..TextTrainConfig::default()
    };
    let fit = clf.fit(&train, Some(&test), &cfg, &mut |e| {
        eprintln!(
            "epoch {}: loss {:.4}, held-out accuracy {:.4}, {:.1} s",
            e.epoch,
            e.train_loss,
            e.val_accuracy.unwrap_or(f64::NAN),
            e.seconds
        )
    })?;
    let train_seconds = start.elapsed().as_secs_f64();
    let accuracy = fit.epochs.last().and_then(|e| e.val_accuracy);
    let mails: Vec<&str> = test.text_refs().into_iter().take(MAILS).collect();
    let truncated = clf.encode(&mails)?.truncated;
    println!(
        "{SPEC}: held-out accuracy {:.4} on {} mails after {:.0} s; {truncated} of the {} \
         measured mails cut to {} tokens",
        accuracy.unwrap_or(f64::NAN),
        test.len(),
        train_seconds,
        mails.len(),
        spec.max_len
    );

    let explainer = TextExplainer::from_text_classifier(clf, LongInputs::Truncate)?;
    let lig = TextLigConfig {
        rule: LigRule::Fixed {
            steps: 50,
            method: Approximation::GaussLegendre,
        },
        cap: BatchCap::Rows(10),
        ..TextLigConfig::default()
    };
    let perturb = TextMethodConfig::default();
    let measured = Instant::now();
    let rows = explainer.faithfulness(&mails, &TextMethod::ALL, true, &lig, &perturb)?;
    let measure_seconds = measured.elapsed().as_secs_f64();

    println!(
        "\n{:<12} {:>17} {:>11} {:>12} {:>13} {:>10}",
        "method", "comprehensiveness", "sufficiency", "deletion AUC", "insertion AUC", "s / mail"
    );
    for r in &rows {
        println!(
            "{:<12} {:>17.4} {:>11.4} {:>12.4} {:>13.4} {:>10.4}",
            r.method,
            r.comprehensiveness,
            r.sufficiency,
            r.deletion_auc,
            r.insertion_auc,
            r.seconds_per_text
        );
    }
    println!("(all methods measured in {measure_seconds:.0} s; mails run in parallel)");

    let note = format!(
        "{MAILS} held-out SpamAssassin mails (seeded stratified 20% split; {truncated} cut to \
         {} tokens), a from-scratch BERT ({SPEC}, 2 epochs, held-out accuracy {:.4}); \
         features are tokens removed by deletion; random: mean of {} seeded rankings.",
        spec.max_len,
        accuracy.unwrap_or(f64::NAN),
        perturb.random_draws
    );
    std::fs::create_dir_all(&out)?;
    let table = json!({
        "rows": rows,
        "note": note,
        "mails": mails.len(),
        "truncated": truncated,
        "spec": SPEC,
        "epochs": cfg.epochs,
        "held_out_accuracy": accuracy,
        "train_seconds": train_seconds,
        "measure_seconds": measure_seconds,
        "lig_steps": 50,
        "shap_samples": perturb.shap_samples,
        "lime_samples": perturb.lime_samples,
    });
    let json_path = out.join("text_faithfulness.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&table)?)?;

    // The text page: the first spam and the first ham mail, every method, and the table.
    let options = MethodOptions {
        lig: TextLigOptions {
            config: lig,
            ..TextLigOptions::default()
        },
        perturb,
        ..MethodOptions::default()
    };
    let mut samples = Vec::new();
    for class in 0..test.classes.len() {
        if let Some(i) = test.labels.iter().position(|&l| l == class) {
            let text = short(&test.texts[i], 400);
            samples.push(explainer.report_sample(&text, &options)?);
        }
    }
    let report = Report {
        title: "Text explanations of a spam classifier".into(),
        subtitle: Some("`cargo run --release -p glassbox --example text_faithfulness`".into()),
        text_explanations: Some(TextExplanations {
            samples,
            note: Some(format!(
                "One held-out mail of each class (cut to 400 characters and then to {} \
                 tokens), explained for the predicted class.",
                spec.max_len
            )),
        }),
        faithfulness: Some(report_faithfulness(&rows, Some(note))),
        ..Default::default()
    };
    let page = report.write_html(out.join("text_faithfulness.html"))?;
    println!("wrote {} and {}", json_path.display(), page.display());
    Ok(())
}

/// The first `n` characters of `text`.
fn short(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}
