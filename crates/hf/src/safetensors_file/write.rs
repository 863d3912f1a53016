//! Writing safetensors files (F32, F16, BF16, I64), atomically: the file is written to a
//! temporary name in the same folder, synced, then renamed over the target.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use glassbox_tensor::Tensor;
use safetensors::{Dtype, View};

use super::convert::encode_f32;
use crate::error::{HfError, Result};

/// One tensor ready to be written: its name, dtype, shape and little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorToWrite {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl TensorToWrite {
    fn floats(name: &str, t: &Tensor, dtype: Dtype) -> Self {
        let values = t.to_vec();
        TensorToWrite {
            name: name.to_string(),
            dtype,
            shape: t.shape().to_vec(),
            bytes: encode_f32(dtype, &values),
        }
    }

    /// `t` stored as F32.
    pub fn f32(name: &str, t: &Tensor) -> Result<Self> {
        Ok(Self::floats(name, t, Dtype::F32))
    }

    /// `t` stored as F16 (round to nearest even; out-of-range values become ±inf).
    pub fn f16(name: &str, t: &Tensor) -> Result<Self> {
        Ok(Self::floats(name, t, Dtype::F16))
    }

    /// `t` stored as BF16 (round to nearest even).
    pub fn bf16(name: &str, t: &Tensor) -> Result<Self> {
        Ok(Self::floats(name, t, Dtype::BF16))
    }

    /// Integers stored as I64 with `shape` (its product must equal `values.len()`).
    pub fn i64(name: &str, shape: &[usize], values: &[i64]) -> Result<Self> {
        let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if numel != Some(values.len()) {
            return Err(HfError::InvalidTensor {
                tensor: name.to_string(),
                reason: format!("shape {shape:?} does not hold {} values", values.len()),
            });
        }
        Ok(TensorToWrite {
            name: name.to_string(),
            dtype: Dtype::I64,
            shape: shape.to_vec(),
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        })
    }

    /// The tensor's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl View for &TensorToWrite {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The bytes of a safetensors file holding `tensors` and the optional `__metadata__` map.
/// Names must be unique and non-empty and must not be `__metadata__`.
pub fn serialize_safetensors(
    tensors: &[TensorToWrite],
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let mut seen = HashSet::new();
    for t in tensors {
        if t.name.is_empty() || t.name == "__metadata__" || !seen.insert(t.name.as_str()) {
            return Err(HfError::InvalidTensor {
                tensor: t.name.clone(),
                reason: "names must be unique, non-empty and not `__metadata__`".into(),
            });
        }
    }
    safetensors::serialize(tensors.iter().map(|t| (t.name.as_str(), t)), metadata).map_err(|e| {
        HfError::InvalidTensor {
            tensor: "<file>".into(),
            reason: e.to_string(),
        }
    })
}

/// Writes `tensors` to `path` atomically (temporary file in the same folder, fsync,
/// rename): a reader never sees a half-written file.
pub fn write_safetensors(
    path: impl AsRef<Path>,
    tensors: &[TensorToWrite],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let bytes = serialize_safetensors(tensors, metadata)?;
    glassbox_nn::io::envelope::write_atomic(path.as_ref(), &bytes)?;
    Ok(())
}
