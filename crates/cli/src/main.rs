//! `glassbox`: train, evaluate, explain and serve neural networks from the command line.
//!
//! Errors print one line on stderr naming the file, row, column or flag at fault; the exit
//! code is 2 for usage errors and 1 for data or model errors.

mod allocator;
mod demo;
mod distributed;
mod embed;
mod error;
mod evaluate;
mod explain;
mod explain_text;
mod explain_text_page;
mod generate;
mod input;
mod models;
mod predict;
mod report_build;
mod rows;
mod select;
mod serve;
mod text_eval;
mod train;
mod train_text;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Train, evaluate, explain and serve neural networks on the CPU. Wherever `--model`
/// takes a bundle file it also takes a Hugging Face model directory (config.json,
/// model.safetensors, tokenizer.json).
#[derive(Debug, Parser)]
#[command(name = "glassbox", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a CNN on the bundled digits, evaluate and explain it, write an HTML report.
    Demo(demo::DemoArgs),
    /// Train a model on a CSV table or IDX images and save a bundle.
    Train(train::TrainArgs),
    /// Evaluate a bundle on a data file (optionally with K-fold cross-validation), or a
    /// Hugging Face text classifier on a labelled text CSV.
    Evaluate(evaluate::EvaluateArgs),
    /// Predict classes (or probabilities) for a data file, or classify texts with a
    /// Hugging Face text classifier; CSV (or JSON) on stdout.
    Predict(predict::PredictArgs),
    /// Sentence embeddings of texts with a sentence-transformers directory (e.g.
    /// all-MiniLM-L6-v2).
    Embed(embed::EmbedArgs),
    /// Continue a prompt with a Hugging Face GPT-2 (greedy, or seeded sampling).
    Generate(generate::GenerateArgs),
    /// Explain a bundle's predictions with an attribution method or surrogate rules.
    Explain(explain::ExplainArgs),
    /// Rank and select features of a CSV table.
    SelectFeatures(select::SelectArgs),
    /// Serve bundles over the Open Inference Protocol (KServe v2 REST).
    Serve(serve::ServeArgs),
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Train(a) => train::run(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Explain(a) => explain::run(a),
        Command::SelectFeatures(a) => select::run(a),
        Command::Serve(a) => serve::run(a),
    }
}

/// Parses a path flag value (clap helper).
pub fn path_arg(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        Err("empty path".into())
    } else {
        Ok(PathBuf::from(s))
    }
}

fn main() {
    allocator::keep_freed_pages();
    // Never show a panic backtrace: one line, exit code 1.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        if msg.contains("Broken pipe") {
            // The reader of our stdout went away (`glassbox predict ... | head`): stop quietly.
            std::process::exit(0);
        }
        eprintln!("glassbox: internal error: {}", error::one_line(&msg));
        std::process::exit(1);
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    if let Err(e) = run(cli) {
        if matches!(e, CliError::BrokenPipe) {
            std::process::exit(0);
        }
        eprintln!("glassbox: error: {e}");
        distributed::end_job_on_error(e.exit_code());
        std::process::exit(e.exit_code());
    }
}
