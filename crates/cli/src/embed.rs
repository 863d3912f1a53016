//! `glassbox embed`: sentence embeddings of a sentence-transformers directory (e.g.
//! all-MiniLM-L6-v2) for `--text` strings or a CSV's `--text-column`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use glassbox::LongInputs;
use serde_json::json;

use crate::error::{failure, usage, CliResult};
use crate::models::{open_model, read_table, string_column, text_error, wrong_kind};

/// Flags of `glassbox embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// A sentence-transformers directory (config.json, model.safetensors, tokenizer.json,
    /// modules.json, 1_Pooling/config.json), e.g. all-MiniLM-L6-v2.
    #[arg(long, value_parser = crate::path_arg)]
    pub model: PathBuf,
    /// A text to embed (repeat the flag for several texts).
    #[arg(long, value_name = "TEXT")]
    pub text: Vec<String>,
    /// A CSV (or .csv.gz) whose `--text-column` is embedded.
    #[arg(long, value_parser = crate::path_arg, conflicts_with = "text", requires = "text_column")]
    pub data: Option<PathBuf>,
    /// The column of `--data` holding the texts.
    #[arg(long, value_name = "COLUMN", requires = "data")]
    pub text_column: Option<String>,
    /// Cut texts longer than the model's limit (its max_position_embeddings tokens, the
    /// first tokens kept) instead of failing on them.
    #[arg(long)]
    pub truncate: bool,
    /// Print one JSON object (`dim`, `normalized`, `embeddings` as rows) instead of CSV
    /// (one row per text: `row,e0,e1,…`).
    #[arg(long)]
    pub json: bool,
}

/// Runs `glassbox embed`.
pub fn run(a: EmbedArgs) -> CliResult<()> {
    let model = open_model(&a.model)?;
    let embedder = model.text_embedder().map_err(|e| wrong_kind(&model, e))?;
    let texts: Vec<String> = match (&a.data, &a.text_column) {
        (Some(data), Some(col)) => string_column(&read_table(data)?, col, "--text-column")?,
        _ if a.text.is_empty() => {
            return Err(usage(
                "give the texts to embed with '--text' (repeatable) or \
                 '--data FILE --text-column COLUMN'",
            ))
        }
        _ => a.text.clone(),
    };
    let long = if a.truncate {
        LongInputs::Truncate
    } else {
        LongInputs::Error
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let e = embedder.embed(&refs, long).map_err(text_error)?;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let io = |e: std::io::Error| failure(format!("writing to stdout: {e}"));
    if a.json {
        let rows: Vec<Vec<f32>> = e.rows().into_iter().map(|r| r.to_vec()).collect();
        let v = json!({
            "model": a.model.display().to_string(),
            "dim": embedder.dim(),
            "normalized": embedder.sentence_embedder().normalize,
            "pooling": format!("{:?}", embedder.sentence_embedder().pooling).to_lowercase(),
            "embeddings": rows,
        });
        writeln!(w, "{}", serde_json::to_string(&v).expect("json")).map_err(io)?;
    } else {
        let header: Vec<String> = (0..embedder.dim()).map(|j| format!("e{j}")).collect();
        writeln!(w, "row,{}", header.join(",")).map_err(io)?;
        for (i, row) in e.rows().into_iter().enumerate() {
            let values: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            writeln!(w, "{i},{}", values.join(",")).map_err(io)?;
        }
    }
    w.flush().map_err(io)
}
