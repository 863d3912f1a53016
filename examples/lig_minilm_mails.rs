//! How many gradient evaluations Layer Integrated Gradients needs on real mails (issue 16
//! items 1 and 10): all-MiniLM-L6-v2 (`../shared/models`), the mean-pooled sentence
//! embedding's dimension 0 (the target of Captum's side in
//! `../shared/bench/pytorch/transformer.py`), the first 64 tokens of held-out SpamAssassin
//! mails, baseline `[CLS] [PAD]… [SEP]`.
//!
//! For each mail it runs the adaptive rule `LigRule::adaptive(tol)` (Gauss–Kronrod pairs
//! from `G_31`/`K_63`: the two rules of a pass agree on every token score and the finer
//! one is complete, both within `tol · |f(x) − f(b)|`), the same from `G_15`/`K_31`,
//! Gauss–Legendre doubling from 16 points (the same tests on two successive rules), and
//! the fixed 50-point Gauss–Legendre rule (Captum's default), and prints the evaluations,
//! the relative completeness gap `|Σ attributions − Δf| / |Δf|`, and the time of each;
//! with a reference (third argument: its Gauss–Legendre points, e.g. 256) also each rule's
//! largest token-score error against it, relative to `|Δf|`. Then the distributions.
//! With a fourth argument `kink` it also runs the kink-refining rule (slow: it spends its
//! budget of 1024 evaluations on this smooth model).
//!
//! `cargo run --release --example lig_minilm_mails -- [mails, default 20] [tol, default 1e-3] [reference points, default 0 = none] [kink]`

use std::time::Instant;

use glassbox::explain::gradient::{Approximation, BatchCap};
use glassbox::explain::text::{
    layer_integrated_gradients, LigRule, TextLigConfig, TokenAttributions,
};
use glassbox::explain_text::{freeze_parameters, BertMeanPooledModel};
use glassbox::hf::{BertModel, Tokenizer, Truncation};
use glassbox::text::TextData;

/// One rule's figures over the mails.
#[derive(Default)]
struct Column {
    name: String,
    evals: Vec<usize>,
    secs: Vec<f64>,
    gaps: Vec<f64>,
    token_errors: Vec<f64>,
    unconverged: usize,
}

impl Column {
    fn summary(&mut self) -> String {
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            (v[0], v[n / 2], v[n - 1])
        };
        self.evals.sort_unstable();
        let n = self.evals.len();
        let (s0, s1, s2) = med(&mut self.secs);
        let (g0, g1, g2) = med(&mut self.gaps);
        let mut out = format!(
            "{:<24} evaluations min/median/max {}/{}/{} (mean {:.1}) | s {:.2}/{:.2}/{:.2} | gap/|Δf| {:.1e}/{:.1e}/{:.1e}",
            self.name,
            self.evals[0],
            self.evals[n / 2],
            self.evals[n - 1],
            self.evals.iter().sum::<usize>() as f64 / n as f64,
            s0,
            s1,
            s2,
            g0,
            g1,
            g2
        );
        if !self.token_errors.is_empty() {
            let (e0, e1, e2) = med(&mut self.token_errors);
            out += &format!(" | token error/|Δf| {e0:.1e}/{e1:.1e}/{e2:.1e}");
        }
        if self.unconverged > 0 {
            out += &format!(" | {} unconverged", self.unconverged);
        }
        out
    }
}

fn rel_gap(r: &TokenAttributions) -> f64 {
    r.convergence_delta.abs() / r.output_difference.abs().max(1e-12)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mails: usize = args.first().map_or(Ok(20), |s| s.parse())?;
    let tol: f64 = args.get(1).map_or(Ok(1e-3), |s| s.parse())?;
    let reference_points: usize = args.get(2).map_or(Ok(0), |s| s.parse())?;
    let kink = args.get(3).is_some_and(|s| s == "kink");
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
    let with = |rule| TextLigConfig {
        rule,
        cap: BatchCap::Rows(10),
        ..TextLigConfig::default()
    };
    let gl = |steps| LigRule::Fixed {
        steps,
        method: Approximation::GaussLegendre,
    };
    let mut rules = vec![
        (
            "adaptive (GK 31/63)".to_string(),
            with(LigRule::adaptive(tol)),
        ),
        (
            "GK from 15/31".to_string(),
            with(LigRule::GaussKronrod {
                gauss_points: 15,
                relative_tolerance: tol,
                budget: 1024,
            }),
        ),
        (
            "GL doubling from 16".to_string(),
            with(LigRule::GaussLegendreDoubling {
                start: 16,
                relative_tolerance: tol,
                budget: 1024,
            }),
        ),
        ("fixed GL 50".to_string(), with(gl(50))),
    ];
    if kink {
        rules.push((
            "kink refinement".to_string(),
            with(LigRule::kink_refinement(tol)),
        ));
    }
    let mut columns: Vec<Column> = rules
        .iter()
        .map(|(name, _)| Column {
            name: name.clone(),
            ..Column::default()
        })
        .collect();
    println!(
        "tol {tol:e}; per rule: evaluations, gap/|Δf|, seconds{}",
        if reference_points > 0 {
            format!(", token error/|Δf| against {reference_points} Gauss–Legendre points")
        } else {
            String::new()
        }
    );
    for (k, text) in held_out.text_refs().into_iter().take(mails).enumerate() {
        let ids = tok.encode(text, true)?.ids;
        let mut base = vec![tok.pad_id(); ids.len()];
        (base[0], base[ids.len() - 1]) = (cls, sep);
        let reference = if reference_points > 0 {
            Some(layer_integrated_gradients(
                &f,
                &ids,
                &base,
                Some(0),
                &with(gl(reference_points)),
            )?)
        } else {
            None
        };
        let mut line = format!("mail {k:>2}, {:>2} tokens |", ids.len());
        for ((_, config), col) in rules.iter().zip(&mut columns) {
            let t = Instant::now();
            let r = layer_integrated_gradients(&f, &ids, &base, Some(0), config)?;
            let secs = t.elapsed().as_secs_f64();
            line += &format!(" {:>4} {:>8.1e} {:>5.2}", r.evaluations, rel_gap(&r), secs);
            if let Some(reference) = &reference {
                let err = r
                    .token_scores
                    .iter()
                    .zip(&reference.token_scores)
                    .fold(0f64, |m, (a, b)| m.max((a - b).abs()))
                    / r.output_difference.abs().max(1e-12);
                line += &format!(" {err:>8.1e}");
                col.token_errors.push(err);
            }
            line += " |";
            col.evals.push(r.evaluations);
            col.secs.push(secs);
            col.gaps.push(rel_gap(&r));
            col.unconverged += usize::from(r.converged == Some(false));
        }
        println!("{line}");
    }
    println!("over {} mails (min/median/max):", columns[0].evals.len());
    for col in &mut columns {
        println!("{}", col.summary());
    }
    Ok(())
}
