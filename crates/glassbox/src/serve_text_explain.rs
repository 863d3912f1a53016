//! `/explain` on served text models: Layer Integrated Gradients (`lig`, Gauss–Legendre
//! with `n_steps` points, default 50, at most the server's `--explain-max-evaluations`)
//! and leave-one-out occlusion (`occlusion`, each non-special token replaced by the
//! baseline token), one [`TextAttribution`] per text, stopped at the request's deadline.

use glassbox_explain::gradient::Approximation;
use glassbox_explain::text::{
    text_occlusion, LigRule, Removal, TextBudget, TextLigConfig, TextOcclusionConfig,
    TokenPredictor,
};
use glassbox_explain::StopCheck;
use glassbox_hf::{Encoding, GenerateOptions};
use glassbox_serve::{ExplainParams, ServeError, Target, TextAttribution, TextOptions};

use super::text_err;
use crate::error::Error;
use crate::explain_text::{
    text_features, BertPredictor, Gpt2NextToken, Granularity, TextExplainer, TextLigOptions,
    TextNetwork,
};

/// Gauss–Legendre points of `lig` when the request does not set `n_steps` (Captum's
/// default).
pub const LIG_DEFAULT_STEPS: usize = 50;

/// Validates the method's options before the server admits the request.
pub(super) fn check(params: &ExplainParams) -> Result<(), ServeError> {
    match params.method.as_str() {
        "lig" => {
            params.check_option_names(&["n_steps"])?;
            let steps = params.usize_option("n_steps", LIG_DEFAULT_STEPS)?;
            params.limits.check_evaluations("n_steps", steps)?;
            Ok(())
        }
        "occlusion" => params.check_option_names(&[]),
        other => Err(ServeError::Explain(format!(
            "unknown method '{other}'; text models support lig, occlusion"
        ))),
    }
}

fn n_outputs(e: &TextExplainer) -> usize {
    match &e.network {
        TextNetwork::Classifier { labels, .. } => labels.len(),
        TextNetwork::NextToken { model, .. } => model.config.vocab_size,
    }
}

/// Explains each text in turn, asking the deadline between texts.
pub(super) fn explain_texts(
    name: &str,
    explainer: &TextExplainer,
    texts: &[String],
    options: &TextOptions,
    params: &ExplainParams,
) -> Result<Vec<TextAttribution>, ServeError> {
    check(params)?;
    if options.truncate {
        return Err(ServeError::InvalidRequest(
            "parameter 'truncation' does not apply to /explain: an explanation covers the \
             whole text, so send texts within the model's limit"
                .into(),
        ));
    }
    let n = n_outputs(explainer);
    let targets: Vec<Option<usize>> = match &params.target {
        Target::Predicted => vec![None; texts.len()],
        Target::Class(c) => vec![Some(*c); texts.len()],
        Target::PerRow(v) if v.len() == texts.len() => v.iter().map(|&c| Some(c)).collect(),
        Target::PerRow(v) => {
            return Err(ServeError::Explain(format!(
                "parameter 'target' lists {} targets for {} texts",
                v.len(),
                texts.len()
            )))
        }
    };
    if let Some(bad) = targets.iter().flatten().find(|&&c| c >= n) {
        return Err(ServeError::Explain(format!(
            "parameter 'target' = {bad} is out of range for the model's {n} outputs"
        )));
    }
    let cancel = params.cancel.clone();
    let stop = StopCheck::new(move || cancel.is_cancelled());
    let fail = |e: Error| {
        if params.cancel.is_cancelled() {
            params.cancel.error()
        } else {
            text_err(name, &options.input, e)
        }
    };
    texts
        .iter()
        .zip(targets)
        .map(|(text, target)| {
            params.cancel.check()?;
            match params.method.as_str() {
                "lig" => lig(explainer, text, target, params, stop.clone()).map_err(fail),
                _ => occlusion(explainer, text, target, params, stop.clone()).map_err(fail),
            }
        })
        .collect()
}

fn tokens_of(explainer: &TextExplainer, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&id| explainer.tokenizer().id_to_token(id).unwrap_or_default())
        .collect()
}

fn lig(
    explainer: &TextExplainer,
    text: &str,
    target: Option<usize>,
    params: &ExplainParams,
    stop: StopCheck,
) -> Result<TextAttribution, Error> {
    let steps = params
        .usize_option("n_steps", LIG_DEFAULT_STEPS)
        .map_err(|e| Error::Input(e.to_string()))?;
    let options = TextLigOptions {
        config: TextLigConfig {
            rule: LigRule::Fixed {
                steps,
                method: Approximation::GaussLegendre,
            },
            stop,
            ..TextLigConfig::default()
        },
        target,
        words: None,
    };
    let e = explainer.lig(text, &options)?;
    Ok(TextAttribution {
        method: "lig".into(),
        baseline: tokens_of(explainer, &e.baseline_ids),
        delta: Some(e.convergence_delta()),
        evaluations: e.lig.evaluations,
        tokens: e.tokens,
        offsets: e.offsets,
        scores: e.scores,
        target: e.target,
        target_label: e.target_label,
    })
}

/// The model's own choice for a text: the most probable class, or the greedy next token.
fn predicted(explainer: &TextExplainer, enc: &Encoding) -> Result<usize, Error> {
    match &explainer.network {
        TextNetwork::Classifier { model, .. } => {
            let pad_id = model.bert.config.pad_token_id as u32;
            let p = BertPredictor { model, pad_id }
                .predict_ids(std::slice::from_ref(&enc.ids))
                .map_err(|e| Error::Input(e.to_string()))?;
            let row = p.row(0);
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            Ok(best)
        }
        TextNetwork::NextToken { model, .. } => {
            let opts = GenerateOptions {
                max_new_tokens: 1,
                ..GenerateOptions::default()
            };
            Ok(model.generate(&enc.ids, &opts, None)?.ids[0] as usize)
        }
    }
}

fn occlusion(
    explainer: &TextExplainer,
    text: &str,
    target: Option<usize>,
    params: &ExplainParams,
    stop: StopCheck,
) -> Result<TextAttribution, Error> {
    let enc = explainer.encode(text)?;
    let baseline_ids = explainer.baseline_ids(&enc);
    let features = text_features(text, &enc, Granularity::Tokens)?;
    let target = match target {
        Some(t) => t,
        None => predicted(explainer, &enc)?,
    };
    let budget = TextBudget {
        stop,
        max_evaluations: params.limits.max_evaluations,
        ..TextBudget::default()
    };
    let attr = match &explainer.network {
        TextNetwork::Classifier { model, .. } => {
            let pad_id = model.bert.config.pad_token_id as u32;
            let cfg = TextOcclusionConfig {
                budget,
                ..TextOcclusionConfig::new(Removal::Replace(pad_id))
            };
            text_occlusion(&BertPredictor { model, pad_id }, &features, target, &cfg)?
        }
        TextNetwork::NextToken { model, baseline_id } => {
            let cfg = TextOcclusionConfig {
                budget,
                ..TextOcclusionConfig::new(Removal::Replace(*baseline_id))
            };
            let p = Gpt2NextToken {
                model,
                pad_id: *baseline_id,
                targets: vec![target as u32],
            };
            text_occlusion(&p, &features, 0, &cfg)?
        }
    };
    Ok(TextAttribution {
        method: "occlusion".into(),
        scores: features.token_scores(&attr.scores)?,
        baseline: tokens_of(explainer, &baseline_ids),
        delta: None,
        evaluations: attr.evaluations,
        target_label: explainer.target_label(target)?,
        target,
        tokens: enc.tokens,
        offsets: enc.offsets,
    })
}
