//! Reading data files (CSV tables, MNIST-style IDX images) for the commands, and applying a
//! bundle's preprocessing to them.

use std::path::{Path, PathBuf};

use glassbox::data::idx::{read_idx_images, read_idx_labels};
use glassbox::data::{read_csv, CsvOptions, Table};
use glassbox::tabular::{encode_known_target, transform_table};
use glassbox::{Bundle, Preprocessing, Targets};
use ndarray::Array2;

use crate::error::{failure, CliResult};

/// Rows ready for a bundle's network plus, when the file has them, the true targets.
#[derive(Debug)]
pub struct Prepared {
    /// Model-ready rows.
    pub x: Array2<f64>,
    /// True targets, when the file has the bundle's target column (or IDX labels).
    pub targets: Option<Targets>,
}

/// Whether `path` names an IDX image file (`*idx3-ubyte[.gz]`).
pub fn is_idx(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy().contains("idx3"))
        .unwrap_or(false)
}

/// Checks that `path` exists, with the usual one-line message.
pub fn check_exists(path: &Path) -> CliResult<()> {
    if !path.exists() {
        return Err(failure(format!(
            "{}: no such file (data file not found)",
            path.display()
        )));
    }
    Ok(())
}

/// Reads a CSV table.
pub fn load_table(path: &Path) -> CliResult<Table> {
    check_exists(path)?;
    Ok(read_csv(path, &CsvOptions::default())?)
}

/// Pixel rows, optional labels and the image `[height, width]`.
pub type IdxData = (Array2<f64>, Option<Vec<usize>>, [usize; 2]);

/// Reads IDX images and the labels file beside them (`idx3` → `idx1`, `images` → `labels`),
/// as pixel rows in `[0, 255]` and class indices.
pub fn load_idx(path: &Path) -> CliResult<IdxData> {
    check_exists(path)?;
    let images = read_idx_images(path)?;
    let (n, h, w) = images.dim();
    let x = images
        .into_shape_with_order((n, h * w))
        .map_err(|e| failure(format!("{}: {e}", path.display())))?
        .mapv(f64::from);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let labels_path = path.with_file_name(name.replace("images", "labels").replace("idx3", "idx1"));
    let labels = if labels_path.exists() {
        let l = read_idx_labels(&labels_path)?;
        if l.len() != n {
            return Err(failure(format!(
                "{}: {} labels for {n} images in {}",
                labels_path.display(),
                l.len(),
                path.display()
            )));
        }
        Some(l.iter().map(|&v| v as usize).collect())
    } else {
        None
    };
    Ok((x, labels, [h, w]))
}

/// Applies `bundle`'s preprocessing to the data file at `path`.
pub fn prepare(bundle: &Bundle, path: &Path) -> CliResult<Prepared> {
    let meta = &bundle.meta;
    if is_idx(path) {
        let Preprocessing::Pixels { scale } = meta.preprocessing else {
            return Err(failure(format!(
                "{}: the model was trained on a table, not on IDX images",
                path.display()
            )));
        };
        let (x, labels, _) = load_idx(path)?;
        if x.ncols() != meta.architecture.n_inputs() {
            return Err(failure(format!(
                "{}: images have {} pixels, the model expects {}",
                path.display(),
                x.ncols(),
                meta.architecture.n_inputs()
            )));
        }
        let targets = labels.map(|labels| Targets::Classes {
            labels,
            n_classes: meta.architecture.n_outputs(),
        });
        return Ok(Prepared {
            x: x.mapv(|v| v / scale),
            targets,
        });
    }
    let table = load_table(path)?;
    let x = match &meta.preprocessing {
        Preprocessing::Pixels { scale } => {
            let names: Vec<&str> = meta.feature_names.iter().map(String::as_str).collect();
            if let Some(m) = names.iter().find(|c| table.column(c).is_err()) {
                return Err(failure(format!(
                    "{}: column '{m}' used by the model is missing",
                    path.display()
                )));
            }
            table.to_array(&names)?.mapv(|v| v / scale)
        }
        p => transform_table(&table, p)?,
    };
    let targets = match &meta.target {
        Some(t) if table.column(t).is_ok() => Some(encode_known_target(&table, t, &meta.task)?),
        _ => None,
    };
    Ok(Prepared { x, targets })
}

/// The folder of bundled data (`data/` with `tabular/digits.csv`): `dir` if given, else
/// `./data`, else next to the executable's ancestors, else the source tree.
pub fn data_dir(dir: Option<&Path>) -> CliResult<PathBuf> {
    let ok = |d: &Path| d.join("tabular").join("digits.csv").exists();
    if let Some(d) = dir {
        return if ok(d) {
            Ok(d.to_path_buf())
        } else {
            Err(failure(format!(
                "{}: not a glassbox data folder (tabular/digits.csv not found)",
                d.display()
            )))
        };
    }
    let mut candidates = vec![PathBuf::from("data")];
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).map(|a| a.join("data")));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"));
    candidates.into_iter().find(|d| ok(d)).ok_or_else(|| {
        failure("bundled data not found: run from the repository root or pass --data-dir")
    })
}
