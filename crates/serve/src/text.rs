//! Text models: `BYTES` inputs (JSON strings or Triton's length-prefixed binary
//! elements) decoded to UTF-8 texts, the per-text explanation a text model returns, and the
//! request and result of the generate extension.
//!
//! A model takes text when its one input is declared `BYTES`
//! ([`ModelMetadata::text`]); the server then calls
//! [`ServableModel::predict_text`](crate::ServableModel::predict_text) and
//! [`ServableModel::explain_text`](crate::ServableModel::explain_text) instead of the
//! numeric methods. A model that continues text says so with
//! [`ServableModel::can_generate`](crate::ServableModel::can_generate) and implements
//! [`ServableModel::generate`](crate::ServableModel::generate).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::budget::Cancel;
use crate::error::{Result, ServeError};
use crate::model::{ModelMetadata, TensorSpec};
use crate::protocol::ParsedRequest;
use crate::tensor::Datatype;

/// Request parameter of `/infer` and `/explain` on text models: `true` cuts texts longer
/// than the model's limit instead of refusing them.
pub const PARAM_TRUNCATION: &str = "truncation";

/// How a text model treats one request's texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextOptions {
    /// The input's name (errors name it).
    pub input: String,
    /// Cut texts longer than the model's limit (request parameter `truncation`);
    /// otherwise such a text is a 400 naming the input, the text and the limit.
    pub truncate: bool,
}

/// The attribution of one text, as `/explain` returns it for text models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextAttribution {
    /// The method (`lig`, `occlusion`, …).
    pub method: String,
    /// The tokens as strings.
    pub tokens: Vec<String>,
    /// `(start, end)` character offsets of each token in the text (`(0, 0)` for special
    /// tokens).
    pub offsets: Vec<(usize, usize)>,
    /// One score per token (0 for special tokens a method does not perturb).
    pub scores: Vec<f64>,
    /// The baseline tokens the text was compared with (one per token).
    pub baseline: Vec<String>,
    /// The explained output: class index, or next-token id.
    pub target: usize,
    /// Its name: class name, or the decoded token.
    pub target_label: String,
    /// `Σ scores − (f(x) − f(baseline))` for path methods (Captum's convergence delta);
    /// `None` for methods without a completeness property (occlusion).
    pub delta: Option<f64>,
    /// Model evaluations spent.
    pub evaluations: usize,
}

/// One `/generate` or `/generate_stream` request, checked.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// The prompt (`text_input`).
    pub text_input: String,
    /// Most tokens to add (`max_new_tokens`, default [`GenerateLimits::default_new_tokens`]).
    pub max_new_tokens: usize,
    /// Sampling temperature; `None` (or `0`) is greedy decoding.
    pub temperature: Option<f32>,
    /// Keep the `top_k` most likely tokens when sampling.
    pub top_k: Option<usize>,
    /// Nucleus sampling threshold in (0, 1].
    pub top_p: Option<f32>,
    /// Seed of the draws (default 0): the same seed gives the same text.
    pub seed: u64,
    /// Stop strings: the text ends before the first one generated.
    pub stop: Vec<String>,
    /// Cancelled at the request deadline or when the client goes away.
    pub cancel: Cancel,
}

/// The end of a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOutput {
    /// The whole new text (ending before a stop string).
    pub text: String,
    /// Tokens generated.
    pub tokens: usize,
    /// `length`, `stop` (a stop string) or `eos`.
    pub finish_reason: String,
}

/// Server limits of the generate extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateLimits {
    /// Largest `max_new_tokens` a request may ask for (`--generate-max-new-tokens`).
    pub max_new_tokens: usize,
    /// `max_new_tokens` when a request does not set it.
    pub default_new_tokens: usize,
}

impl Default for GenerateLimits {
    fn default() -> Self {
        GenerateLimits {
            max_new_tokens: 256,
            default_new_tokens: 16,
        }
    }
}

/// The server flag of [`GenerateLimits::max_new_tokens`].
pub const FLAG_MAX_NEW_TOKENS: &str = "--generate-max-new-tokens";

/// The parameters `/generate` accepts.
pub const GENERATE_PARAMETERS: [&str; 6] = [
    "max_new_tokens",
    "temperature",
    "top_k",
    "top_p",
    "seed",
    "stop",
];

impl ModelMetadata {
    /// Metadata of a text model: one `BYTES` input of shape `[-1]` (one text per row;
    /// `[n, 1]` is accepted too), and `outputs`.
    pub fn text(input_name: &str, outputs: Vec<TensorSpec>, explain_methods: &[&str]) -> Self {
        ModelMetadata {
            platform: "glassbox".to_string(),
            inputs: vec![TensorSpec::batched(input_name, Datatype::Bytes, &[])],
            outputs,
            explain_methods: explain_methods.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Whether the model's input is text (`BYTES`).
    pub fn takes_text(&self) -> bool {
        matches!(self.inputs.as_slice(), [one] if one.datatype == Datatype::Bytes)
    }
}

/// Decodes the request's one `BYTES` input into texts: shape `[n]` or `[n, 1]`, elements
/// as JSON strings or as Triton's binary elements (a 4-byte little-endian length, then
/// that many bytes), each valid UTF-8. Errors name the input and the element.
pub fn decode_text_input(parsed: &ParsedRequest, meta: &ModelMetadata) -> Result<Vec<String>> {
    let spec = meta.input()?;
    let input = crate::protocol::single_input(parsed, spec)?;
    let name = &input.name;
    if input.datatype != "BYTES" {
        return Err(ServeError::Datatype {
            input: name.clone(),
            reason: format!("got datatype {}, the model expects BYTES", input.datatype),
        });
    }
    let shape_err = || ServeError::Shape {
        input: name.clone(),
        reason: format!(
            "got shape {:?}; a text input is [n] or [n, 1] with n >= 1",
            input.shape
        ),
    };
    let n = match input.shape.as_slice() {
        [n] | [n, 1] if *n > 0 => *n as usize,
        _ => return Err(shape_err()),
    };
    let binary_size = input
        .parameters
        .as_ref()
        .and_then(|m| m.get("binary_data_size"));
    let texts = match (binary_size, &input.data) {
        (Some(size), _) => {
            let size = size.as_u64().ok_or_else(|| {
                ServeError::InvalidRequest(format!(
                    "parameter 'binary_data_size' of input '{name}' is not a byte count"
                ))
            })? as usize;
            if size != parsed.binary.len() {
                return Err(ServeError::InvalidRequest(format!(
                    "input '{name}' declares binary_data_size {size} but {} binary bytes follow the JSON",
                    parsed.binary.len()
                )));
            }
            binary_strings(name, &parsed.binary, n)?
        }
        (None, Some(data)) => data.to_strings(name)?,
        (None, None) => {
            return Err(ServeError::InvalidRequest(format!(
                "input '{name}' has neither 'data' nor parameter 'binary_data_size'"
            )))
        }
    };
    if texts.len() != n {
        return Err(ServeError::Shape {
            input: name.clone(),
            reason: format!(
                "shape {:?} needs {n} texts but {} were given",
                input.shape,
                texts.len()
            ),
        });
    }
    Ok(texts)
}

/// Splits Triton's binary `BYTES` layout into at most `n` UTF-8 strings; every length is
/// checked against the bytes left before anything is copied.
pub fn binary_strings(input: &str, bytes: &[u8], n: usize) -> Result<Vec<String>> {
    let err = |reason: String| ServeError::Shape {
        input: input.to_string(),
        reason,
    };
    let mut out = Vec::with_capacity(n.min(bytes.len() / 4));
    let mut at = 0usize;
    while at < bytes.len() {
        let i = out.len();
        if i == n {
            return Err(err(format!(
                "binary data holds more than the {n} elements of its shape ({} bytes left after element {})",
                bytes.len() - at,
                n - 1
            )));
        }
        let Some(head) = bytes.get(at..at + 4) else {
            return Err(err(format!(
                "binary element {i} starts at byte {at} but only {} bytes are left for its 4-byte length",
                bytes.len() - at
            )));
        };
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        at += 4;
        let Some(body) = bytes.get(at..at.saturating_add(len)) else {
            return Err(err(format!(
                "binary element {i} declares {len} bytes but only {} are left",
                bytes.len() - at
            )));
        };
        let text = std::str::from_utf8(body).map_err(|e| ServeError::Datatype {
            input: input.to_string(),
            reason: format!(
                "element {i} is not valid UTF-8 (byte {} of the element)",
                e.valid_up_to()
            ),
        })?;
        out.push(text.to_string());
        at += len;
    }
    Ok(out)
}

/// `truncation` from the request parameters (default `false`); any other value than a
/// boolean is a 400.
pub fn truncation(params: Option<&Map<String, Value>>) -> Result<bool> {
    match params.and_then(|p| p.get(PARAM_TRUNCATION)) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ServeError::InvalidRequest(format!(
            "parameter '{PARAM_TRUNCATION}' must be true or false, got {other}"
        ))),
    }
}

/// How much of `text` (the whole generation so far) can be streamed: all of it but a
/// trailing incomplete character (U+FFFD of a token cut inside a UTF-8 sequence) and the
/// longest tail that begins one of `stops` (it may still become a stop string, and the
/// final text ends before a stop string). Returns a byte index on a char boundary.
pub fn streamable_len(text: &str, stops: &[String]) -> usize {
    let mut end = text.trim_end_matches('\u{FFFD}').len();
    let held = stops
        .iter()
        .filter_map(|s| {
            // The longest proper prefix of `s` that `text[..end]` ends with.
            s.char_indices()
                .map(|(i, _)| i)
                .skip(1)
                .filter(|&i| text[..end].ends_with(&s[..i]))
                .max()
        })
        .max()
        .unwrap_or(0);
    end -= held;
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixed(parts: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in parts {
            out.extend_from_slice(&(p.len() as u32).to_le_bytes());
            out.extend_from_slice(p);
        }
        out
    }

    #[test]
    fn binary_strings_follow_triton_layout() {
        let b = prefixed(&[b"mail one", "caf\u{e9}".as_bytes(), b""]);
        assert_eq!(
            binary_strings("text", &b, 3).unwrap(),
            vec!["mail one", "caf\u{e9}", ""]
        );
        let e = binary_strings("text", &b, 2).unwrap_err().to_string();
        assert!(e.contains("'text'") && e.contains("more than the 2"), "{e}");
        let mut cut = b.clone();
        cut.truncate(b.len() - 5);
        let e = binary_strings("text", &cut, 3).unwrap_err().to_string();
        assert!(e.contains("element 1 declares 5 bytes"), "{e}");
        let e = binary_strings("text", &[1, 0], 1).unwrap_err().to_string();
        assert!(e.contains("4-byte length"), "{e}");
        let bad = prefixed(&[b"ok", &[0x66, 0xff, 0x66]]);
        let e = binary_strings("text", &bad, 2).unwrap_err();
        assert_eq!(e.status().as_u16(), 400);
        let e = e.to_string();
        assert!(e.contains("element 1 is not valid UTF-8"), "{e}");
    }

    #[test]
    fn streaming_holds_back_stop_prefixes_and_broken_chars() {
        let stops = vec!["STOP".to_string(), "\n\n".to_string()];
        assert_eq!(streamable_len("hello", &stops), 5);
        assert_eq!(streamable_len("hello ST", &stops), 6);
        assert_eq!(streamable_len("hello\n", &stops), 5);
        assert_eq!(streamable_len("caf\u{FFFD}", &stops), 3);
        assert_eq!(streamable_len("S", &[]), 1);
        // A multi-byte stop string: prefixes are cut on char boundaries.
        assert_eq!(streamable_len("x\u{e9}", &["\u{e9}t\u{e9}".to_string()]), 1);
    }

    #[test]
    fn truncation_is_a_boolean() {
        let mut p = Map::new();
        assert!(!truncation(Some(&p)).unwrap());
        p.insert(PARAM_TRUNCATION.into(), Value::Bool(true));
        assert!(truncation(Some(&p)).unwrap());
        p.insert(PARAM_TRUNCATION.into(), Value::from(1));
        assert!(truncation(Some(&p))
            .unwrap_err()
            .to_string()
            .contains("'truncation'"));
    }
}
