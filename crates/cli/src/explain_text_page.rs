//! `glassbox explain --text "…" --out FILE.html`: the report's text page for one text,
//! every applicable method side by side (method switcher) and the faithfulness table
//! (measured on this text, or read from `--faithfulness FILE`).

use std::path::{Path, PathBuf};

use glassbox::explain_text::{report_faithfulness, TextExplainer, TextMethod, TextTask};
use glassbox::report::{FaithfulnessTable, Report, TextExplanations};

use crate::error::{failure, usage, CliResult};
use crate::explain::ExplainArgs;
use crate::explain_text::method_options;

/// Writes the page for `text` to `out` (a `.html` file, or `explanation.html` inside a
/// directory) and returns the path written.
pub fn write_page(
    explainer: &TextExplainer,
    text: &str,
    a: &ExplainArgs,
    out: &Path,
) -> CliResult<PathBuf> {
    let options = method_options(a)?;
    let sample = explainer
        .report_sample(text, &options)
        .map_err(crate::explain_text::target_error)?;
    let granularity = if a.words.is_some() { "words" } else { "tokens" };
    let faithfulness = match (&a.faithfulness, explainer.task()) {
        (Some(file), _) => Some(read_table(file)?),
        (None, TextTask::Classification) => {
            let methods: Vec<TextMethod> = TextMethod::ALL.to_vec();
            let rows = explainer.faithfulness(
                &[text],
                &methods,
                true,
                &options.lig.config,
                &options.perturb,
            )?;
            Some(report_faithfulness(
                &rows,
                Some(format!(
                    "Measured on this one text ({granularity} removed by deletion; random: mean \
                     of {} seeded rankings). A table over many texts: --faithfulness FILE.",
                    options.perturb.random_draws
                )),
            ))
        }
        (None, TextTask::NextToken) => None,
    };
    let report = Report {
        title: "Text explanation".into(),
        subtitle: Some(format!(
            "`glassbox explain --model {} --text …` ({granularity})",
            a.model.display()
        )),
        text_explanations: Some(TextExplanations {
            samples: vec![sample],
            note: Some(format!(
                "Model {}. LIG: {} Gauss–Legendre points on the embeddings against [PAD] \
                 (special tokens kept); occlusion, Kernel SHAP ({} coalitions) and LIME ({} \
                 samples) delete {granularity}; rollout of [CLS] (BERT only).",
                a.model.display(),
                a.steps.unwrap_or(50),
                options.perturb.shap_samples,
                options.perturb.lime_samples
            )),
        }),
        faithfulness,
        ..Default::default()
    };
    let path = if out.extension().is_some_and(|e| e == "html") {
        out.to_path_buf()
    } else {
        out.join("explanation.html")
    };
    Ok(report.write_html(&path)?)
}

/// A faithfulness table written by the `text_faithfulness` example (`{"rows": [...]}`).
fn read_table(file: &Path) -> CliResult<FaithfulnessTable> {
    let bytes = std::fs::read(file).map_err(|e| {
        failure(format!(
            "{}: cannot read the faithfulness table: {e}",
            file.display()
        ))
    })?;
    let t: FaithfulnessTable = serde_json::from_slice(&bytes).map_err(|e| {
        usage(format!(
            "invalid value '{}' for '--faithfulness': not a faithfulness table ({{\"rows\": \
             [{{\"method\", \"comprehensiveness\", …}}]}}): {e}",
            file.display()
        ))
    })?;
    if t.rows.is_empty() {
        return Err(usage(format!(
            "invalid value '{}' for '--faithfulness': the table has no rows",
            file.display()
        )));
    }
    Ok(t)
}
