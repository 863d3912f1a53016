//! `glassbox evaluate` for a Hugging Face text classifier: classify a CSV's
//! `--text-column` and score the predictions against its `--target` labels with the same
//! metrics (and report layout) as bundles.

use glassbox::eval::classification_metrics;
use glassbox::{to_f64, AutoModel, LongInputs, Predictions};
use serde_json::Value;

use crate::error::{failure, usage, CliResult};
use crate::evaluate::EvaluateArgs;
use crate::models::{read_table, string_column, text_error, wrong_kind};

/// The metrics report of the text classifier `model` on `a.data`.
pub fn evaluate(model: &AutoModel, a: &EvaluateArgs) -> CliResult<Value> {
    let clf = model.text_classifier().map_err(|e| wrong_kind(model, e))?;
    if a.cv.is_some() {
        return Err(usage(format!(
            "'--cv' retrains the model on each fold, which glassbox does for bundles only; \
             {} is a {}",
            a.model.display(),
            model.kind()
        )));
    }
    let (Some(text_column), Some(target)) = (&a.text_column, &a.target) else {
        let flag = if a.text_column.is_none() {
            "--text-column"
        } else {
            "--target"
        };
        return Err(usage(format!(
            "'{flag}' is required to evaluate a text model ({} is a {})",
            a.model.display(),
            model.kind()
        )));
    };
    let table = read_table(&a.data)?;
    let texts = string_column(&table, text_column, "--text-column")?;
    let truth = string_column(&table, target, "--target")?;
    let classes = clf.labels();
    let labels = truth
        .iter()
        .enumerate()
        .map(|(row, t)| {
            classes.iter().position(|c| c == t).ok_or_else(|| {
                failure(format!(
                    "{}: row {}: label '{t}' of column '{target}' is not one of the model's \
                     classes ({})",
                    a.data.display(),
                    row + 1,
                    classes.join(", ")
                ))
            })
        })
        .collect::<CliResult<Vec<usize>>>()?;
    let long = if a.truncate {
        LongInputs::Truncate
    } else {
        LongInputs::Error
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let Predictions::Classes { probabilities, .. } =
        clf.classify(&refs, long).map_err(text_error)?
    else {
        return Err(failure(
            "a text classifier returned values instead of classes",
        ));
    };
    let m = classification_metrics(&labels, &to_f64(probabilities.view()), classes)?;
    Ok(serde_json::to_value(m).expect("metrics serialise"))
}
