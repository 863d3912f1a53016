//! `glassbox predict`: predictions of a bundle for a data file, as CSV on stdout.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use glassbox::{to_f32, Predictions};

use crate::error::{stdout_error, CliResult};
use crate::evaluate::load_model;
use crate::input::prepare;

/// Flags of `glassbox predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model bundle.
    #[arg(long, value_parser = crate::path_arg)]
    pub model: PathBuf,
    /// Data file (CSV or IDX images); a target column, if present, is ignored.
    #[arg(long, value_parser = crate::path_arg)]
    pub data: PathBuf,
    /// Also print one probability column per class.
    #[arg(long)]
    pub proba: bool,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Runs `glassbox predict`.
pub fn run(a: PredictArgs) -> CliResult<()> {
    let model = load_model(&a.model)?;
    let x = prepare(model.bundle(), &a.data)?.x;
    let predictions = model.predict(&to_f32(x.view()))?;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let io = stdout_error;
    match predictions {
        Predictions::Classes {
            labels,
            probabilities,
            ..
        } => {
            let mut header = vec!["row".to_string(), "prediction".to_string()];
            if a.proba {
                header.extend(
                    model
                        .classes()
                        .iter()
                        .map(|c| csv_field(&format!("proba_{c}"))),
                );
            }
            writeln!(w, "{}", header.join(",")).map_err(io)?;
            for (i, label) in labels.iter().enumerate() {
                let mut line = format!("{i},{}", csv_field(label));
                if a.proba {
                    for v in probabilities.row(i) {
                        line += &format!(",{v:.6}");
                    }
                }
                writeln!(w, "{line}").map_err(io)?;
            }
        }
        Predictions::Values(values) => {
            writeln!(w, "row,prediction").map_err(io)?;
            for (i, v) in values.iter().enumerate() {
                writeln!(w, "{i},{v}").map_err(io)?;
            }
        }
    }
    w.flush().map_err(io)
}
