//! Model bundles: one file holding everything needed to use a trained model.
//!
//! A bundle stores the [`Architecture`] the network is rebuilt from, its weights (a
//! `glassbox-nn` state dict), the fitted preprocessing, class and feature names, the
//! training history and the evaluation metrics.
//!
//! File layout: the `glassbox-nn` envelope (magic `GBXBUNDL`, format version, payload
//! length, CRC-32 of the payload) around a payload made of an 8-byte little-endian length,
//! that many bytes of JSON metadata, then the weights as a `glassbox-nn` model file (itself
//! versioned and checksummed). Writes are atomic (temporary file, fsync, rename).

use std::collections::BTreeMap;
use std::path::Path;

use glassbox_data::compose::FittedColumnTransformer;
use glassbox_nn::io::envelope;
use glassbox_nn::{load_state_dict, state_dict, Module, NnError, StateDict};
use serde::{Deserialize, Serialize};

use crate::arch::{Architecture, Network};
use crate::error::{Error, Result};
use crate::history::History;
use crate::tabular::TabularSet;

/// Magic bytes of a bundle file.
pub const BUNDLE_MAGIC: &[u8; 8] = b"GBXBUNDL";
/// Current bundle format version.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;
/// Largest bundle file read: the largest network's weights
/// ([`crate::arch_limits::MAX_PARAMETERS`] `f32` values) plus 1 GiB of metadata.
pub const MAX_BUNDLE_BYTES: u64 = 4 * crate::arch_limits::MAX_PARAMETERS as u64 + (1 << 30);

/// What the model predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Task {
    /// Class probabilities (softmax of the outputs) over `classes`, in output order.
    Classification {
        /// Class names in output order.
        classes: Vec<String>,
    },
    /// One real value (the network's single output, de-standardised with `mean`, `std`).
    Regression {
        /// Mean of the training targets.
        mean: f64,
        /// Standard deviation of the training targets.
        std: f64,
    },
}

impl Task {
    /// Number of network outputs the task needs: one per class, or one regression value.
    pub fn n_outputs(&self) -> usize {
        match self {
            Task::Classification { classes } => classes.len(),
            Task::Regression { .. } => 1,
        }
    }
}

/// How raw inputs become the network's input rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Preprocessing {
    /// A CSV table through a fitted column transformer (imputation, one-hot, scaling).
    Table {
        /// The input columns the transformer reads (the target excluded).
        columns: Vec<String>,
        /// The fitted transformer.
        transformer: FittedColumnTransformer,
    },
    /// Pixel values divided by `scale` (e.g. 16 for the 8×8 digits, 255 for MNIST).
    Pixels {
        /// The divisor.
        scale: f64,
    },
}

/// Everything in a bundle except the weights (stored as JSON in the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleMeta {
    /// The network description.
    pub architecture: Architecture,
    /// Classification or regression.
    pub task: Task,
    /// Name of the target column, when trained from a table.
    pub target: Option<String>,
    /// Names of the network's input features (after preprocessing).
    pub feature_names: Vec<String>,
    /// The fitted preprocessing.
    pub preprocessing: Preprocessing,
    /// Training history.
    pub history: History,
    /// Evaluation metrics by name (`test_accuracy`, `val_loss`, ...).
    pub metrics: BTreeMap<String, f64>,
    /// Free-form metadata (data file, optimizer, seed, ...).
    pub metadata: BTreeMap<String, String>,
}

/// A trained model with its metadata: weights plus [`BundleMeta`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// Metadata.
    pub meta: BundleMeta,
    /// The weights.
    pub weights: StateDict,
}

impl BundleMeta {
    /// Metadata of `network` trained on the fitted table `set`: the architecture is the
    /// network's, and the task, target column, feature names and fitted preprocessing are
    /// the fit's. History and metrics start empty ([`Bundle::with_history`],
    /// [`Bundle::with_metric`]). Errors when the network does not fit the data (input
    /// width against the feature count, outputs against the classes).
    pub fn from_table(network: &Network, set: &TabularSet) -> Result<BundleMeta> {
        let meta = BundleMeta {
            architecture: network.architecture().clone(),
            task: set.task.clone(),
            target: Some(set.target.clone()),
            feature_names: set.feature_names.clone(),
            preprocessing: set.preprocessing.clone(),
            history: History::default(),
            metrics: BTreeMap::new(),
            metadata: BTreeMap::new(),
        };
        meta.validate()?;
        Ok(meta)
    }

    /// Metadata of an image classifier `network` whose inputs are pixel values divided by
    /// `scale` (16 for the 8×8 digits, 255 for MNIST), with `classes` in output order.
    /// Feature names are `pixel_ROW_COL` (`cC_pixel_ROW_COL` for several channels).
    pub fn from_images(network: &Network, classes: Vec<String>, scale: f64) -> Result<BundleMeta> {
        let shape = network.architecture().input_shape();
        let (channels, h, w) = match *shape.as_slice() {
            [c, h, w] => (c, h, w),
            [h, w] => (1, h, w),
            [n] => (1, 1, n),
            _ => {
                return Err(Error::Input(format!(
                    "images need a [C, H, W] or [H, W] input, the network takes {shape:?}"
                )))
            }
        };
        let mut feature_names = Vec::with_capacity(channels * h * w);
        for c in 0..channels {
            for i in 0..h * w {
                let pixel = format!("pixel_{}_{}", i / w, i % w);
                feature_names.push(if channels > 1 {
                    format!("c{c}_{pixel}")
                } else {
                    pixel
                });
            }
        }
        let meta = BundleMeta {
            architecture: network.architecture().clone(),
            task: Task::Classification { classes },
            target: None,
            feature_names,
            preprocessing: Preprocessing::Pixels { scale },
            history: History::default(),
            metrics: BTreeMap::new(),
            metadata: BTreeMap::new(),
        };
        meta.validate()?;
        Ok(meta)
    }

    /// Checks that the parts agree: an architecture within the size limits
    /// ([`Architecture::validate`], checked first so no size is trusted), one feature name
    /// per network input, one class name per output (a single output for regression, with
    /// a finite mean and a positive finite standard deviation, both within `f32`'s range),
    /// distinct class names, fitted table preprocessing with finite non-zero scales and one
    /// output per feature name, and a positive finite pixel scale.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::Input(format!("bundle metadata: {reason}")));
        let arch = &self.architecture;
        if let Err(e) = arch.validate() {
            return bad(e.to_string());
        }
        if self.feature_names.len() != arch.n_inputs() {
            return bad(format!(
                "{} feature names for a network with {} inputs ({})",
                self.feature_names.len(),
                arch.n_inputs(),
                arch.describe()
            ));
        }
        match &self.task {
            Task::Classification { classes } => {
                if classes.len() != arch.n_outputs() {
                    return bad(format!(
                        "{} class names for a network with {} outputs",
                        classes.len(),
                        arch.n_outputs()
                    ));
                }
                let mut sorted: Vec<&String> = classes.iter().collect();
                sorted.sort();
                if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                    return bad(format!("class name '{}' appears twice", w[0]));
                }
            }
            Task::Regression { mean, std } => {
                if arch.n_outputs() != 1 {
                    return bad(format!(
                        "a regression network has one output, this one has {}",
                        arch.n_outputs()
                    ));
                }
                let max = f64::from(f32::MAX);
                if !(mean.abs() <= max && *std > 0.0 && *std <= max) {
                    return bad(format!(
                        "target scaling mean {mean}, std {std} must be finite with std > 0 \
                         (both within ±{max:e})"
                    ));
                }
            }
        }
        match &self.preprocessing {
            Preprocessing::Pixels { scale } => {
                if !(scale.is_finite() && *scale > 0.0) {
                    return bad(format!("pixel scale {scale} must be finite and > 0"));
                }
            }
            Preprocessing::Table { transformer, .. } => {
                if let Err(e) = transformer.validate() {
                    return bad(format!("table preprocessing: {e}"));
                }
                let n = transformer.feature_names().len();
                if n != self.feature_names.len() {
                    return bad(format!(
                        "the table preprocessing makes {n} features, the bundle names {}",
                        self.feature_names.len()
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Bundle {
    /// Captures `network`'s weights with `meta`. Errors if the network was not built from
    /// `meta.architecture` or the metadata's parts disagree ([`BundleMeta::validate`]).
    /// [`Bundle::from_table`] and [`Bundle::from_images`] derive the metadata instead.
    pub fn new(network: &Network, meta: BundleMeta) -> Result<Bundle> {
        if network.architecture() != &meta.architecture {
            return Err(Error::ArchitectureMismatch {
                path: "<memory>".into(),
                expected: meta.architecture.describe(),
                found: network.architecture().describe(),
            });
        }
        meta.validate()?;
        Ok(Bundle {
            meta,
            weights: state_dict(network),
        })
    }

    /// A bundle of `network` trained on the fitted table `set`
    /// ([`BundleMeta::from_table`]): everything the data fixed comes from the fit.
    ///
    /// ```
    /// use glassbox::prelude::*;
    /// let csv = "a,b,y\n1,2,no\n3,1,yes\n2,2,no\n5,0,yes\n";
    /// let table = glassbox::data::read_csv_bytes(csv.as_bytes(), "t.csv", &CsvOptions::default())?;
    /// let set = fit_table(&table, "y")?;
    /// let net = ModelSpec::parse("mlp:4")?.for_table(&set)?.build(0)?;
    /// let bundle = Bundle::from_table(&net, &set)?.with_metric("train_accuracy", 1.0);
    /// assert_eq!(bundle.classes(), ["no", "yes"]);
    /// assert_eq!(bundle.meta.target.as_deref(), Some("y"));
    /// # Ok::<(), glassbox::Error>(())
    /// ```
    pub fn from_table(network: &Network, set: &TabularSet) -> Result<Bundle> {
        Bundle::new(network, BundleMeta::from_table(network, set)?)
    }

    /// A bundle of an image classifier ([`BundleMeta::from_images`]).
    pub fn from_images(network: &Network, classes: Vec<String>, scale: f64) -> Result<Bundle> {
        Bundle::new(network, BundleMeta::from_images(network, classes, scale)?)
    }

    /// Names the target column (read by evaluation from labelled files).
    pub fn with_target(mut self, target: impl Into<String>) -> Bundle {
        self.meta.target = Some(target.into());
        self
    }

    /// Records the training history.
    pub fn with_history(mut self, history: History) -> Bundle {
        self.meta.history = history;
        self
    }

    /// Records an evaluation metric (`test_accuracy`, `val_loss`, ...).
    pub fn with_metric(mut self, name: impl Into<String>, value: f64) -> Bundle {
        self.meta.metrics.insert(name.into(), value);
        self
    }

    /// Records a free-form metadata entry (data file, seed, ...).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Bundle {
        self.meta.metadata.insert(key.into(), value.into());
        self
    }

    /// Serialises to bundle-file bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let meta = serde_json::to_vec(&self.meta).map_err(|e| Error::Bundle {
            path: "<memory>".into(),
            reason: format!("cannot serialise metadata: {e}"),
        })?;
        let weights = self.weights.to_bytes();
        let mut payload = Vec::with_capacity(8 + meta.len() + weights.len());
        payload.extend_from_slice(&(meta.len() as u64).to_le_bytes());
        payload.extend_from_slice(&meta);
        payload.extend_from_slice(&weights);
        Ok(envelope::encode(
            BUNDLE_MAGIC,
            BUNDLE_FORMAT_VERSION,
            &payload,
        ))
    }

    /// Parses bundle-file bytes; `origin` names the source in errors. The bundle is
    /// untrusted: its metadata is validated ([`BundleMeta::validate`]) and its weights are
    /// checked against the architecture ([`Architecture::check_weights`]) before it is
    /// returned, so every bundle this returns builds a network that predicts.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Bundle> {
        let bad = |reason: String| Error::Bundle {
            path: origin.to_string(),
            reason,
        };
        if bytes.starts_with(glassbox_nn::io::MODEL_MAGIC) {
            return Err(bad(
                "this is a bare glassbox-nn weights file (magic GBXMODEL) without architecture \
                 or preprocessing; save a bundle with `glassbox train` or `Bundle::save`"
                    .into(),
            ));
        }
        let (_, payload) = envelope::decode(bytes, origin, BUNDLE_MAGIC, BUNDLE_FORMAT_VERSION)
            .map_err(|e| bad(nn_reason(e)))?;
        if payload.len() < 8 {
            return Err(bad("payload shorter than its 8-byte metadata length".into()));
        }
        let meta_len = u64::from_le_bytes(payload[..8].try_into().expect("8 bytes"));
        let rest = &payload[8..];
        if meta_len > rest.len() as u64 {
            return Err(bad(format!(
                "metadata length {meta_len} exceeds the remaining {} bytes",
                rest.len()
            )));
        }
        let (meta_bytes, weights) = rest.split_at(meta_len as usize);
        let meta: BundleMeta = serde_json::from_slice(meta_bytes)
            .map_err(|e| bad(format!("metadata is not valid: {e}")))?;
        let weights = StateDict::from_bytes(weights, origin).map_err(|e| bad(nn_reason(e)))?;
        meta.validate().map_err(|e| bad(e.to_string()))?;
        meta.architecture.check_weights(&weights, origin)?;
        Ok(Bundle { meta, weights })
    }

    /// Writes the bundle atomically (temporary file, fsync, rename). A failed write is
    /// [`Error::Write`] naming `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        envelope::write_atomic(path, &self.to_bytes()?).map_err(|e| match e {
            NnError::Io { source, .. } => Error::Write {
                path: path.to_path_buf(),
                source,
            },
            other => Error::Bundle {
                path: path.display().to_string(),
                reason: nn_reason(other),
            },
        })
    }

    /// Reads a bundle file (at most [`MAX_BUNDLE_BYTES`]; the size is checked before
    /// reading).
    pub fn load(path: impl AsRef<Path>) -> Result<Bundle> {
        let path = path.as_ref();
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if size > MAX_BUNDLE_BYTES {
            return Err(Error::Bundle {
                path: path.display().to_string(),
                reason: format!("the file has {size} bytes, above the limit of {MAX_BUNDLE_BYTES}"),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Bundle::from_bytes(&bytes, &path.display().to_string())
    }

    /// Reads a bundle and checks that it holds an `expected` (`"mlp"`, `"cnn"`, `"lstm"`)
    /// network.
    pub fn load_expecting(path: impl AsRef<Path>, expected: &str) -> Result<Bundle> {
        let path = path.as_ref();
        let b = Bundle::load(path)?;
        if b.meta.architecture.kind() != expected {
            return Err(Error::ArchitectureMismatch {
                path: path.display().to_string(),
                expected: expected.to_string(),
                found: b.meta.architecture.kind().to_string(),
            });
        }
        Ok(b)
    }

    /// Rebuilds the network and loads the weights into it (in evaluation mode). Weights
    /// that do not fit the stored architecture give [`Error::ArchitectureMismatch`].
    pub fn network(&self) -> Result<Network> {
        self.network_named("<bundle>")
    }

    /// [`Bundle::network`] with `origin` naming the file in errors. The weights are checked
    /// against the architecture ([`Architecture::check_weights`]) before the network is
    /// built, so a declared size the weights do not back is never allocated.
    pub fn network_named(&self, origin: &str) -> Result<Network> {
        self.meta
            .architecture
            .check_weights(&self.weights, origin)
            .map_err(|e| match e {
                Error::Bundle { reason, .. } => Error::ArchitectureMismatch {
                    path: origin.to_string(),
                    expected: self.meta.architecture.kind().to_string(),
                    found: reason,
                },
                other => other,
            })?;
        let mut net = self.meta.architecture.build(0)?;
        load_state_dict(&net, &self.weights).map_err(|e| Error::ArchitectureMismatch {
            path: origin.to_string(),
            expected: self.meta.architecture.describe(),
            found: format!("weights that do not fit it ({e})"),
        })?;
        net.set_training(false);
        Ok(net)
    }

    /// Class names (empty for regression).
    pub fn classes(&self) -> &[String] {
        match &self.meta.task {
            Task::Classification { classes } => classes,
            Task::Regression { .. } => &[],
        }
    }
}

fn nn_reason(e: NnError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelSpec;

    fn meta(arch: Architecture) -> BundleMeta {
        BundleMeta {
            architecture: arch,
            task: Task::Classification {
                classes: vec!["a".into(), "b".into()],
            },
            target: Some("y".into()),
            feature_names: vec!["f0".into(), "f1".into(), "f2".into(), "f3".into()],
            preprocessing: Preprocessing::Pixels { scale: 1.0 },
            history: History::default(),
            metrics: BTreeMap::from([("test_accuracy".to_string(), 0.5)]),
            metadata: BTreeMap::new(),
        }
    }

    #[test]
    fn round_trip_restores_identical_weights() {
        let arch = ModelSpec::Mlp(vec![3]).resolve(&[4], 2).unwrap();
        let net = arch.build(7).unwrap();
        let b = Bundle::new(&net, meta(arch)).unwrap();
        let dir = std::env::temp_dir().join(format!("gb-bundle-{}", std::process::id()));
        let path = dir.join("m.gbx");
        b.save(&path).unwrap();
        let back = Bundle::load(&path).unwrap();
        assert_eq!(back, b);
        let net2 = back.network().unwrap();
        for ((n1, v1), (n2, v2)) in net.named_parameters().iter().zip(net2.named_parameters()) {
            assert_eq!(n1, &n2);
            assert_eq!(v1.value().to_vec(), v2.value().to_vec());
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corruption_and_wrong_files_are_clear_errors() {
        let arch = ModelSpec::Mlp(vec![3]).resolve(&[4], 2).unwrap();
        let net = arch.build(7).unwrap();
        let bytes = Bundle::new(&net, meta(arch.clone()))
            .unwrap()
            .to_bytes()
            .unwrap();
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        let e = Bundle::from_bytes(&flipped, "m.gbx")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m.gbx") && e.to_lowercase().contains("checksum"),
            "{e}"
        );
        let e = Bundle::from_bytes(&bytes[..bytes.len() / 2], "m.gbx")
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.gbx"), "{e}");
        let e = Bundle::from_bytes(&state_dict(&net).to_bytes(), "w.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("GBXMODEL"), "{e}");
        let e = Bundle::from_bytes(b"hello world, not a model at all", "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("magic") || e.contains("GBXBUNDL"), "{e}");
    }

    #[test]
    fn weights_of_another_architecture_are_rejected() {
        let mlp = ModelSpec::Mlp(vec![3]).resolve(&[4], 2).unwrap();
        let cnn = ModelSpec::Cnn(vec![2]).resolve(&[1, 2, 2], 2).unwrap();
        let cnn_net = cnn.build(0).unwrap();
        let mut b = Bundle::new(&cnn_net, meta(cnn)).unwrap();
        b.meta.architecture = mlp;
        let e = b.network_named("m.gbx").unwrap_err();
        assert!(matches!(e, Error::ArchitectureMismatch { .. }), "{e}");
        assert!(e.to_string().contains("m.gbx"));
    }
}
