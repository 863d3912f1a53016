//! Mapping a checkpoint's keys onto a model: prefixes that may or may not be present
//! (`bert.`, `transformer.`), weights taken one by one with their shapes checked, and at
//! the end one error listing every missing and every unexpected key.

use std::collections::{BTreeMap, BTreeSet};

use glassbox_tensor::Tensor;

use crate::error::{HfError, Result};
use crate::safetensors_file::SafetensorsFile;

/// The float tensors of a checkpoint, consumed key by key while a model is built.
#[derive(Debug)]
pub struct Checkpoint {
    file: String,
    tensors: BTreeMap<String, Tensor>,
    taken: BTreeSet<String>,
    missing: Vec<String>,
    ignored_prefixes: Vec<String>,
    ignored_suffixes: Vec<String>,
}

impl Checkpoint {
    /// Every floating-point tensor of `file` (integer and boolean buffers, such as BERT's
    /// `embeddings.position_ids`, are skipped).
    pub fn from_file(file: &SafetensorsFile) -> Result<Self> {
        Ok(Self::from_tensors(file.origin(), file.float_tensors()?))
    }

    /// A checkpoint from named tensors (`origin` names it in errors).
    pub fn from_tensors(origin: &str, tensors: impl IntoIterator<Item = (String, Tensor)>) -> Self {
        Checkpoint {
            file: origin.to_string(),
            tensors: tensors.into_iter().collect(),
            taken: BTreeSet::new(),
            missing: Vec::new(),
            ignored_prefixes: Vec::new(),
            ignored_suffixes: Vec::new(),
        }
    }

    /// The file the weights came from.
    pub fn origin(&self) -> &str {
        &self.file
    }

    /// `true` when some key starts with `prefix`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.tensors.keys().any(|k| k.starts_with(prefix))
    }

    /// The first of `candidates` that some key starts with, else `""`: how this file names
    /// the base model (`bert.embeddings…` or `embeddings…`).
    pub fn detect_prefix(&self, candidates: &[&str]) -> String {
        candidates
            .iter()
            .find(|p| self.has_prefix(p))
            .map_or_else(String::new, |p| p.to_string())
    }

    /// Keys under `prefix` are not reported as unexpected (heads of other architectures).
    pub fn ignore_prefix(&mut self, prefix: &str) {
        self.ignored_prefixes.push(prefix.to_string());
    }

    /// Keys ending with `suffix` are not reported as unexpected (float buffers such as
    /// GPT-2's `attn.bias` causal mask).
    pub fn ignore_suffix(&mut self, suffix: &str) {
        self.ignored_suffixes.push(suffix.to_string());
    }

    /// Takes `key`, which must have `shape`. A missing key is recorded (and reported by
    /// [`finish`](Self::finish)) and `None` returned; a wrong shape is an error at once.
    pub fn take(&mut self, key: &str, shape: &[usize]) -> Result<Option<Tensor>> {
        let Some(t) = self.tensors.get(key) else {
            self.missing.push(key.to_string());
            return Ok(None);
        };
        if t.shape() != shape {
            return Err(HfError::WeightShape {
                file: self.file.clone(),
                key: key.to_string(),
                expected: shape.to_vec(),
                found: t.shape().to_vec(),
            });
        }
        self.taken.insert(key.to_string());
        Ok(Some(t.clone()))
    }

    /// Takes `key` if present (no record when absent).
    pub fn take_optional(&mut self, key: &str, shape: &[usize]) -> Result<Option<Tensor>> {
        if self.tensors.contains_key(key) {
            self.take(key, shape)
        } else {
            Ok(None)
        }
    }

    /// Ends loading: an [`HfError::Keys`] listing every missing key and every float key
    /// nobody took (outside the ignored prefixes and suffixes), else `Ok`.
    pub fn finish(self, model: &str) -> Result<()> {
        let unexpected: Vec<String> = self
            .tensors
            .keys()
            .filter(|k| !self.taken.contains(*k))
            .filter(|k| !self.ignored_prefixes.iter().any(|p| k.starts_with(p)))
            .filter(|k| !self.ignored_suffixes.iter().any(|s| k.ends_with(s)))
            .cloned()
            .collect();
        if self.missing.is_empty() && unexpected.is_empty() {
            return Ok(());
        }
        Err(HfError::Keys {
            file: self.file,
            model: model.to_string(),
            missing: self.missing,
            unexpected,
        })
    }
}

/// A `[rows, cols]` weight transposed into a contiguous `[cols, rows]` tensor (GPT-2's
/// Conv1D stores `[in, out]`; Linear wants `[out, in]`).
pub(crate) fn transposed(t: &Tensor) -> Result<Tensor> {
    Ok(t.try_t()?.contiguous())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize]) -> Tensor {
        Tensor::zeros(shape)
    }

    #[test]
    fn missing_and_unexpected_keys_are_listed_together() {
        let mut ck = Checkpoint::from_tensors(
            "m.safetensors",
            [
                ("bert.a".to_string(), t(&[2])),
                ("bert.extra".to_string(), t(&[1])),
                ("cls.head".to_string(), t(&[1])),
                ("h.0.attn.bias".to_string(), t(&[1])),
            ],
        );
        assert_eq!(ck.detect_prefix(&["bert.", "roberta."]), "bert.");
        assert_eq!(ck.detect_prefix(&["gpt."]), "");
        assert!(ck.take("bert.a", &[2]).unwrap().is_some());
        assert!(ck.take("bert.b", &[3]).unwrap().is_none());
        assert!(ck.take_optional("bert.c", &[3]).unwrap().is_none());
        ck.ignore_prefix("cls.");
        ck.ignore_suffix(".attn.bias");
        let err = ck.finish("BertModel").unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.safetensors: weights do not match BertModel: missing keys [bert.b]; \
             unexpected keys [bert.extra]"
        );
    }

    #[test]
    fn wrong_shapes_are_named() {
        let mut ck = Checkpoint::from_tensors("f", [("w".to_string(), t(&[2, 3]))]);
        let err = ck.take("w", &[3, 2]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f: weight `w` has shape [2, 3], the configuration needs [3, 2]"
        );
    }

    #[test]
    fn transposes_into_contiguous_storage() {
        let w = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let wt = transposed(&w).unwrap();
        assert_eq!(wt.shape(), &[3, 2]);
        assert!(wt.is_contiguous());
        assert_eq!(wt.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
}
