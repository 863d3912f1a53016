//! Text explanations as the report's text page ([`glassbox_report::TextSample`],
//! [`glassbox_report::FaithfulnessTable`]).

use glassbox_report::{
    FaithfulnessEntry, FaithfulnessTable, NamedValue, TextAttribution, TextSample, TokenScore,
};

use super::faithfulness::FaithfulnessRow;
use super::lig::{TextExplainer, TextTask};
use super::methods::{MethodExplanation, MethodOptions, TextMethod};
use crate::error::Result;

/// One method's explanation as the report's [`TextAttribution`].
pub fn report_attribution(e: &MethodExplanation) -> TextAttribution {
    TextAttribution {
        method: e.method.name().to_string(),
        family: e.method.family().to_string(),
        tokens: (0..e.tokens.len())
            .map(|t| TokenScore {
                token: e.tokens[t].clone(),
                start: e.offsets[t].0,
                end: e.offsets[t].1,
                special: e.special[t],
                score: e.scores[t],
            })
            .collect(),
        delta: e.delta.as_ref().map(|d| NamedValue {
            name: d.name.to_string(),
            value: d.value,
        }),
        seconds: Some(e.seconds),
    }
}

/// Faithfulness rows as the report's table.
pub fn report_faithfulness(rows: &[FaithfulnessRow], note: Option<String>) -> FaithfulnessTable {
    FaithfulnessTable {
        rows: rows
            .iter()
            .map(|r| FaithfulnessEntry {
                method: r.method.clone(),
                comprehensiveness: r.comprehensiveness,
                sufficiency: r.sufficiency,
                deletion_auc: r.deletion_auc,
                insertion_auc: r.insertion_auc,
                texts: r.texts,
                seconds_per_text: (r.method != "random").then_some(r.seconds_per_text),
            })
            .collect(),
        note,
    }
}

impl TextExplainer {
    /// `text` explained by every method that applies to the model ([`TextMethod::ALL`]
    /// in order: LIG, occlusion, Kernel SHAP, LIME, rollout), as the report's sample.
    pub fn report_sample(&self, text: &str, options: &MethodOptions) -> Result<TextSample> {
        let mut methods = Vec::new();
        let mut target = String::new();
        for m in TextMethod::ALL {
            if !m.applies_to(self.task()) {
                continue;
            }
            let e = self.explain_method(text, m, options)?;
            if target.is_empty() {
                target = match e.task {
                    TextTask::Classification => {
                        format!("class '{}' ({})", e.target_label, e.target)
                    }
                    TextTask::NextToken => {
                        format!("next token {:?} (id {})", e.target_label, e.target)
                    }
                };
            }
            methods.push(report_attribution(&e));
        }
        Ok(TextSample {
            text: text.to_string(),
            target,
            methods,
        })
    }
}
