//! Serves the tiny BERT classifier (`bert`) and tiny GPT-2 (`gpt`) of
//! `tests/reference/transformers` through the bundle loader, for client checks
//! (`scripts/triton_text_check.py`). Writes the bound address to `--addr-file` and stops
//! gracefully on SIGTERM or Ctrl-C.
//!
//! `cargo run -p glassbox --example text_server -- [--addr HOST:PORT] [--addr-file PATH]`

use glassbox::serve::ServeBundles;
use glassbox::serving::{serve_blocking, ServerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/reference/transformers"
    );
    let mut config = ServerConfig::default()
        .with_bundle("bert", format!("{root}/bert_tiny"))?
        .with_bundle("gpt", format!("{root}/gpt2_tiny"))?;
    let mut addr_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().ok_or(format!("{a} needs a value"))?;
        match a.as_str() {
            "--addr" => config.addr = value.parse()?,
            "--addr-file" => addr_file = Some(value),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    serve_blocking(config, move |addr| {
        eprintln!("text_server: listening on http://{addr}");
        if let Some(f) = addr_file {
            let _ = std::fs::write(f, addr.to_string());
        }
    })?;
    Ok(())
}
