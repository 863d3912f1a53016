//! Fuzzing the safetensors header parser (runs in CI): random bytes, truncated files,
//! lying length fields and lying offsets must give an error or a file whose every tensor
//! reads back — never a panic or an allocation the file cannot back.

use glassbox_hf::{serialize_safetensors, Dtype, SafetensorsFile, TensorToWrite};
use glassbox_tensor::Tensor;
use proptest::prelude::*;

fn valid_file() -> Vec<u8> {
    let a = Tensor::from_vec((0..12).map(|v| v as f32 * 0.5).collect(), &[3, 4]).unwrap();
    let b = Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap();
    serialize_safetensors(
        &[
            TensorToWrite::f32("a", &a).unwrap(),
            TensorToWrite::bf16("b", &b).unwrap(),
            TensorToWrite::i64("ids", &[2], &[7, 9]).unwrap(),
        ],
        None,
    )
    .unwrap()
}

/// Parses `bytes`; when that succeeds, reads every tensor (which must then succeed).
fn exercise(bytes: Vec<u8>) {
    if let Ok(file) = SafetensorsFile::from_bytes(bytes, "fuzz") {
        for entry in file.tensors().to_vec() {
            let as_float = file.tensor(&entry.name);
            let as_int = file.tensor_i64(&entry.name);
            // Unsupported dtypes are errors; supported ones must read back whole.
            if matches!(
                entry.dtype,
                Dtype::F32 | Dtype::F16 | Dtype::BF16 | Dtype::F64 | Dtype::I64 | Dtype::I32
            ) {
                assert_eq!(as_float.unwrap().len(), entry.numel());
            }
            if matches!(
                entry.dtype,
                Dtype::I64 | Dtype::I32 | Dtype::U8 | Dtype::BOOL
            ) {
                assert_eq!(as_int.unwrap().1.len(), entry.numel());
            }
        }
    }
}

fn header_of(bytes: &[u8]) -> (usize, String) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (n, String::from_utf8(bytes[8..8 + n].to_vec()).unwrap())
}

/// A file with `header` and the data section of `data`.
fn with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        exercise(bytes);
    }

    #[test]
    fn random_bytes_after_a_plausible_length_never_panic(
        len in 0u64..300,
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend(body);
        exercise(bytes);
    }

    #[test]
    fn truncated_files_are_errors(cut in 0usize..1000) {
        let full = valid_file();
        let cut = cut % full.len();
        let result = SafetensorsFile::from_bytes(full[..cut].to_vec(), "cut");
        prop_assert!(result.is_err(), "a file cut to {} of {} bytes parsed", cut, full.len());
    }

    #[test]
    fn lying_length_fields_never_panic(len in any::<u64>()) {
        let mut bytes = valid_file();
        bytes[..8].copy_from_slice(&len.to_le_bytes());
        exercise(bytes);
    }

    #[test]
    fn lying_offsets_and_shapes_never_panic(
        numbers in proptest::collection::vec(any::<u64>(), 1..8),
        small in proptest::collection::vec(0u64..64, 1..8),
        pick in any::<u8>(),
    ) {
        let full = valid_file();
        let (n, header) = header_of(&full);
        let data = &full[8 + n..];
        // Replace each number in the header, in turn, by a random or a small value.
        let mut replaced = String::new();
        let mut k = 0;
        let mut chars = header.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                    chars.next();
                }
                let v = if (pick >> (k % 8)) & 1 == 0 {
                    numbers[k % numbers.len()]
                } else {
                    small[k % small.len()]
                };
                replaced.push_str(&v.to_string());
                k += 1;
            } else {
                replaced.push(c);
            }
        }
        exercise(with_header(&replaced, data));
    }

    #[test]
    fn random_tensor_entries_never_panic(
        dtype in proptest::sample::select(vec!["F32", "F16", "BF16", "I64", "U8", "BOOL", "F64", "F8_E4M3", "F4", "C64", "X"]),
        shape in proptest::collection::vec(0usize..1 << 20, 0..4),
        start in 0usize..64,
        end in 0usize..64,
        data_len in 0usize..64,
    ) {
        let header = format!(
            r#"{{"t":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{start},{end}]}}}}"#
        );
        exercise(with_header(&header, &vec![0u8; data_len]));
    }
}

#[test]
fn round_trip_survives_the_fuzz_helpers() {
    let file = SafetensorsFile::from_bytes(valid_file(), "ok").unwrap();
    assert_eq!(file.tensor("a").unwrap().to_vec()[11], 5.5);
    assert_eq!(file.tensor("b").unwrap().to_vec(), vec![1.0, -2.0]);
    assert_eq!(file.tensor_i64("ids").unwrap().1, vec![7, 9]);
}
