//! The serialisable form of a model's state: named tensors with shapes and data.

use std::collections::BTreeMap;
use std::path::Path;

use bincode::Options;
use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};
use crate::io::envelope;

/// Magic bytes of a model file.
pub const MODEL_MAGIC: &[u8; 8] = b"GBXMODEL";
/// Current model-file format version.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// One tensor: its row-major data and shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorRecord {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Row-major values; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

impl TensorRecord {
    /// Errors unless `data.len()` equals the product of `shape`.
    pub fn validate(&self, name: &str, origin: &str) -> Result<()> {
        let n: usize = self.shape.iter().product();
        if n != self.data.len() {
            return Err(NnError::Corrupt {
                origin: origin.to_string(),
                reason: format!(
                    "tensor `{name}` has shape {:?} ({n} elements) but {} values",
                    self.shape,
                    self.data.len()
                ),
            });
        }
        Ok(())
    }
}

/// A model's parameters and buffers by PyTorch-style dotted name (`"0.weight"`,
/// `"bn1.running_mean"`), in the model's order, plus free-form metadata (architecture
/// description, training details).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StateDict {
    /// Named tensors.
    pub tensors: Vec<(String, TensorRecord)>,
    /// Free-form key/value metadata.
    pub metadata: BTreeMap<String, String>,
}

impl StateDict {
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&TensorRecord> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Serialises to the versioned, checksummed model-file bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload = bincode_options()
            .serialize(self)
            .expect("serialising plain vectors and strings cannot fail");
        envelope::encode(MODEL_MAGIC, MODEL_FORMAT_VERSION, &payload)
    }

    /// Parses model-file bytes; `origin` names the source in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self> {
        let (_version, payload) =
            envelope::decode(bytes, origin, MODEL_MAGIC, MODEL_FORMAT_VERSION)?;
        let sd: StateDict = decode_payload(payload, origin)?;
        for (name, t) in &sd.tensors {
            t.validate(name, origin)?;
        }
        Ok(sd)
    }

    /// Writes the model file atomically (temp file + rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        envelope::write_atomic(path.as_ref(), &self.to_bytes())
    }

    /// Reads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = envelope::read_file(path)?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }
}

/// The bincode configuration of every glassbox file (varint integers, little-endian).
pub fn bincode_options() -> impl Options {
    bincode::DefaultOptions::new()
}

/// Decodes a bincode payload, refusing allocations larger than the payload itself.
pub fn decode_payload<T: serde::de::DeserializeOwned>(payload: &[u8], origin: &str) -> Result<T> {
    bincode_options()
        .with_limit(payload.len() as u64 * 4 + 1024)
        .deserialize(payload)
        .map_err(|e| NnError::Corrupt {
            origin: origin.to_string(),
            reason: e.to_string(),
        })
}
