//! `glassbox predict`: predictions of a bundle for a data file, or of a Hugging Face text
//! classifier for `--text` strings or a CSV's `--text-column`; CSV (or `--json`) on stdout.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use glassbox::{to_f32, LoadedModel, LongInputs, Predictions};
use serde_json::{json, Value};

use crate::error::{stdout_error, usage, CliResult};
use crate::input::prepare;
use crate::models::{open_model, read_table, string_column, text_error, wrong_kind};

/// Flags of `glassbox predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model: a bundle file, or a Hugging Face directory holding a text classifier
    /// (`BertForSequenceClassification`: config.json, model.safetensors, tokenizer.json).
    #[arg(long, value_parser = crate::path_arg)]
    pub model: PathBuf,
    /// Data file (CSV or IDX images; a target column, if present, is ignored). For a text
    /// model: a CSV (or .csv.gz) whose `--text-column` is classified.
    #[arg(long, value_parser = crate::path_arg, conflicts_with = "text")]
    pub data: Option<PathBuf>,
    /// A text to classify (text models; repeat the flag for several texts).
    #[arg(long, value_name = "TEXT")]
    pub text: Vec<String>,
    /// The column of `--data` holding the texts (text models).
    #[arg(long, value_name = "COLUMN", requires = "data")]
    pub text_column: Option<String>,
    /// Cut texts longer than the model's limit (its max_position_embeddings tokens, the
    /// first tokens kept) instead of failing on them.
    #[arg(long)]
    pub truncate: bool,
    /// Also print one probability column per class.
    #[arg(long)]
    pub proba: bool,
    /// Print one JSON object (classes, and per row the label, class index and
    /// probabilities) instead of CSV.
    #[arg(long)]
    pub json: bool,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Runs `glassbox predict`.
pub fn run(a: PredictArgs) -> CliResult<()> {
    let model = open_model(&a.model)?;
    let (predictions, classes, texts) = match model.loaded() {
        LoadedModel::Bundle(m) => {
            if !a.text.is_empty() || a.text_column.is_some() || a.truncate {
                let flag = if a.text.is_empty() {
                    if a.truncate {
                        "--truncate"
                    } else {
                        "--text-column"
                    }
                } else {
                    "--text"
                };
                return Err(usage(format!(
                    "'{flag}' needs a text model (a Hugging Face directory); {} is a glassbox \
                     bundle: give its data with '--data'",
                    a.model.display()
                )));
            }
            let data = a.data.as_ref().ok_or_else(|| {
                usage("the following required argument was not provided: '--data <DATA>'")
            })?;
            let x = prepare(m.bundle(), data)?.x;
            (m.predict(&to_f32(x.view()))?, m.classes().to_vec(), None)
        }
        LoadedModel::TextClassifier(clf) => {
            let texts: Vec<String> = match (&a.data, &a.text_column) {
                (Some(data), Some(col)) => string_column(&read_table(data)?, col, "--text-column")?,
                (Some(_), None) => {
                    return Err(usage(format!(
                        "'--text-column' is required with '--data': {} is a text model \
                         ({})",
                        a.model.display(),
                        model.kind()
                    )))
                }
                (None, _) if a.text.is_empty() => {
                    return Err(usage(
                        "give the texts to classify with '--text' (repeatable) or \
                         '--data FILE --text-column COLUMN'",
                    ))
                }
                (None, _) => a.text.clone(),
            };
            let long = if a.truncate {
                LongInputs::Truncate
            } else {
                LongInputs::Error
            };
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let p = clf.classify(&refs, long).map_err(text_error)?;
            let texts = a.data.is_none().then_some(texts);
            (p, clf.labels().to_vec(), texts)
        }
        _ => {
            let e = model.text_classifier().expect_err("not a classifier");
            return Err(wrong_kind(&model, e));
        }
    };
    if a.json {
        let v = predictions_json(&predictions, &classes, texts.as_deref());
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        return Ok(());
    }
    write_csv(&predictions, &classes, a.proba)
}

/// The JSON form of `p`: the classes and one object per row (with its text when given).
fn predictions_json(p: &Predictions, classes: &[String], texts: Option<&[String]>) -> Value {
    let rows: Vec<Value> = match p {
        Predictions::Classes {
            indices,
            labels,
            probabilities,
        } => (0..indices.len())
            .map(|i| {
                let mut row = json!({
                    "row": i,
                    "label": labels[i],
                    "class": indices[i],
                    "probabilities": probabilities.row(i).to_vec(),
                });
                if let Some(t) = texts {
                    row["text"] = json!(t[i]);
                }
                row
            })
            .collect(),
        Predictions::Values(values) => values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"row": i, "value": v}))
            .collect(),
    };
    json!({"classes": classes, "predictions": rows})
}

/// `row,prediction[,proba_<class>…]` lines on stdout.
fn write_csv(predictions: &Predictions, classes: &[String], proba: bool) -> CliResult<()> {
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
            if proba {
                header.extend(classes.iter().map(|c| csv_field(&format!("proba_{c}"))));
            }
            writeln!(w, "{}", header.join(",")).map_err(io)?;
            for (i, label) in labels.iter().enumerate() {
                let mut line = format!("{i},{}", csv_field(label));
                if proba {
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
