//! Hugging Face text models served over the Open Inference Protocol: a
//! `BertForSequenceClassification` directory as [`TextClassifierModel`] (`/infer` on
//! `BYTES` texts → probabilities, class, label; `/explain` with `lig` or `occlusion`) and a
//! `GPT2LMHeadModel` directory as [`TextGeneratorModel`] (`/generate`,
//! `/generate_stream`, `/infer` as a greedy continuation, `/explain` of the next token).
//! [`load_text_model`] picks one from the directory's `config.json`; the bundle loader
//! ([`crate::serve::BundleLoader`]) calls it for Hugging Face directories, so
//! `glassbox serve` and model repositories serve them beside bundles.
//!
//! Each model holds its network twice, once for inference and once for explanation
//! (parameters frozen out of the graph): a served tiny model costs a few MB either way.

use std::path::Path;
use std::sync::Arc;

use glassbox_hf::{Decoding, GenerateOptions, HfError, StopReason};
use glassbox_serve::{
    Datatype, ExplainParams, Explanation, GenerateOutput, GenerateRequest, ModelMetadata,
    OutputTensor, Prediction, ServableModel, ServeError, TensorSpec, TextAttribution, TextOptions,
};
use ndarray::{Array1, ArrayD};

use crate::error::Error;
use crate::explain_text::TextExplainer;
use crate::source::{HfArchitecture, ModelSource, TextGenerator};
use crate::text::{LongInputs, TextClassifier};
use crate::Predictions;

#[path = "serve_text_explain.rs"]
mod explain;

/// Tokens `/infer` adds to each text of a [`TextGeneratorModel`] (greedy).
pub const INFER_NEW_TOKENS: usize = 16;

/// The methods `/explain` offers on text models.
pub const TEXT_EXPLAIN_METHODS: [&str; 2] = ["lig", "occlusion"];

fn load_err(dir: &Path, e: impl std::fmt::Display) -> ServeError {
    ServeError::Load {
        path: dir.display().to_string(),
        reason: e.to_string(),
    }
}

/// Maps a text model's error: over-long input names the input and the limit (400), bad
/// input is a 400, anything else a 500 naming the model.
fn text_err(model: &str, input: &str, e: Error) -> ServeError {
    match e {
        Error::Hf(HfError::InputTooLong { length, limit, .. }) => ServeError::Shape {
            input: input.to_string(),
            reason: format!(
                "a text of {length} tokens is longer than the model's limit of {limit} tokens; \
                 set request parameter 'truncation': true to cut long texts"
            ),
        },
        Error::Hf(HfError::InvalidInput { what, reason }) => {
            ServeError::InvalidRequest(format!("{what} {reason}"))
        }
        Error::Input(reason) => ServeError::InvalidRequest(format!("input '{input}': {reason}")),
        Error::Explain(e @ glassbox_explain::ExplainError::TooLarge { .. }) => {
            ServeError::Explain(e.to_string())
        }
        other => ServeError::Model {
            model: model.to_string(),
            reason: other.to_string(),
        },
    }
}

/// A `BertForSequenceClassification` directory served on texts.
#[derive(Debug)]
pub struct TextClassifierModel {
    name: String,
    classifier: TextClassifier,
    explainer: TextExplainer,
}

/// Name of a text classifier's input.
pub const TEXT_INPUT: &str = "text";

impl TextClassifierModel {
    /// Loads the directory; errors are [`ServeError::Load`] naming it.
    pub fn load(dir: &Path) -> Result<Self, ServeError> {
        let classifier = TextClassifier::load(dir).map_err(|e| load_err(dir, e))?;
        let explainer = TextExplainer::from_dir(dir).map_err(|e| load_err(dir, e))?;
        Ok(TextClassifierModel {
            name: dir_name(dir),
            classifier,
            explainer,
        })
    }

    /// The classifier.
    pub fn classifier(&self) -> &TextClassifier {
        &self.classifier
    }
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

impl ServableModel for TextClassifierModel {
    fn metadata(&self) -> ModelMetadata {
        let n = self.classifier.labels().len();
        let outputs = vec![
            TensorSpec::batched(
                glassbox_serve::model::OUTPUT_PROBABILITIES,
                Datatype::Fp32,
                &[n],
            ),
            TensorSpec::batched(glassbox_serve::model::OUTPUT_CLASS, Datatype::Int64, &[]),
            TensorSpec::batched(glassbox_serve::model::OUTPUT_LABEL, Datatype::Bytes, &[]),
        ];
        ModelMetadata::text(TEXT_INPUT, outputs, &TEXT_EXPLAIN_METHODS)
    }

    fn predict(&self, _: ArrayD<f32>) -> Result<Prediction, ServeError> {
        Err(ServeError::Datatype {
            input: TEXT_INPUT.into(),
            reason: "this model takes BYTES texts".into(),
        })
    }

    fn explain(&self, _: ArrayD<f32>, _: &ExplainParams) -> Result<Explanation, ServeError> {
        Err(ServeError::Datatype {
            input: TEXT_INPUT.into(),
            reason: "this model explains BYTES texts".into(),
        })
    }

    fn predict_text(
        &self,
        texts: Vec<String>,
        options: &TextOptions,
    ) -> Result<Prediction, ServeError> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let long = if options.truncate {
            LongInputs::Truncate
        } else {
            LongInputs::Error
        };
        match self.classifier.classify(&refs, long) {
            Ok(Predictions::Classes { probabilities, .. }) => Ok(Prediction::classification(
                probabilities,
                self.classifier.labels(),
            )),
            Ok(Predictions::Values(_)) => Err(ServeError::Model {
                model: self.name.clone(),
                reason: "a text classifier returned regression values".into(),
            }),
            Err(e) => Err(text_err(&self.name, &options.input, e)),
        }
    }

    fn check_explain(&self, params: &ExplainParams) -> Result<(), ServeError> {
        explain::check(params)
    }

    fn explain_text(
        &self,
        texts: Vec<String>,
        options: &TextOptions,
        params: &ExplainParams,
    ) -> Result<Vec<TextAttribution>, ServeError> {
        explain::explain_texts(&self.name, &self.explainer, &texts, options, params)
    }
}

/// A `GPT2LMHeadModel` directory served for generation.
#[derive(Debug)]
pub struct TextGeneratorModel {
    name: String,
    generator: TextGenerator,
    explainer: TextExplainer,
}

/// Name of a generator's input (as Triton's LLM models name it).
pub const GENERATOR_INPUT: &str = "text_input";
/// Name of a generator's `/infer` output.
pub const GENERATOR_OUTPUT: &str = "text_output";

impl TextGeneratorModel {
    /// Loads the directory; errors are [`ServeError::Load`] naming it.
    pub fn load(dir: &Path) -> Result<Self, ServeError> {
        let generator = TextGenerator::from_dir(dir).map_err(|e| load_err(dir, e))?;
        let explainer = TextExplainer::from_dir(dir).map_err(|e| load_err(dir, e))?;
        Ok(TextGeneratorModel {
            name: dir_name(dir),
            generator,
            explainer,
        })
    }

    /// The generator.
    pub fn generator(&self) -> &TextGenerator {
        &self.generator
    }

    /// The options a generate request maps to: greedy unless `temperature` > 0, the
    /// end-of-text id as a stop id, the request's stop strings.
    pub fn options(&self, r: &GenerateRequest) -> GenerateOptions {
        let decoding = match r.temperature {
            Some(temperature) => Decoding::Sample {
                temperature,
                top_k: r.top_k,
                top_p: r.top_p,
                seed: r.seed,
            },
            None => Decoding::Greedy,
        };
        GenerateOptions {
            max_new_tokens: r.max_new_tokens,
            decoding,
            stop_ids: self.generator.eos_id().into_iter().collect(),
            stop_strings: r.stop.clone(),
            use_cache: true,
        }
    }
}

impl ServableModel for TextGeneratorModel {
    fn metadata(&self) -> ModelMetadata {
        let outputs = vec![TensorSpec::batched(GENERATOR_OUTPUT, Datatype::Bytes, &[])];
        ModelMetadata::text(GENERATOR_INPUT, outputs, &TEXT_EXPLAIN_METHODS)
    }

    fn predict(&self, _: ArrayD<f32>) -> Result<Prediction, ServeError> {
        Err(ServeError::Datatype {
            input: GENERATOR_INPUT.into(),
            reason: "this model takes BYTES texts".into(),
        })
    }

    fn explain(&self, _: ArrayD<f32>, _: &ExplainParams) -> Result<Explanation, ServeError> {
        Err(ServeError::Datatype {
            input: GENERATOR_INPUT.into(),
            reason: "this model explains BYTES texts".into(),
        })
    }

    /// Each text's greedy continuation of [`INFER_NEW_TOKENS`] tokens (ending at the
    /// end-of-text token); `/generate` takes the options.
    fn predict_text(
        &self,
        texts: Vec<String>,
        options: &TextOptions,
    ) -> Result<Prediction, ServeError> {
        let req = GenerateRequest {
            text_input: String::new(),
            max_new_tokens: INFER_NEW_TOKENS,
            temperature: None,
            top_k: None,
            top_p: None,
            seed: 0,
            stop: Vec::new(),
            cancel: Default::default(),
        };
        let opts = self.options(&req);
        let out = texts
            .iter()
            .map(|t| {
                self.generator
                    .generate(t, &opts)
                    .map(|g| self.final_text(&g.ids, Some(g.text), &g.stop))
                    .map_err(|e| text_err(&self.name, &options.input, e))?
            })
            .collect::<Result<Vec<String>, ServeError>>()?;
        Ok(Prediction {
            outputs: vec![(
                GENERATOR_OUTPUT.to_string(),
                OutputTensor::Bytes(Array1::from(out).into_dyn()),
            )],
        })
    }

    fn check_explain(&self, params: &ExplainParams) -> Result<(), ServeError> {
        explain::check(params)
    }

    fn explain_text(
        &self,
        texts: Vec<String>,
        options: &TextOptions,
        params: &ExplainParams,
    ) -> Result<Vec<TextAttribution>, ServeError> {
        explain::explain_texts(&self.name, &self.explainer, &texts, options, params)
    }

    fn can_generate(&self) -> bool {
        true
    }

    fn generate(
        &self,
        request: &GenerateRequest,
        on_text: &mut dyn FnMut(&str) -> Result<(), ServeError>,
    ) -> Result<GenerateOutput, ServeError> {
        let opts = self.options(request);
        let tok = self.generator.tokenizer();
        let prompt = tok
            .encode(&request.text_input, true)
            .map_err(|e| text_err(&self.name, "text_input", e.into()))?
            .ids;
        if prompt.is_empty() {
            return Err(ServeError::InvalidRequest(
                "'text_input' is empty (no tokens to continue)".into(),
            ));
        }
        let eos = self.generator.eos_id();
        let mut stopped_by: Option<ServeError> = None;
        let g = self
            .generator
            .model()
            .generate_with(&prompt, &opts, Some(tok), &mut |id, text| {
                if Some(id) == eos {
                    return Ok(()); // generation ends here; the final text leaves it out
                }
                on_text(text).map_err(|e| {
                    stopped_by = Some(e);
                    HfError::InvalidInput {
                        what: "generation".into(),
                        reason: "was stopped by the server".into(),
                    }
                })
            });
        if let Some(e) = stopped_by {
            return Err(e);
        }
        let g = g.map_err(|e| text_err(&self.name, "text_input", e.into()))?;
        let finish_reason = match &g.stop {
            StopReason::MaxNewTokens => "length",
            StopReason::StopId(_) => "eos",
            StopReason::StopString(_) => "stop",
        };
        Ok(GenerateOutput {
            tokens: g.ids.len(),
            finish_reason: finish_reason.to_string(),
            text: self.final_text(&g.ids, g.text, &g.stop)?,
        })
    }
}

impl TextGeneratorModel {
    /// The new text without a final end-of-text token.
    fn final_text(
        &self,
        ids: &[u32],
        text: Option<String>,
        stop: &StopReason,
    ) -> Result<String, ServeError> {
        match stop {
            StopReason::StopId(_) => self
                .generator
                .tokenizer()
                .decode(&ids[..ids.len().saturating_sub(1)], false)
                .map_err(|e| ServeError::Model {
                    model: self.name.clone(),
                    reason: e.to_string(),
                }),
            _ => Ok(text.unwrap_or_default()),
        }
    }
}

/// Loads a Hugging Face directory as a servable model: a `BertForSequenceClassification`
/// as [`TextClassifierModel`], a `GPT2LMHeadModel` as [`TextGeneratorModel`]; other kinds
/// are a [`ServeError::Load`] naming the directory and the kind.
pub fn load_text_model(dir: &Path) -> Result<Arc<dyn ServableModel>, ServeError> {
    match ModelSource::detect(dir).map_err(|e| load_err(dir, e))? {
        ModelSource::HuggingFace {
            architecture: HfArchitecture::BertForSequenceClassification,
            ..
        } => Ok(Arc::new(TextClassifierModel::load(dir)?)),
        ModelSource::HuggingFace {
            architecture: HfArchitecture::Gpt2LmHeadModel,
            ..
        } => Ok(Arc::new(TextGeneratorModel::load(dir)?)),
        other => Err(load_err(
            dir,
            format!(
                "a {} cannot be served (text classifiers and GPT-2 language models can)",
                other.kind()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_serve::Cancel;

    #[test]
    fn the_loader_serves_hugging_face_directories_by_kind() {
        let bert = glassbox_testkit::reference_path("transformers/bert_tiny");
        let gpt = glassbox_testkit::reference_path("transformers/gpt2_tiny");
        let loader = crate::serve::BundleLoader;
        use glassbox_serve::ModelLoader;
        let m = loader.load(&bert).unwrap();
        assert!(m.metadata().takes_text() && !m.can_generate());
        assert_eq!(m.metadata().outputs.len(), 3);
        let g = loader.load(&gpt).unwrap();
        assert!(g.can_generate());
        assert_eq!(g.metadata().inputs[0].name, GENERATOR_INPUT);
        let missing = bert.join("nope");
        let e = load_text_model(&missing).unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");
    }

    #[test]
    fn generate_requests_map_to_greedy_or_seeded_sampling() {
        let gpt = glassbox_testkit::reference_path("transformers/gpt2_tiny");
        let m = TextGeneratorModel::load(&gpt).unwrap();
        let mut r = GenerateRequest {
            text_input: "Hi".into(),
            max_new_tokens: 3,
            temperature: None,
            top_k: None,
            top_p: None,
            seed: 5,
            stop: vec!["x".into()],
            cancel: Cancel::default(),
        };
        let o = m.options(&r);
        assert_eq!(o.decoding, Decoding::Greedy);
        assert_eq!(
            o.stop_ids,
            m.generator().eos_id().into_iter().collect::<Vec<_>>()
        );
        assert_eq!(o.stop_strings, vec!["x".to_string()]);
        r.temperature = Some(0.5);
        r.top_p = Some(0.9);
        assert_eq!(
            m.options(&r).decoding,
            Decoding::Sample {
                temperature: 0.5,
                top_k: None,
                top_p: Some(0.9),
                seed: 5
            }
        );
    }
}
