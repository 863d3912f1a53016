//! How many gradient evaluations Layer Integrated Gradients needs on real mails (issue 16
//! item 10): all-MiniLM-L6-v2 (`../shared/models`), the mean-pooled sentence embedding's
//! dimension 0 (the target of Captum's side in `../shared/bench/pytorch/transformer.py`),
//! the first 64 tokens of held-out SpamAssassin mails, baseline `[CLS] [PAD]… [SEP]`.
//!
//! For each mail it runs the adaptive rule (complete within `tol · |f(x) − f(b)|`) and the
//! fixed 50-point Gauss–Legendre rule, and prints the evaluations, the relative
//! completeness gap of each, and the time; then the distribution of evaluations.
//!
//! `cargo run --release --example lig_minilm_mails -- [mails, default 20] [tol, default 1e-3]`

use std::time::Instant;

use glassbox::explain::gradient::{Approximation, BatchCap};
use glassbox::explain::text::{layer_integrated_gradients, LigRule, TextLigConfig};
use glassbox::explain_text::{freeze_parameters, BertMeanPooledModel};
use glassbox::hf::{BertModel, Tokenizer, Truncation};
use glassbox::text::TextData;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mails: usize = args.first().map_or(Ok(20), |s| s.parse())?;
    let tol: f64 = args.get(1).map_or(Ok(1e-3), |s| s.parse())?;
    let shared = glassbox_testkit::shared_dir();
    let dir = shared.join("models/all-MiniLM-L6-v2");
    let model = BertModel::from_dir(&dir)?;
    freeze_parameters(&model);
    let tok = Tokenizer::from_file(dir.join("tokenizer.json"))?
        .with_limit(512)
        .with_truncation(Truncation::OnlyFirst { max_length: 64 })?;
    let data = TextData::from_csv(
        shared.join("data/text/spam_assassin.csv.gz"),
        "body",
        "label",
    )?;
    let (_, held_out) = data.stratified_split(0.2, 0)?;
    let (cls, sep) = (
        tok.token_to_id("[CLS]").ok_or("no [CLS]")?,
        tok.token_to_id("[SEP]").ok_or("no [SEP]")?,
    );
    let f = BertMeanPooledModel::new(&model);
    let fixed = TextLigConfig {
        rule: LigRule::Fixed {
            steps: 50,
            method: Approximation::GaussLegendre,
        },
        cap: BatchCap::Rows(10),
        ..TextLigConfig::default()
    };
    let adaptive = TextLigConfig {
        rule: LigRule::adaptive(tol),
        ..fixed.clone()
    };
    println!("mail tokens | adaptive: evals  gap/|Δf|   s | fixed 50: gap/|Δf|   s");
    let mut evals = Vec::new();
    for (k, text) in held_out.text_refs().into_iter().take(mails).enumerate() {
        let ids = tok.encode(text, true)?.ids;
        let mut base = vec![tok.pad_id(); ids.len()];
        (base[0], base[ids.len() - 1]) = (cls, sep);
        let t = Instant::now();
        let a = layer_integrated_gradients(&f, &ids, &base, Some(0), &adaptive)?;
        let ta = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let b = layer_integrated_gradients(&f, &ids, &base, Some(0), &fixed)?;
        let tb = t.elapsed().as_secs_f64();
        let rel = |r: &glassbox::explain::text::TokenAttributions| {
            r.convergence_delta.abs() / r.output_difference.abs().max(1e-12)
        };
        println!(
            "{k:>4} {:>6} | {:>14} {:>10.2e} {:>5.2} | {:>17.2e} {:>5.2}",
            ids.len(),
            a.evaluations,
            rel(&a),
            ta,
            rel(&b),
            tb
        );
        evals.push(a.evaluations);
    }
    evals.sort_unstable();
    let n = evals.len();
    println!(
        "adaptive rule (tol {tol:e}) over {n} mails: evaluations min {}, median {}, max {}, mean {:.1}",
        evals[0],
        evals[n / 2],
        evals[n - 1],
        evals.iter().sum::<usize>() as f64 / n as f64
    );
    Ok(())
}
