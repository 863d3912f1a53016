//! Test support for every glassbox crate (`publish = false`).
//!
//! One place owns how tests find their independent references and compare against them:
//!
//! - [`reference_json`] reads `tests/reference/<file>` at the workspace root: the values
//!   produced by PyTorch, Hugging Face transformers, Captum, SHAP and scikit-learn, kept in
//!   the repository in the same layout as `../shared/reference/` (either folder can replace
//!   the other; `GLASSBOX_REFERENCE_DIR=<folder>` points the tests at another one, such as
//!   the output of `scripts/reference/regenerate.sh`). A missing or unreadable reference
//!   **fails** the test.
//! - [`shared_file`] finds large inputs that stay outside the repository (datasets, the
//!   pretrained MiniLM) in `../shared/`. Absent under `CI`, the test fails; elsewhere it
//!   returns `None` after printing why, and the test returns early.
//! - [`assert_close`] compares with the references' convention: `|a - e| <= tol * max(1, |e|)`;
//!   [`assert_relative`] compares values of any magnitude (p-values of 1e-30) relatively.
//! - [`chromium`] is the one headless-Chromium harness: absent under `CI`, the test fails;
//!   elsewhere it is skipped with a printed reason.
//! - [`http`] holds the plain-`std` HTTP helpers of the tests that talk to a running server
//!   (requests on a new connection, the address `glassbox serve` announces, waiting for a
//!   connection to close).
//!
//! ```
//! let v = serde_json::json!([[1.0, 2.0], [3.0, 4.0]]);
//! assert_eq!(glassbox_testkit::json_shape(&v), vec![2, 2]);
//! glassbox_testkit::assert_close("flat", &[1.0f32, 2.0, 3.0, 4.0], &glassbox_testkit::json_f64(&v), 1e-6);
//! ```

pub mod chromium;
pub mod http;

use std::path::{Path, PathBuf};

/// The workspace root (the folder of the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .canonicalize()
        .expect("the testkit crate lives in crates/testkit of the workspace")
}

/// The variable that points the reference tests at another folder of the same layout (a
/// freshly regenerated one, or `../shared/reference`).
pub const REFERENCE_DIR_VAR: &str = "GLASSBOX_REFERENCE_DIR";

/// `tests/reference/` of the workspace: the reference values kept in the repository; or
/// the folder named by `GLASSBOX_REFERENCE_DIR` when it is set.
pub fn reference_dir() -> PathBuf {
    match std::env::var_os(REFERENCE_DIR_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("tests").join("reference"),
    }
}

/// The path of `tests/reference/<relative>`. Panics (fails the test) when it is absent.
pub fn reference_path(relative: &str) -> PathBuf {
    let path = reference_dir().join(relative);
    assert!(
        path.exists(),
        "reference file {} is missing: the references live in the repository \
         (regenerate them with scripts/reference/regenerate.sh)",
        path.display()
    );
    path
}

/// Parses `tests/reference/<relative>`. Panics (fails the test) when the file is missing or
/// is not valid JSON.
pub fn reference_json(relative: &str) -> serde_json::Value {
    let path = reference_path(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reference file {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("reference file {}: not valid JSON: {e}", path.display()))
}

/// `../shared/` relative to the workspace root: large data and models kept outside the
/// repository.
pub fn shared_dir() -> PathBuf {
    workspace_root().join("..").join("shared")
}

/// `true` when running under CI (the `CI` variable is set and not `false`/`0`).
pub fn under_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "false" && v != "0")
        .unwrap_or(false)
}

/// `../shared/<relative>` when it exists. When it is absent: under CI the test fails;
/// elsewhere this prints the reason and returns `None`, so the test returns early.
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    let path = shared_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    if under_ci() {
        panic!(
            "{} is missing, and CI must run every test that needs it",
            path.display()
        );
    }
    eprintln!(
        "not run: {} is absent (outside CI a test that needs ../shared returns early)",
        path.display()
    );
    None
}

/// `data/<relative>` of the repository (the data the demo ships). Panics when absent.
pub fn bundled_data(relative: &str) -> PathBuf {
    let path = workspace_root().join("data").join(relative);
    assert!(
        path.exists(),
        "bundled data file {} is missing",
        path.display()
    );
    path
}

/// The shape of a nested JSON array (`[]` for a number).
pub fn json_shape(v: &serde_json::Value) -> Vec<usize> {
    let mut shape = Vec::new();
    let mut cur = v;
    while let serde_json::Value::Array(items) = cur {
        shape.push(items.len());
        match items.first() {
            Some(first) => cur = first,
            None => break,
        }
    }
    shape
}

/// A nested JSON array of numbers flattened in row-major order. `null` becomes NaN (the
/// references write missing values as `null`). Panics on any other non-number.
pub fn json_f64(v: &serde_json::Value) -> Vec<f64> {
    fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Number(n) => out.push(n.as_f64().expect("finite number")),
            serde_json::Value::Null => out.push(f64::NAN),
            serde_json::Value::Bool(b) => out.push(f64::from(u8::from(*b))),
            other => panic!("expected a number or an array of numbers, found {other}"),
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out
}

/// [`json_f64`] narrowed to f32.
pub fn json_f32(v: &serde_json::Value) -> Vec<f32> {
    json_f64(v).into_iter().map(|x| x as f32).collect()
}

/// A value that can be compared with a reference (f32 and f64).
pub trait AsF64: Copy {
    /// The value widened to f64.
    fn as_f64(self) -> f64;
}
impl AsF64 for f32 {
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}
impl AsF64 for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}

/// The largest violation of `|a - e| <= tol * max(1, |e|)`, as `(index, actual, expected)`;
/// `None` when every element holds. NaN matches NaN only.
pub fn first_mismatch<T: AsF64>(
    actual: &[T],
    expected: &[f64],
    tol: f64,
) -> Option<(usize, f64, f64)> {
    let mut worst: Option<(usize, f64, f64, f64)> = None;
    for (i, (a, &e)) in actual.iter().zip(expected).enumerate() {
        let a = a.as_f64();
        let excess = if a.is_nan() || e.is_nan() {
            if a.is_nan() && e.is_nan() {
                continue;
            }
            f64::INFINITY
        } else {
            (a - e).abs() - tol * e.abs().max(1.0)
        };
        if excess > 0.0 && worst.is_none_or(|w| excess > w.3) {
            worst = Some((i, a, e, excess));
        }
    }
    worst.map(|(i, a, e, _)| (i, a, e))
}

/// Asserts equal lengths and `|a - e| <= tol * max(1, |e|)` element by element, naming
/// `what`, the worst index and both values on failure.
#[track_caller]
pub fn assert_close<T: AsF64>(what: &str, actual: &[T], expected: &[f64], tol: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: {} values, the reference has {}",
        actual.len(),
        expected.len()
    );
    if let Some((i, a, e)) = first_mismatch(actual, expected, tol) {
        panic!("{what}: element {i} is {a}, the reference says {e} (tolerance {tol}, relative above 1)");
    }
}

/// Asserts equal lengths and `|a - e| <= rel * |e|` element by element (a purely relative
/// comparison, for values far below 1 such as p-values), naming `what`, the index and both
/// values on failure.
#[track_caller]
pub fn assert_relative<T: AsF64>(what: &str, actual: &[T], expected: &[f64], rel: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: {} values, the reference has {}",
        actual.len(),
        expected.len()
    );
    for (i, (a, &e)) in actual.iter().zip(expected).enumerate() {
        let a = a.as_f64();
        assert!(
            (a - e).abs() <= rel * e.abs(),
            "{what}: element {i} is {a:e}, the reference says {e:e} (relative tolerance {rel})"
        );
    }
}

/// The largest absolute difference between two equally long slices.
pub fn max_abs_diff<T: AsF64>(actual: &[T], expected: &[f64]) -> f64 {
    actual
        .iter()
        .zip(expected)
        .map(|(a, &e)| (a.as_f64() - e).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_flatten() {
        let v = serde_json::json!([[[1, 2, 3]], [[4, 5, null]]]);
        assert_eq!(json_shape(&v), vec![2, 1, 3]);
        let flat = json_f64(&v);
        assert_eq!(&flat[..5], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(flat[5].is_nan());
    }

    #[test]
    fn tolerance_is_relative_above_one() {
        assert!(first_mismatch(&[1000.05f64], &[1000.0], 1e-4).is_none());
        assert!(first_mismatch(&[0.0002f64], &[0.0], 1e-4).is_some());
        assert_eq!(
            first_mismatch(&[1.0f64, 5.0, 2.0], &[1.0, 4.0, 2.5], 1e-3)
                .unwrap()
                .0,
            1
        );
    }

    #[test]
    fn relative_comparison_scales_with_the_value() {
        assert_relative("p", &[1.0000001e-30f64], &[1e-30], 1e-6);
        let r = std::panic::catch_unwind(|| assert_relative("p", &[1.1e-30f64], &[1e-30], 1e-6));
        assert!(r.is_err());
    }

    #[test]
    #[should_panic(expected = "is missing")]
    fn missing_reference_fails() {
        reference_json("no/such/file.json");
    }

    #[test]
    fn references_are_in_the_repository() {
        let committed = workspace_root().join("tests").join("reference");
        assert!(committed.join("README.md").exists());
        assert!(committed.join("torch").join("layers.json").exists());
    }
}
