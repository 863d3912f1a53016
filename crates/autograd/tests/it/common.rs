//! Helpers: reference JSON loading and tolerant comparisons.

use glassbox_tensor::Tensor;
use serde_json::Value;

/// `../shared/reference/<rel>` parsed, or `None` (with the reason printed) if absent.
pub fn reference(rel: &str) -> Option<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/reference");
    let path = std::path::Path::new(dir).join(rel);
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(serde_json::from_str(&s).expect("reference JSON parses")),
        Err(e) => {
            eprintln!("skipping: {} unavailable ({e})", path.display());
            None
        }
    }
}

fn flatten(v: &Value, shape: &mut Vec<usize>, depth: usize, out: &mut Vec<f32>) {
    match v {
        Value::Array(items) => {
            if shape.len() == depth {
                shape.push(items.len());
            }
            for it in items {
                flatten(it, shape, depth + 1, out);
            }
        }
        Value::Number(n) => out.push(n.as_f64().expect("number") as f32),
        other => panic!("unexpected JSON value {other}"),
    }
}

/// A nested JSON list as a tensor (shape inferred from the nesting).
pub fn tensor(v: &Value) -> Tensor {
    let mut shape = Vec::new();
    let mut data = Vec::new();
    flatten(v, &mut shape, 0, &mut data);
    Tensor::from_vec(data, &shape).expect("rectangular JSON array")
}

/// Asserts `|a − e| <= tol · max(1, |e|)` elementwise, naming the first bad index.
pub fn assert_close(actual: &Tensor, expected: &Tensor, tol: f32, what: &str) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shapes differ");
    for (i, (a, e)) in actual.to_vec().iter().zip(expected.to_vec()).enumerate() {
        assert!(
            (a - e).abs() <= tol * e.abs().max(1.0),
            "{what}: element {i}: got {a}, expected {e} (shape {:?})",
            actual.shape()
        );
    }
}
