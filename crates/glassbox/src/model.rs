//! [`Model`]: a bundle loaded for inference — the [`Bundle`] and the [`Network`] rebuilt
//! from it once — with scikit-learn's `predict` / `predict_proba` on raw tables or on
//! model-ready rows.
//!
//! A [`Bundle`] is plain data (metadata and weights, comparable and cloneable); a `Model` is
//! what `joblib.load("model.pkl")` gives a scikit-learn user: the fitted preprocessing and
//! the network together, ready to predict.

use std::path::Path;

use glassbox_data::Table;
use ndarray::{Array2, ArrayView2, AsArray, Dimension};

use crate::arch::Network;
use crate::bundle::{Bundle, Task};
use crate::error::{Error, Result};
use crate::tabular::transform_table;

/// What [`Model::predict`] returns, by task.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// A classifier's answer for each row.
    Classes {
        /// Predicted class index (the most probable; the first on ties).
        indices: Vec<usize>,
        /// Predicted class name (`classes[index]`).
        labels: Vec<String>,
        /// Class probabilities `[rows, classes]`, columns in the bundle's class order.
        probabilities: Array2<f32>,
    },
    /// A regressor's value for each row, in the target's units.
    Values(Vec<f64>),
}

impl Predictions {
    /// Number of rows predicted.
    pub fn len(&self) -> usize {
        match self {
            Predictions::Classes { indices, .. } => indices.len(),
            Predictions::Values(v) => v.len(),
        }
    }

    /// Whether no rows were predicted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A loaded bundle: its metadata and the network rebuilt from its weights (in evaluation
/// mode).
///
/// ```no_run
/// use glassbox::prelude::*;
/// let model = Model::load("iris.gbx")?;
/// let table = read_csv("new_flowers.csv", &CsvOptions::default())?;
/// if let Predictions::Classes { labels, .. } = model.predict_table(&table)? {
///     println!("{labels:?}");
/// }
/// # Ok::<(), glassbox::Error>(())
/// ```
#[derive(Debug)]
pub struct Model {
    bundle: Bundle,
    network: Network,
}

impl Model {
    /// Reads the bundle at `path` and rebuilds its network; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let bundle = Bundle::load(path)?;
        Model::from_bundle(bundle, &path.display().to_string())
    }

    /// Rebuilds `bundle`'s network; `origin` names the bundle in errors. The metadata is
    /// checked first ([`crate::BundleMeta::validate`]), so a bundle whose parts disagree
    /// (fewer class names than outputs, ...) is an error here rather than at prediction,
    /// then the weights against the architecture (before anything is allocated), and
    /// finally the network runs once on a row of zeros: a bundle that loads predicts.
    pub fn from_bundle(bundle: Bundle, origin: &str) -> Result<Model> {
        let bad = |reason: String| Error::Bundle {
            path: origin.to_string(),
            reason,
        };
        bundle.meta.validate().map_err(|e| bad(e.to_string()))?;
        let network = bundle.network_named(origin)?;
        let model = Model { bundle, network };
        let probe = Array2::<f32>::zeros((1, model.bundle.meta.architecture.n_inputs()));
        model.predict(&probe).map_err(|e| {
            bad(format!(
                "the network does not predict on a row of zeros: {e}"
            ))
        })?;
        Ok(model)
    }

    /// The bundle (metadata and weights).
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The network, in evaluation mode.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The bundle and the network.
    pub fn into_parts(self) -> (Bundle, Network) {
        (self.bundle, self.network)
    }

    /// Classification (with class names) or regression (with the target scaling).
    pub fn task(&self) -> &Task {
        &self.bundle.meta.task
    }

    /// Class names in output order (empty for a regressor).
    pub fn classes(&self) -> &[String] {
        self.bundle.classes()
    }

    /// Applies the bundle's fitted preprocessing to a raw table (every input column the
    /// model was trained on must be present; extra columns such as the target are
    /// ignored) and returns the network's `f32` input rows.
    pub fn prepare(&self, table: &Table) -> Result<Array2<f32>> {
        let x = transform_table(table, &self.bundle.meta.preprocessing)?;
        Ok(glassbox_data::convert::to_f32(x.view()))
    }

    /// Predictions for a raw table ([`Model::prepare`], then [`Model::predict`]).
    pub fn predict_table(&self, table: &Table) -> Result<Predictions> {
        self.predict(&self.prepare(table)?)
    }

    /// Predictions for model-ready rows (or samples in the network's natural shape):
    /// class indices, names and probabilities for a classifier, values in the target's
    /// units for a regressor.
    pub fn predict<'a, D: Dimension>(&self, x: impl AsArray<'a, f32, D>) -> Result<Predictions> {
        match &self.bundle.meta.task {
            Task::Classification { classes } => {
                let probabilities = self.network.predict_proba(x)?;
                let indices = glassbox_data::convert::argmax_rows(probabilities.view());
                let labels = indices.iter().map(|&i| classes[i].clone()).collect();
                Ok(Predictions::Classes {
                    indices,
                    labels,
                    probabilities,
                })
            }
            Task::Regression { mean, std } => {
                // Finite f32 outputs times a std and plus a mean within f32's range (checked
                // by `BundleMeta::validate`) stay finite in f64.
                let out = self.network.predict_outputs(x)?;
                Ok(Predictions::Values(
                    out.column(0)
                        .iter()
                        .map(|&v| f64::from(v) * std + mean)
                        .collect(),
                ))
            }
        }
    }

    /// Class probabilities for model-ready rows; an error for a regressor.
    pub fn predict_proba<'a, D: Dimension>(
        &self,
        x: impl AsArray<'a, f32, D>,
    ) -> Result<Array2<f32>> {
        if let Task::Regression { .. } = self.bundle.meta.task {
            return Err(Error::Input(
                "predict_proba needs a classifier; this bundle holds a regressor".into(),
            ));
        }
        self.network.predict_proba(x)
    }
}

impl Bundle {
    /// Writes the bundle to `path` only once the written file is known to load back and
    /// predict `rows` (a few training rows): the bundle goes to a temporary file beside
    /// `path`, is loaded from it with every check of [`Model::load`], predicts `rows`, and
    /// only then is renamed over `path`. On any failure the temporary file is removed and
    /// an existing file at `path` is left as it was. A failed write is [`Error::Write`]
    /// naming `path`; a bundle that does not load back is [`Error::Bundle`] naming `path`.
    pub fn save_verified(&self, path: impl AsRef<Path>, rows: ArrayView2<'_, f32>) -> Result<()> {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Write {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the path names no file",
                ),
            })?;
        let tmp = dir.join(format!(".{name}.{}.new", std::process::id()));
        let result = (|| {
            self.save(&tmp)?;
            let model = Model::load(&tmp)?;
            if rows.nrows() > 0 {
                model.predict(rows)?;
            }
            std::fs::rename(&tmp, path).map_err(|source| Error::Write {
                path: path.to_path_buf(),
                source,
            })
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(|e| match e {
            Error::Write { source, .. } => Error::Write {
                path: path.to_path_buf(),
                source,
            },
            other => Error::Bundle {
                path: path.display().to_string(),
                reason: format!(
                    "the bundle just written does not load back and predict, so the file was \
                     not replaced: {other}"
                ),
            },
        })
    }

    /// Rebuilds the network once and returns the bundle ready to predict
    /// ([`Model::from_bundle`]).
    pub fn into_model(self) -> Result<Model> {
        Model::from_bundle(self, "<bundle>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelSpec;
    use crate::tabular::fit_table;
    use glassbox_data::{read_csv_bytes, CsvOptions};

    const CSV: &str = "a,color,y\n1,red,yes\n2,blue,no\n3,red,yes\n4,blue,no\n5,red,yes\n";

    #[test]
    fn a_model_predicts_raw_tables_like_its_network_on_the_fitted_rows() {
        let t = read_csv_bytes(CSV.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        let set = fit_table(&t, "y").unwrap();
        let net = ModelSpec::parse("mlp:4")
            .unwrap()
            .for_table(&set)
            .unwrap()
            .build(3)
            .unwrap();
        let x = crate::to_f32(set.x.view());
        let want = net.predict_proba(&x).unwrap();
        let model = Bundle::from_table(&net, &set)
            .unwrap()
            .into_model()
            .unwrap();
        let Predictions::Classes {
            indices,
            labels,
            probabilities,
        } = model.predict_table(&t).unwrap()
        else {
            panic!("a classifier");
        };
        assert_eq!(probabilities, want);
        assert_eq!(indices, net.predict(&x).unwrap());
        for (i, l) in indices.iter().zip(&labels) {
            assert_eq!(l, &["no", "yes"][*i]);
        }
        // A table without a model column is an error naming it.
        let t2 =
            read_csv_bytes("a,y\n1,yes\n".as_bytes(), "u.csv", &CsvOptions::default()).unwrap();
        let e = model.predict_table(&t2).unwrap_err().to_string();
        assert!(e.contains("u.csv") && e.contains("'color'"), "{e}");
    }

    #[test]
    fn regressors_predict_in_target_units_and_have_no_probabilities() {
        let csv = "a,y\n1,10\n2,20.5\n3,30\n4,41\n";
        let t = read_csv_bytes(csv.as_bytes(), "r.csv", &CsvOptions::default()).unwrap();
        let set = fit_table(&t, "y").unwrap();
        let Task::Regression { mean, std } = set.task else {
            panic!("regression");
        };
        let net = ModelSpec::Mlp(vec![3])
            .for_table(&set)
            .unwrap()
            .build(0)
            .unwrap();
        let x = crate::to_f32(set.x.view());
        let raw = net.predict_outputs(&x).unwrap();
        let model = Bundle::from_table(&net, &set)
            .unwrap()
            .into_model()
            .unwrap();
        let Predictions::Values(v) = model.predict(&x).unwrap() else {
            panic!("values");
        };
        for (v, r) in v.iter().zip(raw.column(0)) {
            assert!((v - (f64::from(*r) * std + mean)).abs() < 1e-9);
        }
        assert!(model.predict_proba(&x).is_err());
    }

    #[test]
    fn save_verified_replaces_a_good_file_only_with_a_bundle_that_predicts() {
        let t = read_csv_bytes(CSV.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        let set = fit_table(&t, "y").unwrap();
        let net = ModelSpec::Mlp(vec![3])
            .for_table(&set)
            .unwrap()
            .build(0)
            .unwrap();
        let x = crate::to_f32(set.x.view());
        let dir = std::env::temp_dir().join(format!("gb-verified-{}", std::process::id()));
        let path = dir.join("m.gbx");
        let good = Bundle::from_table(&net, &set).unwrap();
        good.save_verified(&path, x.view()).unwrap();
        let before = std::fs::read(&path).unwrap();
        assert_eq!(Bundle::load(&path).unwrap(), good);
        // Finite weights so large that the outputs overflow: written, loaded back, refused.
        let mut overflow = good.clone();
        for (_, rec) in &mut overflow.weights.tensors {
            rec.data.iter_mut().for_each(|v| *v = 1e30);
        }
        let e = overflow.save_verified(&path, x.view()).unwrap_err();
        assert!(matches!(e, Error::Bundle { .. }), "{e}");
        assert!(
            e.to_string().contains("m.gbx") && e.to_string().contains("not replaced"),
            "{e}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the good bundle survives"
        );
        // A path below a regular file: a write error naming the path, not "not a bundle".
        let e = good
            .save_verified(path.join("x.gbx"), x.view())
            .unwrap_err();
        assert!(matches!(e, Error::Write { .. }), "{e}");
        assert!(
            e.to_string().starts_with("cannot write") && e.to_string().contains("m.gbx"),
            "{e}"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn inconsistent_metadata_is_rejected_with_the_origin() {
        let t = read_csv_bytes(CSV.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        let set = fit_table(&t, "y").unwrap();
        let net = ModelSpec::Mlp(vec![3])
            .for_table(&set)
            .unwrap()
            .build(0)
            .unwrap();
        let mut b = Bundle::from_table(&net, &set).unwrap();
        b.meta.task = Task::Classification {
            classes: vec!["only".into()],
        };
        let e = Model::from_bundle(b, "m.gbx").unwrap_err().to_string();
        assert!(e.contains("m.gbx") && e.contains("1 class names"), "{e}");
    }
}
