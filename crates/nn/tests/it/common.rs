//! Reference values (through glassbox-testkit) as tensors, and testkit's tolerant
//! comparison for tensors.

use std::sync::OnceLock;

use glassbox_tensor::Tensor;
use serde_json::Value;

/// `tests/reference/torch/<file>` parsed once per test binary; a missing file fails.
pub fn torch_reference(file: &'static str) -> &'static Value {
    static LAYERS: OnceLock<Value> = OnceLock::new();
    static LOSSES: OnceLock<Value> = OnceLock::new();
    let cell = match file {
        "layers.json" => &LAYERS,
        "losses.json" => &LOSSES,
        other => panic!("no cached reference {other}"),
    };
    cell.get_or_init(|| glassbox_testkit::reference_json(&format!("torch/{file}")))
}

/// A nested JSON list as f32 data and its shape.
pub fn arr(v: &Value) -> (Vec<f32>, Vec<usize>) {
    (
        glassbox_testkit::json_f32(v),
        glassbox_testkit::json_shape(v),
    )
}

/// A nested JSON list as a tensor.
pub fn tensor(v: &Value) -> Tensor {
    let (d, s) = arr(v);
    Tensor::from_vec(d, &s).unwrap()
}

/// `got` has the reference's shape and every element is within `tol` (relative above 1).
pub fn assert_close(what: &str, got: &Tensor, want: &Value, tol: f64) {
    assert_eq!(
        got.shape(),
        &glassbox_testkit::json_shape(want)[..],
        "{what}: shape"
    );
    glassbox_testkit::assert_close(what, &got.to_vec(), &glassbox_testkit::json_f64(want), tol);
}
