//! `glassbox explain --model DIR --text "…"`: token (and word) attributions of a Hugging
//! Face text model, a BERT classifier's class or a GPT-2's next token.

use clap::ValueEnum;
use glassbox::explain::gradient::{Approximation, BatchCap};
use glassbox::explain::text::{LigRule, TextLigConfig, WordAggregation};
use glassbox::explain_text::{TextExplainer, TextExplanation, TextLigOptions, TextTask};
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

/// The methods that explain a text: one arm per method here and in [`explain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextMethod {
    /// Layer Integrated Gradients on the embeddings.
    Lig,
}

impl TextMethod {
    fn from_flag(m: Method) -> CliResult<Self> {
        match m {
            Method::Lig => Ok(TextMethod::Lig),
            other => Err(usage(format!(
                "invalid value '{}' for '--method' with '--text': a text is explained with lig",
                other.name()
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            TextMethod::Lig => "lig",
        }
    }
}

/// Path points per forward/backward pass (the memory bound of LIG).
const ROW_CAP: usize = 10;

/// Runs `glassbox explain --text`.
pub fn run(a: &ExplainArgs, text: &str) -> CliResult<()> {
    let method = TextMethod::from_flag(a.method)?;
    for (set, flag) in [
        (a.data.is_some(), "--data"),
        (a.rows.is_some(), "--rows"),
        (a.distributed, "--distributed"),
        (a.out.is_some(), "--out"),
    ] {
        if set {
            return Err(usage(format!(
                "'{flag}' cannot be used with '--text' (one text is explained and printed)"
            )));
        }
    }
    let explainer = open(a)?;
    let e = explain(&explainer, method, text, a)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&e, method, a)).expect("json")
        );
    } else {
        print_text(&e, method);
    }
    Ok(())
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

fn explain(
    explainer: &TextExplainer,
    method: TextMethod,
    text: &str,
    a: &ExplainArgs,
) -> CliResult<TextExplanation> {
    let steps = a.steps.unwrap_or(50);
    if steps == 0 {
        return Err(usage("invalid value '0' for '--steps': at least 1 point"));
    }
    let options = TextLigOptions {
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
    };
    match method {
        TextMethod::Lig => explainer.lig(text, &options).map_err(|e| match e {
            glassbox::Error::Explain(glassbox::explain::ExplainError::TargetOutOfRange {
                target,
                outputs,
                ..
            }) => usage(format!(
                "invalid value '{target}' for '--target': the model has {outputs} outputs \
                 (0..{outputs})"
            )),
            e => e.into(),
        }),
    }
}

fn task_name(t: TextTask) -> &'static str {
    match t {
        TextTask::Classification => "classification",
        TextTask::NextToken => "next_token",
    }
}

fn to_json(e: &TextExplanation, method: TextMethod, a: &ExplainArgs) -> Value {
    let tokens: Vec<Value> = (0..e.tokens.len())
        .map(|i| {
            json!({
                "token": e.tokens[i],
                "id": e.ids[i],
                "start": e.offsets[i].0,
                "end": e.offsets[i].1,
                "special": e.special[i],
                "score": e.scores[i],
            })
        })
        .collect();
    let mut out = json!({
        "method": method.name(),
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

fn print_text(e: &TextExplanation, method: TextMethod) {
    let what = match e.task {
        TextTask::Classification => format!("class '{}' ({})", e.target_label, e.target),
        TextTask::NextToken => format!("next token {:?} (id {})", e.target_label, e.target),
    };
    println!(
        "{} of {what} on {} ({} Gauss–Legendre steps)",
        method.name(),
        e.layer,
        e.lig.evaluations
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
