//! `glassbox explain --model DIR --text "…"`: token (and word) attributions of a Hugging
//! Face text model, a BERT classifier's class or a GPT-2's next token.

use clap::ValueEnum;
use glassbox::explain::gradient::{Approximation, BatchCap};
use glassbox::explain::text::{LigRule, TextLigConfig, WordAggregation};
use glassbox::explain_text::{
    Granularity, MethodExplanation, MethodOptions, TextExplainer, TextExplanation, TextLigOptions,
    TextMethod, TextMethodConfig, TextTask,
};
use glassbox::{HfArchitecture, ModelSource};
use serde_json::{json, Value};

use crate::error::{failure, usage, CliResult};
use crate::explain::{ExplainArgs, Method};

/// How `--words` aggregates subword scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WordsFlag {
    /// Sum of the word's token scores (keeps completeness).
    Sum,
    /// Mean of the word's token scores.
    Mean,
    /// The token score of largest magnitude.
    Maxabs,
}

impl From<WordsFlag> for WordAggregation {
    fn from(w: WordsFlag) -> Self {
        match w {
            WordsFlag::Sum => WordAggregation::Sum,
            WordsFlag::Mean => WordAggregation::Mean,
            WordsFlag::Maxabs => WordAggregation::MaxAbs,
        }
    }
}

/// The `--method` of a text, as `glassbox`'s [`TextMethod`].
fn text_method(m: Method) -> CliResult<TextMethod> {
    Ok(match m {
        Method::Lig => TextMethod::Lig,
        Method::Occlusion => TextMethod::Occlusion,
        Method::Shap => TextMethod::KernelShap,
        Method::Lime => TextMethod::Lime,
        Method::Rollout => TextMethod::Rollout,
        other => {
            return Err(usage(format!(
                "invalid value '{}' for '--method' with '--text': a text is explained with \
                 lig, occlusion, shap, lime or rollout",
                other.name()
            )))
        }
    })
}

/// The `--method` name of a text method.
pub(crate) fn flag_name(m: TextMethod) -> &'static str {
    match m {
        TextMethod::Lig => "lig",
        TextMethod::Occlusion => "occlusion",
        TextMethod::KernelShap => "shap",
        TextMethod::Lime => "lime",
        TextMethod::Rollout => "rollout",
    }
}

/// Path points per forward/backward pass (the memory bound of LIG).
const ROW_CAP: usize = 10;

/// Runs `glassbox explain --text`.
pub fn run(a: &ExplainArgs, text: &str) -> CliResult<()> {
    let method = text_method(a.method)?;
    for (set, flag) in [
        (a.data.is_some(), "--data"),
        (a.rows.is_some(), "--rows"),
        (a.distributed, "--distributed"),
    ] {
        if set {
            return Err(usage(format!(
                "'{flag}' cannot be used with '--text' (one text is explained and printed)"
            )));
        }
    }
    if a.steps.is_some() && method != TextMethod::Lig && a.out.is_none() {
        return Err(usage(format!(
            "'--steps' goes with '--method lig' (or '--out', which runs lig too), not with \
             '--method {}'",
            flag_name(method)
        )));
    }
    if a.faithfulness.is_some() && a.out.is_none() {
        return Err(usage(
            "'--faithfulness' goes with '--out' (it fills the page's faithfulness table)",
        ));
    }
    let explainer = open(a)?;
    if !method.applies_to(explainer.task()) {
        return Err(usage(format!(
            "invalid value '{}' for '--method': '--model {}' is a GPT2LMHeadModel, explained \
             with lig, occlusion, shap or lime (rollout reads a BERT classifier's [CLS] \
             attention)",
            flag_name(method),
            a.model.display()
        )));
    }
    if method == TextMethod::Lig {
        let e = explain(&explainer, text, a)?;
        if a.json {
            println!("{}", pretty(&to_json(&e, a)));
        } else {
            print_text(&e);
        }
    } else {
        let e = explainer
            .explain_method(text, method, &method_options(a)?)
            .map_err(target_error)?;
        if a.json {
            println!("{}", pretty(&method_json(&e, a)));
        } else {
            print_method(&e);
        }
    }
    if let Some(out) = &a.out {
        let path = crate::explain_text_page::write_page(&explainer, text, a, out)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("json")
}

/// The options of every method, from the flags (`--words` makes the perturbation methods
/// remove whole words).
pub(crate) fn method_options(a: &ExplainArgs) -> CliResult<MethodOptions> {
    Ok(MethodOptions {
        lig: lig_options(a)?,
        perturb: TextMethodConfig {
            granularity: if a.words.is_some() {
                Granularity::Words
            } else {
                Granularity::Tokens
            },
            seed: a.seed,
            ..TextMethodConfig::default()
        },
        target: a.target,
        words: a.words.map(WordAggregation::from),
    })
}

/// A target beyond the model's outputs is a usage error naming `--target`.
pub(crate) fn target_error(e: glassbox::Error) -> crate::error::CliError {
    match e {
        glassbox::Error::Explain(glassbox::explain::ExplainError::TargetOutOfRange {
            target,
            outputs,
            ..
        }) => usage(format!(
            "invalid value '{target}' for '--target': the model has {outputs} outputs \
             (0..{outputs})"
        )),
        e => e.into(),
    }
}

/// Opens `--model` as a text model to explain.
fn open(a: &ExplainArgs) -> CliResult<TextExplainer> {
    if !a.model.exists() {
        return Err(failure(format!(
            "{}: no such file (model bundle or Hugging Face model directory not found)",
            a.model.display()
        )));
    }
    match ModelSource::detect(&a.model)? {
        ModelSource::HuggingFace {
            architecture:
                HfArchitecture::BertForSequenceClassification | HfArchitecture::Gpt2LmHeadModel,
            ..
        } => Ok(TextExplainer::from_dir(&a.model)?),
        other => Err(usage(format!(
            "'--model {}': '--text' explains a Hugging Face BertForSequenceClassification or \
             GPT2LMHeadModel directory, not a {}; explain a bundle with '--data'",
            a.model.display(),
            other.kind()
        ))),
    }
}

/// LIG's options from `--steps`, `--target` and `--words`.
fn lig_options(a: &ExplainArgs) -> CliResult<TextLigOptions> {
    let steps = a.steps.unwrap_or(50);
    if steps == 0 {
        return Err(usage("invalid value '0' for '--steps': at least 1 point"));
    }
    Ok(TextLigOptions {
        config: TextLigConfig {
            rule: LigRule::Fixed {
                steps,
                method: Approximation::GaussLegendre,
            },
            cap: BatchCap::Rows(ROW_CAP),
            ..TextLigConfig::default()
        },
        target: a.target,
        words: a.words.map(WordAggregation::from),
    })
}

fn explain(explainer: &TextExplainer, text: &str, a: &ExplainArgs) -> CliResult<TextExplanation> {
    let options = lig_options(a)?;
    explainer.lig(text, &options).map_err(target_error)
}

pub(crate) fn task_name(t: TextTask) -> &'static str {
    match t {
        TextTask::Classification => "classification",
        TextTask::NextToken => "next_token",
    }
}

/// One JSON object per token: text, id, character span, special flag and score.
fn tokens_json(
    tokens: &[String],
    ids: &[u32],
    offsets: &[(usize, usize)],
    special: &[bool],
    scores: &[f64],
) -> Vec<Value> {
    (0..tokens.len())
        .map(|i| {
            json!({
                "token": tokens[i],
                "id": ids[i],
                "start": offsets[i].0,
                "end": offsets[i].1,
                "special": special[i],
                "score": scores[i],
            })
        })
        .collect()
}

fn to_json(e: &TextExplanation, a: &ExplainArgs) -> Value {
    let tokens = tokens_json(&e.tokens, &e.ids, &e.offsets, &e.special, &e.scores);
    let mut out = json!({
        "method": "lig",
        "model": a.model.display().to_string(),
        "task": task_name(e.task),
        "layer": e.layer,
        "text": e.text,
        "target": e.target_label,
        "target_index": e.target,
        "steps": e.lig.evaluations,
        "baseline_ids": e.baseline_ids,
        "output": e.lig.output,
        "baseline_output": e.lig.baseline_output,
        "output_difference": e.lig.output_difference,
        "convergence_delta": e.lig.convergence_delta,
        "tokens": tokens,
    });
    if let Some(w) = &e.words {
        out["word_aggregation"] = json!(w.aggregation.name());
        out["words"] = w
            .words
            .iter()
            .map(|w| {
                json!({"word": w.text, "start": w.start, "end": w.end, "tokens": w.tokens, "score": w.score})
            })
            .collect();
        out["unaligned_tokens"] = w
            .unaligned
            .iter()
            .map(|u| json!({"token": u.token, "special": u.special, "score": u.score}))
            .collect();
    }
    out
}

fn print_text(e: &TextExplanation) {
    let what = match e.task {
        TextTask::Classification => format!("class '{}' ({})", e.target_label, e.target),
        TextTask::NextToken => format!("next token {:?} (id {})", e.target_label, e.target),
    };
    println!(
        "lig of {what} on {} ({} Gauss–Legendre steps)",
        e.layer, e.lig.evaluations
    );
    println!(
        "f(x) = {:.6}, f(baseline) = {:.6}, difference {:+.6}, convergence delta {:+.2e}",
        e.lig.output, e.lig.baseline_output, e.lig.output_difference, e.lig.convergence_delta
    );
    println!("  {:<16} {:>9}  {:>10}", "token", "chars", "score");
    for i in 0..e.tokens.len() {
        let span = if e.special[i] {
            "special".to_string()
        } else {
            format!("{}..{}", e.offsets[i].0, e.offsets[i].1)
        };
        println!("  {:<16} {:>9}  {:+.6}", e.tokens[i], span, e.scores[i]);
    }
    if let Some(w) = &e.words {
        println!("words ({}):", w.aggregation.name());
        for w in &w.words {
            println!(
                "  {:<16} {:>9}  {:+.6}",
                w.text,
                format!("{}..{}", w.start, w.end),
                w.score
            );
        }
    }
}

/// The JSON of a perturbation or attention method.
fn method_json(e: &MethodExplanation, a: &ExplainArgs) -> Value {
    let tokens = tokens_json(&e.tokens, &e.ids, &e.offsets, &e.special, &e.scores);
    let features: Vec<Value> = e
        .features
        .iter()
        .zip(&e.feature_scores)
        .map(|(g, s)| {
            let start = g.iter().map(|&t| e.offsets[t].0).min();
            let end = g.iter().map(|&t| e.offsets[t].1).max();
            json!({"tokens": g, "start": start, "end": end, "score": s})
        })
        .collect();
    let mut out = json!({
        "method": flag_name(e.method),
        "family": e.method.family(),
        "model": a.model.display().to_string(),
        "task": task_name(e.task),
        "text": e.text,
        "target": e.target_label,
        "target_index": e.target,
        "granularity": if a.words.is_some() { "words" } else { "tokens" },
        "evaluations": e.evaluations,
        "seconds": e.seconds,
        "tokens": tokens,
        "features": features,
    });
    if e.output.is_finite() {
        out["output"] = json!(e.output);
    }
    if e.method != TextMethod::Rollout {
        out["removal"] = json!(match e.task {
            TextTask::Classification => "delete",
            TextTask::NextToken => "replace with <|endoftext|>",
        });
        out["seed"] = json!(a.seed);
    }
    if let Some(d) = &e.delta {
        out[d.name] = json!(d.value);
    }
    if let Some(w) = &e.words {
        out["words"] = w
            .words
            .iter()
            .map(|w| {
                json!({"word": w.text, "start": w.start, "end": w.end, "tokens": w.tokens, "score": w.score})
            })
            .collect();
    }
    out
}

fn print_method(e: &MethodExplanation) {
    let what = match e.task {
        TextTask::Classification => format!("class '{}' ({})", e.target_label, e.target),
        TextTask::NextToken => format!("next token {:?} (id {})", e.target_label, e.target),
    };
    println!(
        "{} ({}) of {what}, {} model evaluations",
        flag_name(e.method),
        e.method.family(),
        e.evaluations
    );
    let mut line = String::new();
    if e.output.is_finite() {
        line.push_str(&format!("probability {:.6}", e.output));
    }
    if let Some(d) = &e.delta {
        line.push_str(&format!(", {} {:+.2e}", d.name.replace('_', " "), d.value));
    }
    if !line.is_empty() {
        println!("{line}");
    }
    println!("  {:<16} {:>9}  {:>10}", "token", "chars", "score");
    for i in 0..e.tokens.len() {
        let span = if e.special[i] {
            "special".to_string()
        } else {
            format!("{}..{}", e.offsets[i].0, e.offsets[i].1)
        };
        println!("  {:<16} {:>9}  {:+.6}", e.tokens[i], span, e.scores[i]);
    }
    if let Some(w) = &e.words {
        println!("words:");
        for w in &w.words {
            println!(
                "  {:<16} {:>9}  {:+.6}",
                w.text,
                format!("{}..{}", w.start, w.end),
                w.score
            );
        }
    }
}
