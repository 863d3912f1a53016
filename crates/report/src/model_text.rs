//! The report's text page data: token attributions of texts by several methods (shown with
//! a method switcher) and a faithfulness table of the methods.

use serde::{Deserialize, Serialize};

use crate::error::ReportError;

/// Texts explained token by token, each by several methods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextExplanations {
    /// The explained texts.
    pub samples: Vec<TextSample>,
    /// One line under the section title (model, baseline, settings).
    pub note: Option<String>,
}

/// One text and its attributions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextSample {
    /// The text, as explained (offsets index its characters).
    pub text: String,
    /// What was explained, e.g. `class 'spam' (p = 0.97)`.
    pub target: String,
    /// One attribution per method; the first is shown first.
    pub methods: Vec<TextAttribution>,
}

/// One method's token scores of a text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextAttribution {
    /// Method name shown on the switcher (`lig`, `occlusion`, …).
    pub method: String,
    /// `gradient`, `perturbation` or `attention` (the switcher groups by it).
    pub family: String,
    /// Every token, special tokens included, in order.
    pub tokens: Vec<TokenScore>,
    /// The method's own check (`convergence_delta`, `efficiency_gap`), if it has one.
    pub delta: Option<NamedValue>,
    /// Seconds the method took.
    pub seconds: Option<f64>,
}

/// A named number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedValue {
    /// Name.
    pub name: String,
    /// Value.
    pub value: f64,
}

/// A token, its character span in the text and its score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenScore {
    /// The token as the tokenizer writes it (`[CLS]`, `##ing`, `Ġworld`).
    pub token: String,
    /// First character (for special tokens: ignored).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// A special token (`[CLS]`, `[SEP]`), shown apart from the text.
    pub special: bool,
    /// Attribution score.
    pub score: f64,
}

/// Faithfulness of each method (ERASER AOPC and deletion/insertion curves), with a
/// random-ranking row as the baseline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaithfulnessTable {
    /// One row per method (means over the texts).
    pub rows: Vec<FaithfulnessEntry>,
    /// How the numbers were obtained (data, model, removal, bins).
    pub note: Option<String>,
}

/// One method's faithfulness (the field names of `glassbox`'s `FaithfulnessRow`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaithfulnessEntry {
    /// Method name (`random` marks the baseline).
    pub method: String,
    /// AOPC comprehensiveness (higher is better).
    pub comprehensiveness: f64,
    /// AOPC sufficiency (lower is better).
    pub sufficiency: f64,
    /// Deletion-curve area (lower is better).
    pub deletion_auc: f64,
    /// Insertion-curve area (higher is better).
    pub insertion_auc: f64,
    /// Texts measured.
    pub texts: usize,
    /// Mean seconds of one explanation.
    pub seconds_per_text: Option<f64>,
}

impl TextExplanations {
    /// Every score finite and every non-special token's span inside its text.
    pub(crate) fn validate(&self) -> Result<(), ReportError> {
        for (i, s) in self.samples.iter().enumerate() {
            let n = s.text.chars().count();
            for (k, m) in s.methods.iter().enumerate() {
                let section = format!("text explanations[{i}].methods[{k}] ({})", m.method);
                for (t, tok) in m.tokens.iter().enumerate() {
                    if !tok.score.is_finite() {
                        return Err(ReportError::invalid(
                            &section,
                            &format!("tokens[{t}].score"),
                            "not finite",
                        ));
                    }
                    if !tok.special && (tok.start > tok.end || tok.end > n) {
                        return Err(ReportError::invalid(
                            &section,
                            &format!("tokens[{t}]"),
                            format!(
                                "span {}..{} is outside a text of {n} characters",
                                tok.start, tok.end
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
