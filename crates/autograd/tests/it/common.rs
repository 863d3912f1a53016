//! Helpers: reference values (through glassbox-testkit) as tensors, and the tensor form of
//! testkit's tolerant comparison.

use glassbox_tensor::Tensor;
use serde_json::Value;

/// `tests/reference/<rel>` parsed; a missing file fails the test.
pub fn reference(rel: &str) -> Value {
    glassbox_testkit::reference_json(rel)
}

/// A nested JSON list as a tensor (shape inferred from the nesting).
pub fn tensor(v: &Value) -> Tensor {
    let data = glassbox_testkit::json_f32(v);
    Tensor::from_vec(data, &glassbox_testkit::json_shape(v)).expect("rectangular JSON array")
}

/// Asserts equal shapes and `|a − e| <= tol · max(1, |e|)` elementwise (testkit's rule).
pub fn assert_close(actual: &Tensor, expected: &Tensor, tol: f32, what: &str) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shapes differ");
    let expected: Vec<f64> = expected.to_vec().into_iter().map(f64::from).collect();
    glassbox_testkit::assert_close(what, &actual.to_vec(), &expected, f64::from(tol));
}
