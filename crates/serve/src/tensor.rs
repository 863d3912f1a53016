//! Protocol datatypes and the conversion of tensor payloads (JSON `data` arrays and the
//! binary-data extension's raw little-endian bytes) to and from `f32` / output tensors.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::data::FlatData;
use crate::error::{Result, ServeError};
use crate::model::OutputTensor;

/// A tensor datatype of the Open Inference Protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Datatype {
    /// `BOOL`: one byte per element.
    Bool,
    /// `UINT8`.
    Uint8,
    /// `UINT16`.
    Uint16,
    /// `UINT32`.
    Uint32,
    /// `UINT64`.
    Uint64,
    /// `INT8`.
    Int8,
    /// `INT16`.
    Int16,
    /// `INT32`.
    Int32,
    /// `INT64`.
    Int64,
    /// `FP32`.
    Fp32,
    /// `FP64`.
    Fp64,
    /// `BYTES`: variable-length strings (length-prefixed in binary form).
    Bytes,
}

impl Datatype {
    /// Parses the protocol name (`"FP32"`, `"INT64"`, ...); `FP16`/`BF16` are not supported.
    pub fn parse(s: &str) -> Option<Datatype> {
        Some(match s {
            "BOOL" => Datatype::Bool,
            "UINT8" => Datatype::Uint8,
            "UINT16" => Datatype::Uint16,
            "UINT32" => Datatype::Uint32,
            "UINT64" => Datatype::Uint64,
            "INT8" => Datatype::Int8,
            "INT16" => Datatype::Int16,
            "INT32" => Datatype::Int32,
            "INT64" => Datatype::Int64,
            "FP32" => Datatype::Fp32,
            "FP64" => Datatype::Fp64,
            "BYTES" => Datatype::Bytes,
            _ => return None,
        })
    }

    /// The protocol name.
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::Bool => "BOOL",
            Datatype::Uint8 => "UINT8",
            Datatype::Uint16 => "UINT16",
            Datatype::Uint32 => "UINT32",
            Datatype::Uint64 => "UINT64",
            Datatype::Int8 => "INT8",
            Datatype::Int16 => "INT16",
            Datatype::Int32 => "INT32",
            Datatype::Int64 => "INT64",
            Datatype::Fp32 => "FP32",
            Datatype::Fp64 => "FP64",
            Datatype::Bytes => "BYTES",
        }
    }

    /// Bytes per element in binary form (`None` for `BYTES`).
    pub fn size(self) -> Option<usize> {
        Some(match self {
            Datatype::Bool | Datatype::Uint8 | Datatype::Int8 => 1,
            Datatype::Uint16 | Datatype::Int16 => 2,
            Datatype::Uint32 | Datatype::Int32 | Datatype::Fp32 => 4,
            Datatype::Uint64 | Datatype::Int64 | Datatype::Fp64 => 8,
            Datatype::Bytes => return None,
        })
    }

    /// Whether the type is a number type that converts to `f32` model input.
    pub fn is_numeric(self) -> bool {
        !matches!(self, Datatype::Bool | Datatype::Bytes)
    }

    pub(crate) fn is_integer(self) -> bool {
        self.is_numeric() && !matches!(self, Datatype::Fp32 | Datatype::Fp64)
    }
}

impl Serialize for Datatype {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Datatype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks that `datatype` can feed a model input declared as `expected`. Numeric inputs
/// accept every numeric datatype (converted to `f32`); `BOOL` and `BYTES` do not.
pub fn check_input_datatype(input: &str, datatype: &str, expected: Datatype) -> Result<Datatype> {
    let dt = Datatype::parse(datatype).ok_or_else(|| ServeError::Datatype {
        input: input.to_string(),
        reason: format!("unknown datatype '{datatype}'"),
    })?;
    let ok = dt == expected || (expected.is_numeric() && dt.is_numeric());
    if !ok {
        return Err(ServeError::Datatype {
            input: input.to_string(),
            reason: format!("got datatype {dt}, the model expects {expected}"),
        });
    }
    Ok(dt)
}

/// Flattens JSON `data` (flat or nested arrays, row-major) into `f32` values, checking
/// each element against `dt` (see [`FlatData::to_f32`]).
pub fn json_to_f32(input: &str, dt: Datatype, data: &Value) -> Result<Vec<f32>> {
    FlatData::deserialize(data)
        .map_err(|e| ServeError::BadJson(format!("field 'data' of input '{input}': {e}")))?
        .to_f32(input, dt)
}

/// Decodes binary-extension bytes (little-endian, row-major) into `f32` values.
pub fn binary_to_f32(input: &str, dt: Datatype, bytes: &[u8]) -> Result<Vec<f32>> {
    let size = dt.size().ok_or_else(|| ServeError::Datatype {
        input: input.to_string(),
        reason: format!("{dt} cannot be converted to numbers"),
    })?;
    if bytes.len() % size != 0 {
        return Err(ServeError::Shape {
            input: input.to_string(),
            reason: format!(
                "binary data of {} bytes is not a whole number of {dt} elements ({size} bytes each)",
                bytes.len()
            ),
        });
    }
    let c = bytes.chunks_exact(size);
    let v: Vec<f32> = match dt {
        Datatype::Fp32 => c
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Datatype::Fp64 => c.map(|b| f64::from_le_bytes(arr8(b)) as f32).collect(),
        Datatype::Int8 => c.map(|b| b[0] as i8 as f32).collect(),
        Datatype::Uint8 | Datatype::Bool => c.map(|b| b[0] as f32).collect(),
        Datatype::Int16 => c.map(|b| i16::from_le_bytes([b[0], b[1]]) as f32).collect(),
        Datatype::Uint16 => c.map(|b| u16::from_le_bytes([b[0], b[1]]) as f32).collect(),
        Datatype::Int32 => c
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
            .collect(),
        Datatype::Uint32 => c
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
            .collect(),
        Datatype::Int64 => c.map(|b| i64::from_le_bytes(arr8(b)) as f32).collect(),
        Datatype::Uint64 => c.map(|b| u64::from_le_bytes(arr8(b)) as f32).collect(),
        Datatype::Bytes => unreachable!("BYTES has no element size and returned above"),
    };
    Ok(v)
}

fn arr8(b: &[u8]) -> [u8; 8] {
    [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// Index and value of the first non-finite element, if any.
pub fn first_non_finite(values: &[f32]) -> Option<(usize, f32)> {
    values
        .iter()
        .position(|v| !v.is_finite())
        .map(|i| (i, values[i]))
}

/// JSON `data` of an output tensor, serialised without going through `f64`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OutputData {
    /// FP32 values.
    Fp32(Vec<f32>),
    /// INT64 values.
    Int64(Vec<i64>),
    /// BYTES values.
    Bytes(Vec<String>),
}

impl OutputData {
    /// Flat row-major copy of a tensor's values.
    pub fn from_tensor(t: &OutputTensor) -> OutputData {
        match t {
            OutputTensor::Fp32(a) => OutputData::Fp32(a.iter().copied().collect()),
            OutputTensor::Int64(a) => OutputData::Int64(a.iter().copied().collect()),
            OutputTensor::Bytes(a) => OutputData::Bytes(a.iter().cloned().collect()),
        }
    }
}

/// Binary-extension encoding of a tensor: little-endian numbers, or for BYTES each element
/// as a 4-byte little-endian length followed by its bytes (Triton's layout).
pub fn tensor_to_binary(t: &OutputTensor) -> Vec<u8> {
    match t {
        OutputTensor::Fp32(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        OutputTensor::Int64(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        OutputTensor::Bytes(a) => {
            let mut out = Vec::new();
            for s in a.iter() {
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn datatype_names_round_trip() {
        for name in ["BOOL", "UINT8", "INT32", "INT64", "FP32", "FP64", "BYTES"] {
            assert_eq!(Datatype::parse(name).unwrap().as_str(), name);
        }
        assert!(Datatype::parse("FP16").is_none());
    }

    #[test]
    fn nested_json_flattens_row_major() {
        let v = json!([[1, 2], [3.5, 4]]);
        assert_eq!(
            json_to_f32("x", Datatype::Fp32, &v).unwrap(),
            vec![1.0, 2.0, 3.5, 4.0]
        );
    }

    #[test]
    fn integer_types_reject_fractions_and_strings() {
        let e = json_to_f32("x", Datatype::Int32, &json!([1, 2.5])).unwrap_err();
        assert!(e.to_string().contains("element 1"));
        let e = json_to_f32("x", Datatype::Fp32, &json!([1, "a"])).unwrap_err();
        assert!(e.to_string().contains("a string"));
    }

    #[test]
    fn nan_words_decode_as_nan() {
        let v = json_to_f32("x", Datatype::Fp32, &json!([1, "NaN"])).unwrap();
        assert_eq!(first_non_finite(&v).map(|p| p.0), Some(1));
    }

    #[test]
    fn binary_decoding_matches_le_layout() {
        let bytes: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            binary_to_f32("x", Datatype::Fp32, &bytes).unwrap(),
            vec![1.5, -2.0]
        );
        let bytes: Vec<u8> = [7i64, -3].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            binary_to_f32("x", Datatype::Int64, &bytes).unwrap(),
            vec![7.0, -3.0]
        );
        assert!(binary_to_f32("x", Datatype::Fp32, &[0u8; 5]).is_err());
    }

    #[test]
    fn bytes_tensors_are_length_prefixed() {
        let t = OutputTensor::Bytes(ndarray::arr1(&["ab".to_string(), "c".to_string()]).into_dyn());
        assert_eq!(
            tensor_to_binary(&t),
            vec![2, 0, 0, 0, b'a', b'b', 1, 0, 0, 0, b'c']
        );
    }

    #[test]
    fn f32_output_serialises_shortest() {
        let d = OutputData::Fp32(vec![0.1]);
        assert_eq!(serde_json::to_string(&d).unwrap(), "[0.1]");
    }
}
