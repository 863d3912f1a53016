//! [`Classifier`]: an architecture and training settings as a scikit-learn-style
//! estimator (`fit` / `predict`), so `glassbox-metrics`' [`cross_validate`] scores it the
//! way `cross_val_score(MLPClassifier(...), X, y, cv=5)` does.
//!
//! [`cross_validate`]: glassbox_metrics::cross_validate

use glassbox_metrics::cv::EstimatorError;
use glassbox_metrics::Estimator;
use ndarray::ArrayView2;

use crate::arch::{Architecture, Network};
use crate::error::Error;
use crate::trainer::{Targets, TrainConfig, TrainData, Trainer};

/// An unfitted classifier: the network is built from `architecture` with `seed` and
/// trained with `config` by [`Estimator::fit`]; [`Estimator::predict`] returns class
/// indices. Inputs are `f32` rows (or samples in the network's natural shape).
///
/// ```
/// use glassbox::prelude::*;
/// use glassbox::Classifier;
///
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tabular/iris.csv");
/// let set = fit_table(&read_csv(path, &CsvOptions::default())?, "target")?;
/// let Targets::Classes { labels, .. } = &set.targets else { unreachable!() };
/// let arch = ModelSpec::parse("mlp:16")?.for_table(&set)?;
/// let config = TrainConfig { epochs: 40, batch_size: 16, lr: 0.01, ..TrainConfig::default() };
/// let folds = StratifiedKFold::new(3).shuffled(0).split(labels)?;
/// let cv = cross_validate(
///     || Classifier::new(arch.clone(), config.clone(), 0),
///     to_f32(set.x.view()).view(),
///     labels,
///     &folds,
///     |y, predicted: &Vec<usize>| accuracy(y, predicted),
///     false,
/// )?;
/// assert_eq!(cv.scores.len(), 3);
/// assert!(cv.mean > 0.8, "{cv}");
/// # Ok::<(), glassbox::Error>(())
/// ```
#[derive(Debug)]
pub struct Classifier {
    architecture: Architecture,
    config: TrainConfig,
    seed: u64,
    network: Option<Network>,
}

impl Classifier {
    /// An unfitted classifier over `architecture.n_outputs()` classes.
    pub fn new(architecture: Architecture, config: TrainConfig, seed: u64) -> Classifier {
        Classifier {
            architecture,
            config,
            seed,
            network: None,
        }
    }

    /// The trained network, once [`Estimator::fit`] has run.
    pub fn network(&self) -> Option<&Network> {
        self.network.as_ref()
    }

    /// Fits on `x` and returns the trained network.
    pub fn fit_network(&mut self, x: ArrayView2<f32>, y: &[usize]) -> crate::Result<&Network> {
        let mut net = self.architecture.build(self.seed)?;
        let data = TrainData::new(
            x.to_owned().into_dyn(),
            &Targets::Classes {
                labels: y.to_vec(),
                n_classes: self.architecture.n_outputs(),
            },
        )?;
        Trainer::new(self.config.clone()).fit(&mut net, &data, None)?;
        net.eval();
        Ok(self.network.insert(net))
    }
}

impl Estimator for Classifier {
    type Elem = f32;
    type Target = usize;
    type Prediction = Vec<usize>;

    fn fit(&mut self, x: ArrayView2<'_, f32>, y: &[usize]) -> Result<(), EstimatorError> {
        self.fit_network(x, y)?;
        Ok(())
    }

    fn predict(&self, x: ArrayView2<'_, f32>) -> Result<Vec<usize>, EstimatorError> {
        let net = self.network.as_ref().ok_or_else(|| {
            Error::Input("Classifier::predict before fit: the classifier is not trained".into())
        })?;
        Ok(net.predict(x)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelSpec;
    use ndarray::Array2;

    #[test]
    fn predict_before_fit_and_bad_labels_are_errors() {
        let arch = ModelSpec::Mlp(vec![4]).resolve(&[2], 2).unwrap();
        let mut c = Classifier::new(arch, TrainConfig::default(), 0);
        let x = Array2::<f32>::zeros((4, 2));
        let e = c.predict(x.view()).unwrap_err().to_string();
        assert!(e.contains("before fit"), "{e}");
        let e = c.fit(x.view(), &[0, 1, 2, 0]).unwrap_err().to_string();
        assert!(e.contains("class 2"), "{e}");
    }

    #[test]
    fn a_fitted_classifier_predicts_with_its_network() {
        // Two well separated blobs: the trained network must separate them.
        let x = Array2::from_shape_fn((40, 2), |(i, j)| {
            let c = if i < 20 { -2.0 } else { 2.0 };
            c + ((i * 7 + j * 3) % 5) as f32 * 0.1
        });
        let y: Vec<usize> = (0..40).map(|i| usize::from(i >= 20)).collect();
        let arch = ModelSpec::Mlp(vec![8]).resolve(&[2], 2).unwrap();
        let config = TrainConfig {
            epochs: 30,
            batch_size: 8,
            lr: 0.05,
            ..TrainConfig::default()
        };
        let mut c = Classifier::new(arch, config, 1);
        c.fit(x.view(), &y).unwrap();
        let p = c.predict(x.view()).unwrap();
        assert_eq!(p, c.network().unwrap().predict(&x).unwrap());
        assert_eq!(p, y);
    }
}
