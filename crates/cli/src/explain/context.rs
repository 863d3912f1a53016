//! The model and the rows a bundle's explanation works on.

use glassbox::explain::shapley::Background;
use glassbox::{to_f32, to_f64, Bundle, Network, Task};
use ndarray::{Array2, ArrayView2};

use crate::error::CliResult;

/// A loaded bundle, its network and the prepared rows of the data file.
pub(super) struct Ctx<'a> {
    pub bundle: &'a Bundle,
    pub net: &'a Network,
    pub x: Array2<f64>,
}

impl Ctx<'_> {
    pub(super) fn classification(&self) -> bool {
        matches!(self.bundle.meta.task, Task::Classification { .. })
    }
    /// Model outputs in the explained scale: probabilities, or de-standardised values.
    /// The network's error is returned as it is (the explainers report it by name).
    pub(super) fn outputs(&self, x: ArrayView2<f64>) -> glassbox::Result<Array2<f64>> {
        let x = to_f32(x);
        Ok(match self.bundle.meta.task {
            Task::Classification { .. } => to_f64(self.net.predict_proba(&x)?.view()),
            Task::Regression { mean, std } => {
                to_f64(self.net.predict_outputs(&x)?.view()).mapv(|v| v * std + mean)
            }
        })
    }
    pub(super) fn image_shape(&self) -> Option<(usize, usize, usize)> {
        match self.bundle.meta.architecture.input_shape().as_slice() {
            [c, h, w] => Some((*c, *h, *w)),
            _ => None,
        }
    }
    pub(super) fn background(&self, seed: u64) -> CliResult<Background> {
        Ok(if self.x.nrows() <= 20 {
            Background::new(self.x.clone())?
        } else {
            Background::kmeans(self.x.view(), 10, seed)?
        })
    }
    /// The name of output `t`: its class, or the target column of a regression.
    pub(super) fn class_name(&self, t: usize) -> String {
        match &self.bundle.meta.task {
            Task::Classification { classes } => classes[t].clone(),
            Task::Regression { .. } => self
                .bundle
                .meta
                .target
                .clone()
                .unwrap_or_else(|| "value".into()),
        }
    }
}
