//! Helpers shared by glassbox's workspace-level end-to-end tests and benches.
//!
//! The reference values produced by PyTorch, Captum, SHAP and scikit-learn live in
//! `../shared/reference/` relative to the workspace root. Tests that need them call
//! [`reference_json`], which returns `None` (and prints why) when the folder is absent,
//! so a checkout without `shared/` skips those tests instead of failing.

use std::path::PathBuf;

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/reference` relative to the workspace root.
pub fn reference_dir() -> PathBuf {
    workspace_root().join("..").join("shared").join("reference")
}

/// `../shared/data` relative to the workspace root.
pub fn shared_data_dir() -> PathBuf {
    workspace_root().join("..").join("shared").join("data")
}

/// The data bundled in the repository (`data/`), which the demo uses.
pub fn bundled_data_dir() -> PathBuf {
    workspace_root().join("data")
}

/// Parses `../shared/reference/<relative>`; `None` with a printed reason if it is absent.
pub fn reference_json(relative: &str) -> Option<serde_json::Value> {
    let path = reference_dir().join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", path.display())),
        ),
        Err(e) => {
            eprintln!(
                "skipping: reference file {} unavailable ({e})",
                path.display()
            );
            None
        }
    }
}
