use std::collections::HashMap;

use glassbox_tensor::Tensor;

use super::*;
use crate::HfError;

fn sample() -> Vec<TensorToWrite> {
    let a = Tensor::from_vec(vec![0.5, -1.25, 3.0, 1e-3, 7.0, -0.0], &[2, 3]).unwrap();
    let b = Tensor::from_vec(vec![1.0, 2.0, 4.0], &[3]).unwrap();
    vec![
        TensorToWrite::f32("a.f32", &a).unwrap(),
        TensorToWrite::f16("a.f16", &a).unwrap(),
        TensorToWrite::bf16("b.bf16", &b).unwrap(),
        TensorToWrite::i64("ids", &[1, 3], &[0, -5, 1 << 33]).unwrap(),
    ]
}

/// A file with a hand-written header and `data_len` zero bytes of data.
fn raw_file(header: &str, data_len: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + data_len, 0);
    out
}

#[test]
fn every_dtype_round_trips_and_converts_to_f32() {
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    let bytes = serialize_safetensors(&sample(), Some(meta)).unwrap();
    let file = SafetensorsFile::from_bytes(bytes, "mem").unwrap();
    assert_eq!(file.metadata()["format"], "pt");
    assert_eq!(file.tensors().len(), 4);
    let a = file.tensor("a.f32").unwrap();
    assert_eq!(a.shape(), &[2, 3]);
    assert_eq!(a.to_vec(), vec![0.5, -1.25, 3.0, 1e-3, 7.0, -0.0]);
    let a16 = file.tensor("a.f16").unwrap().to_vec();
    for (x, y) in a16.iter().zip(a.to_vec()) {
        assert!((x - y).abs() <= 1e-3 * y.abs().max(1e-3), "{x} vs {y}");
    }
    assert_eq!(file.get("a.f16").unwrap().dtype, Dtype::F16);
    assert_eq!(file.tensor("b.bf16").unwrap().to_vec(), vec![1.0, 2.0, 4.0]);
    assert_eq!(
        file.tensor_i64("ids").unwrap(),
        (vec![1, 3], vec![0, -5, 1 << 33])
    );
    assert_eq!(
        file.tensor("ids").unwrap().to_vec(),
        vec![0.0, -5.0, 8589934592.0]
    );
    let floats: Vec<String> = file
        .float_tensors()
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(floats.len(), 3);
    assert!(!floats.contains(&"ids".to_string()));
}

#[test]
fn atomic_write_then_read_from_disk() {
    let dir = std::env::temp_dir().join(format!("gb-hf-st-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    write_safetensors(&path, &sample(), None).unwrap();
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let file = SafetensorsFile::open(&path).unwrap();
    assert_eq!(file.tensor("b.bf16").unwrap().to_vec(), vec![1.0, 2.0, 4.0]);
    assert_eq!(file.tensor_i64("ids").unwrap().1, vec![0, -5, 1 << 33]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_headers_are_typed_errors_naming_file_and_tensor() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "short",
            vec![1, 2, 3],
            "shorter than the 8-byte length field",
        ),
        (
            "huge",
            u64::MAX.to_le_bytes().to_vec(),
            "exceeds the format's limit",
        ),
        (
            "past-end",
            raw_file("{}", 0)[..9].to_vec(),
            "runs past the end",
        ),
        ("not-json", raw_file("{nope", 0), "not a JSON object"),
        ("array", raw_file("[1,2]", 0), "not a JSON object"),
        (
            "bad-dtype",
            raw_file(
                r#"{"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}"#,
                4,
            ),
            "tensor `w`: invalid entry",
        ),
        (
            "wrong-size",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
                4,
            ),
            "tensor `w`: data_offsets [0, 4] hold 4 bytes but dtype F32 with shape [2] needs 8",
        ),
        (
            "backwards",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#,
                4,
            ),
            "tensor `w`: data_offsets [4, 0] end before they start",
        ),
        (
            "gap",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                8,
            ),
            "tensor `w`: data starts at byte 4",
        ),
        (
            "overlap",
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                8,
            ),
            "overlapping",
        ),
        (
            "overflow",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
                4,
            ),
            "tensor `w`: shape [4294967296, 4294967296] overflows",
        ),
        (
            "data-too-long",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                12,
            ),
            "cover 4 data bytes but the file holds 12",
        ),
        (
            "bad-metadata",
            raw_file(r#"{"__metadata__":{"a":1}}"#, 0),
            "`__metadata__` must map strings to strings",
        ),
    ];
    for (name, bytes, expected) in cases {
        let err = SafetensorsFile::from_bytes(bytes, name).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with(name), "{name}: {msg}");
        assert!(msg.contains(expected), "{name}: {msg}");
    }
}

#[test]
fn missing_tensor_and_unsupported_dtype_are_named() {
    let bytes = raw_file(
        r#"{"m":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#,
        2,
    );
    let file = SafetensorsFile::from_bytes(bytes, "f.safetensors").unwrap();
    let err = file.tensor("x").unwrap_err();
    assert!(matches!(err, HfError::TensorNotFound { .. }), "{err}");
    assert_eq!(err.to_string(), "f.safetensors: no tensor named `x`");
    let err = file.tensor("m").unwrap_err();
    assert!(err.to_string().contains("tensor `m` has dtype U8"), "{err}");
    assert_eq!(file.tensor_i64("m").unwrap().1, vec![0, 0]);
    assert!(file.float_tensors().unwrap().is_empty());
}

#[test]
fn writer_rejects_inconsistent_tensors() {
    assert!(TensorToWrite::i64("x", &[2, 2], &[1, 2, 3]).is_err());
    let t = Tensor::from_vec(vec![1.0], &[1]).unwrap();
    let dup = vec![
        TensorToWrite::f32("x", &t).unwrap(),
        TensorToWrite::f32("x", &t).unwrap(),
    ];
    let err = serialize_safetensors(&dup, None).unwrap_err();
    assert!(err.to_string().contains("tensor `x`"), "{err}");
}

#[test]
fn reads_the_bert_tiny_checkpoint() {
    let path = glassbox_testkit::reference_path("transformers/bert_tiny/model.safetensors");
    let file = SafetensorsFile::open(&path).unwrap();
    let e = file.get("bert.embeddings.word_embeddings.weight").unwrap();
    assert_eq!(e.shape, vec![1327, 32]);
    assert_eq!(e.dtype, Dtype::F32);
    assert_eq!(file.tensors().len(), 41);
    let w = file.tensor("classifier.weight").unwrap();
    assert_eq!(w.shape(), &[3, 32]);
    assert!(w.to_vec().iter().all(|v| v.is_finite() && v.abs() < 10.0));
}
