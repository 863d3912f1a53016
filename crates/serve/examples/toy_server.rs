//! Serves the toy MLP classifier (or every toy bundle in a directory) over the Open
//! Inference Protocol, until SIGTERM/Ctrl-C. Used by `scripts/triton_client_check.sh`.
//!
//! ```text
//! cargo run --release -p glassbox-serve --example toy_server -- --write-toy /tmp/models
//! cargo run --release -p glassbox-serve --example toy_server -- --model-dir /tmp/models \
//!     [--addr 127.0.0.1:8000] [--addr-file FILE] [--token T] [--no-batching]
//!     [--max-batch 64] [--max-delay-ms 2]
//! ```
//! `--write-toy DIR` writes `DIR/mnist_toy.json`, an MNIST-shaped (`[1, 28, 28]` → 128 →
//! 10) MLP with fixed seeded weights, and exits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use glassbox_serve::toy::{toy_loader, MlpClassifier};
use glassbox_serve::{serve_blocking, ModelLoader, ServerConfig};

fn main() {
    if let Err(e) = run() {
        eprintln!("toy_server: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let loader: Arc<dyn ModelLoader> = Arc::new(toy_loader);
    let mut config = ServerConfig {
        loader: Some(loader),
        ..ServerConfig::default()
    };
    let mut addr_file: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--write-toy" => {
                let dir = PathBuf::from(value()?);
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                let mut m = MlpClassifier::random(&[1, 28, 28], &[128], 10, 2024);
                m.class_names = (0..10).map(|d| format!("digit_{d}")).collect();
                m.save(&dir.join("mnist_toy.json"))
                    .map_err(|e| e.to_string())?;
                return Ok(());
            }
            "--model-dir" => config.model_dir = Some(PathBuf::from(value()?)),
            "--addr" => config.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--addr-file" => addr_file = Some(PathBuf::from(value()?)),
            "--token" => config.token = Some(value()?),
            "--no-batching" => config.batching.enabled = false,
            "--max-batch" => {
                config.batching.max_batch_size =
                    value()?.parse().map_err(|e| format!("--max-batch: {e}"))?
            }
            "--max-delay-ms" => {
                let ms: u64 = value()?
                    .parse()
                    .map_err(|e| format!("--max-delay-ms: {e}"))?;
                config.batching.max_delay = Duration::from_millis(ms);
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let config = config.apply_env();
    serve_blocking(config, move |addr| {
        eprintln!("toy_server: listening on http://{addr}");
        if let Some(f) = addr_file {
            // Write then rename so a watcher never reads a partial address.
            let tmp = f.with_extension("tmp");
            if std::fs::write(&tmp, addr.to_string())
                .and_then(|_| std::fs::rename(&tmp, &f))
                .is_err()
            {
                eprintln!("toy_server: cannot write {}", f.display());
            }
        }
    })
    .map_err(|e| e.to_string())
}
