//! Streaming decoder of a tensor's JSON `data` field: flat or nested arrays are flattened
//! row-major into `f64` values while the JSON is parsed, without building a
//! `serde_json::Value` tree (which costs an allocation per element on large inputs).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::error::{Result, ServeError};
use crate::tensor::Datatype;

/// The flattened `data` of one tensor plus what was noticed about its elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlatData {
    /// Row-major values; non-numeric elements are stored as NaN and reported below.
    pub values: Vec<f64>,
    /// First element that is not a number (index and JSON kind).
    pub first_non_number: Option<(usize, &'static str)>,
    /// First number with a fractional part (index).
    pub first_fraction: Option<usize>,
    /// First element written as a NaN/infinity word such as `"NaN"` (index).
    pub first_word: Option<usize>,
    /// Every string element, in order (the elements of a `BYTES` tensor).
    pub strings: Vec<String>,
    /// First element that is not a string (index and JSON kind).
    pub first_non_string: Option<(usize, &'static str)>,
}

impl FlatData {
    fn push(&mut self, v: f64) {
        self.not_string("a number");
        self.values.push(v);
    }

    fn not_string(&mut self, kind: &'static str) {
        if self.first_non_string.is_none() {
            self.first_non_string = Some((self.values.len(), kind));
        }
    }

    fn mark_bad(&mut self, kind: &'static str) {
        self.not_string(kind);
        if self.first_non_number.is_none() {
            self.first_non_number = Some((self.values.len(), kind));
        }
        self.values.push(f64::NAN);
    }

    /// The elements of a `BYTES` input: every element must be a JSON string (the error
    /// names the input and the first element that is not).
    pub fn to_strings(&self, input: &str) -> Result<Vec<String>> {
        if let Some((i, kind)) = self.first_non_string {
            return Err(ServeError::Datatype {
                input: input.to_string(),
                reason: format!("element {i} is {kind}, not a string as BYTES requires"),
            });
        }
        Ok(self.strings.clone())
    }

    /// Converts to `f32` for an input of datatype `dt`, rejecting elements that do not fit
    /// it: non-numbers for every type; fractions, NaN words and values outside the type's
    /// range (UINT8 −5, INT8 300) for integer types.
    pub fn to_f32(&self, input: &str, dt: Datatype) -> Result<Vec<f32>> {
        let err = |reason: String| ServeError::Datatype {
            input: input.to_string(),
            reason,
        };
        if let Some((i, kind)) = self.first_non_number {
            return Err(err(format!(
                "element {i} is {kind}, not a number as {dt} requires"
            )));
        }
        if dt.is_integer() {
            if let Some(i) = self.first_fraction.or(self.first_word) {
                return Err(err(format!(
                    "element {i} is {}, not an integer as {dt} requires",
                    self.values[i]
                )));
            }
            let (lo, hi): (f64, f64) = match dt {
                Datatype::Uint8 => (0.0, u8::MAX as f64),
                Datatype::Uint16 => (0.0, u16::MAX as f64),
                Datatype::Uint32 => (0.0, u32::MAX as f64),
                Datatype::Uint64 => (0.0, u64::MAX as f64),
                Datatype::Int8 => (i8::MIN as f64, i8::MAX as f64),
                Datatype::Int16 => (i16::MIN as f64, i16::MAX as f64),
                Datatype::Int32 => (i32::MIN as f64, i32::MAX as f64),
                _ => (i64::MIN as f64, i64::MAX as f64),
            };
            if let Some(i) = self.values.iter().position(|v| !(lo..=hi).contains(v)) {
                return Err(err(format!(
                    "element {i} is {}, outside {dt}'s range [{lo}, {hi}]",
                    self.values[i]
                )));
            }
        }
        Ok(self.values.iter().map(|&v| v as f32).collect())
    }
}

fn nonfinite_word(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

struct Flatten<'a>(&'a mut FlatData);

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a (nested) array of tensor elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let out = self.0;
        while seq.next_element_seed(Flatten(&mut *out))?.is_some() {}
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<(), E> {
        if v.fract() != 0.0 && self.0.first_fraction.is_none() {
            self.0.first_fraction = Some(self.0.values.len());
        }
        self.0.push(v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<(), E> {
        self.0.push(v as f64);
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<(), E> {
        self.0.push(v as f64);
        Ok(())
    }

    fn visit_str<E>(self, s: &str) -> std::result::Result<(), E> {
        self.0.strings.push(s.to_string());
        match nonfinite_word(s) {
            Some(v) => {
                if self.0.first_word.is_none() {
                    self.0.first_word = Some(self.0.values.len());
                }
                self.0.values.push(v);
            }
            None => {
                if self.0.first_non_number.is_none() {
                    self.0.first_non_number = Some((self.0.values.len(), "a string"));
                }
                self.0.values.push(f64::NAN);
            }
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
        self.0.mark_bad("a boolean");
        Ok(())
    }

    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        self.0.mark_bad("null");
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.0.mark_bad("an object");
        Ok(())
    }
}

impl<'de> Deserialize<'de> for FlatData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut out = FlatData::default();
        Flatten(&mut out).deserialize(d)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> FlatData {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn nested_arrays_flatten_row_major() {
        assert_eq!(
            parse("[[1, 2], [3.5, -4]]").values,
            vec![1.0, 2.0, 3.5, -4.0]
        );
        assert_eq!(parse("7").values, vec![7.0]);
    }

    #[test]
    fn element_kinds_are_recorded() {
        let d = parse(r#"[1, 2.5, "NaN", "x", null]"#);
        assert_eq!(d.first_fraction, Some(1));
        assert_eq!(d.first_word, Some(2));
        assert_eq!(d.first_non_number, Some((3, "a string")));
        let e = d.to_f32("x", Datatype::Fp32).unwrap_err().to_string();
        assert!(e.contains("element 3 is a string"), "{e}");
    }

    #[test]
    fn string_elements_are_kept_for_bytes_inputs() {
        let d = parse(r#"[["mail one"], ["NaN"]]"#);
        assert_eq!(d.to_strings("text").unwrap(), vec!["mail one", "NaN"]);
        let e = parse(r#"["a", 3]"#)
            .to_strings("text")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'text'") && e.contains("element 1 is a number"),
            "{e}"
        );
    }

    #[test]
    fn integer_types_reject_fractions() {
        let d = parse("[1, 2, 2.5]");
        assert!(d.to_f32("x", Datatype::Fp32).is_ok());
        let e = d.to_f32("x", Datatype::Int32).unwrap_err().to_string();
        assert!(e.contains("element 2") && e.contains("INT32"), "{e}");
    }

    #[test]
    fn integer_types_are_range_checked() {
        let e = parse("[0, 255, -5]")
            .to_f32("pixels", Datatype::Uint8)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'pixels'") && e.contains("element 2 is -5") && e.contains("UINT8"),
            "{e}"
        );
        let e = parse("[[1, -128], [127, 300]]")
            .to_f32("x", Datatype::Int8)
            .unwrap_err()
            .to_string();
        assert!(e.contains("element 3 is 300") && e.contains("INT8"), "{e}");
        assert_eq!(
            parse("[0, 255]").to_f32("x", Datatype::Uint8).unwrap(),
            vec![0.0, 255.0]
        );
        assert!(parse("[-128, 127]").to_f32("x", Datatype::Int8).is_ok());
        assert!(parse("[300]").to_f32("x", Datatype::Fp32).is_ok());
    }
}
