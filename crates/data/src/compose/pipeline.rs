//! A sequence of numeric transformers fitted one after another.

use crate::error::{DataError, Result};
use crate::preprocess::*;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// One unfitted pipeline step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Step {
    /// Missing-value imputation.
    Impute(SimpleImputer),
    /// Standardisation.
    Standard(StandardScaler),
    /// Min-max scaling.
    MinMax(MinMaxScaler),
    /// Robust scaling.
    Robust(RobustScaler),
    /// Max-abs scaling.
    MaxAbs(MaxAbsScaler),
    /// Row normalisation.
    Normalize(Normalizer),
    /// Variance-based feature selection.
    VarianceThreshold(VarianceThreshold),
}

/// One fitted pipeline step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FittedStep {
    /// Fitted imputer.
    Impute(FittedSimpleImputer),
    /// Fitted standard scaler.
    Standard(FittedStandardScaler),
    /// Fitted min-max scaler.
    MinMax(FittedMinMaxScaler),
    /// Fitted robust scaler.
    Robust(FittedRobustScaler),
    /// Fitted max-abs scaler.
    MaxAbs(FittedMaxAbsScaler),
    /// Row normaliser.
    Normalize(Normalizer),
    /// Fitted variance threshold.
    VarianceThreshold(FittedVarianceThreshold),
}

impl Step {
    fn fit_transform(&self, x: ArrayView2<'_, f64>) -> Result<(FittedStep, Array2<f64>)> {
        Ok(match self {
            Step::Impute(s) => s
                .fit_transform(x)
                .map(|(f, y)| (FittedStep::Impute(f), y))?,
            Step::Standard(s) => s
                .fit_transform(x)
                .map(|(f, y)| (FittedStep::Standard(f), y))?,
            Step::MinMax(s) => s
                .fit_transform(x)
                .map(|(f, y)| (FittedStep::MinMax(f), y))?,
            Step::Robust(s) => s
                .fit_transform(x)
                .map(|(f, y)| (FittedStep::Robust(f), y))?,
            Step::MaxAbs(s) => s
                .fit_transform(x)
                .map(|(f, y)| (FittedStep::MaxAbs(f), y))?,
            Step::Normalize(s) => s
                .fit_transform(x)
                .map(|(f, y)| (FittedStep::Normalize(f), y))?,
            Step::VarianceThreshold(s) => s
                .fit_transform(x)
                .map(|(f, y)| (FittedStep::VarianceThreshold(f), y))?,
        })
    }
}

impl FittedStep {
    /// The step's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            FittedStep::Impute(_) => "SimpleImputer",
            FittedStep::Standard(_) => "StandardScaler",
            FittedStep::MinMax(_) => "MinMaxScaler",
            FittedStep::Robust(_) => "RobustScaler",
            FittedStep::MaxAbs(_) => "MaxAbsScaler",
            FittedStep::Normalize(_) => "Normalizer",
            FittedStep::VarianceThreshold(_) => "VarianceThreshold",
        }
    }

    fn as_transform(&self) -> &dyn Transform {
        match self {
            FittedStep::Impute(f) => f,
            FittedStep::Standard(f) => f,
            FittedStep::MinMax(f) => f,
            FittedStep::Robust(f) => f,
            FittedStep::MaxAbs(f) => f,
            FittedStep::Normalize(f) => f,
            FittedStep::VarianceThreshold(f) => f,
        }
    }

    fn as_inverse(&self) -> Option<&dyn InverseTransform> {
        match self {
            FittedStep::Standard(f) => Some(f),
            FittedStep::MinMax(f) => Some(f),
            FittedStep::Robust(f) => Some(f),
            FittedStep::MaxAbs(f) => Some(f),
            _ => None,
        }
    }

    /// Which input columns survive the step (`None`: all of them, one to one).
    pub fn kept_columns(&self) -> Option<&[usize]> {
        match self {
            FittedStep::Impute(f) => Some(&f.kept),
            FittedStep::VarianceThreshold(f) => Some(&f.support),
            _ => None,
        }
    }
}

/// An ordered list of numeric steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Steps, applied first to last.
    pub steps: Vec<Step>,
}

impl Pipeline {
    /// A pipeline of `steps`.
    pub fn new(steps: Vec<Step>) -> Self {
        Pipeline { steps }
    }
}

/// A fitted [`Pipeline`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPipeline {
    /// Fitted steps, applied first to last.
    pub steps: Vec<FittedStep>,
    /// Number of input columns.
    pub n_features: usize,
}

impl FittedPipeline {
    /// Checks the fitted parameters a deserialised pipeline carries (it may come from an
    /// untrusted model file): every scaler's divisor or multiplier is finite and non-zero,
    /// every offset finite, and kept-column indices are below the input width. A scale of
    /// 0 would map every row to the same (or an infinite) value.
    ///
    /// ```
    /// use glassbox_data::compose::{Pipeline, Step};
    /// use glassbox_data::preprocess::{Fit, StandardScaler};
    /// let x = ndarray::array![[1.0], [3.0]];
    /// let mut p = Pipeline::new(vec![Step::Standard(StandardScaler::default())]).fit(x.view())?;
    /// p.validate()?;
    /// if let glassbox_data::compose::FittedStep::Standard(s) = &mut p.steps[0] { s.scale[0] = 0.0; }
    /// assert!(p.validate().unwrap_err().to_string().contains("StandardScaler"));
    /// # Ok::<(), glassbox_data::DataError>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        let mut width = self.n_features;
        for (i, step) in self.steps.iter().enumerate() {
            let bad = |what: &str, j: usize, v: f64| {
                Err(DataError::invalid(
                    "FittedPipeline::validate",
                    format!(
                        "step {} ({}): {what} of feature {} is {v}",
                        i + 1,
                        step.name(),
                        j + 1
                    ),
                ))
            };
            let divisors: &[&ndarray::Array1<f64>] = match step {
                FittedStep::Standard(f) => &[&f.scale],
                FittedStep::MinMax(f) => &[&f.scale],
                FittedStep::Robust(f) => &[&f.scale],
                FittedStep::MaxAbs(f) => &[&f.scale],
                _ => &[],
            };
            for d in divisors {
                if let Some((j, &v)) = d
                    .iter()
                    .enumerate()
                    .find(|(_, v)| !(v.is_finite() && **v != 0.0))
                {
                    return bad("scale", j, v);
                }
            }
            let offsets: Vec<&ndarray::Array1<f64>> = match step {
                FittedStep::Standard(f) if f.with_mean => vec![&f.mean],
                FittedStep::MinMax(f) => vec![&f.min],
                FittedStep::Robust(f) => vec![&f.center],
                _ => vec![],
            };
            for o in offsets {
                if let Some((j, &v)) = o.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                    return bad("offset", j, v);
                }
            }
            if let Some(kept) = step.kept_columns() {
                if let Some(&k) = kept.iter().find(|&&k| k >= width) {
                    return Err(DataError::invalid(
                        "FittedPipeline::validate",
                        format!(
                            "step {} ({}) keeps column {k} of {width}",
                            i + 1,
                            step.name()
                        ),
                    ));
                }
                width = kept.len();
            }
        }
        Ok(())
    }

    /// Names of the output columns given the input names (follows dropped columns).
    pub fn feature_names(&self, input: &[String]) -> Vec<String> {
        let mut names = input.to_vec();
        for s in &self.steps {
            if let Some(kept) = s.kept_columns() {
                names = kept.iter().filter_map(|&k| names.get(k).cloned()).collect();
            }
        }
        names
    }
}

impl Fit for Pipeline {
    type Fitted = FittedPipeline;
    fn fit(&self, x: ArrayView2<'_, f64>) -> Result<FittedPipeline> {
        Ok(self.fit_transform(x)?.0)
    }
    fn fit_transform(&self, x: ArrayView2<'_, f64>) -> Result<(FittedPipeline, Array2<f64>)> {
        let mut cur = x.to_owned();
        let mut steps = Vec::with_capacity(self.steps.len());
        for s in &self.steps {
            let (f, y) = s.fit_transform(cur.view())?;
            steps.push(f);
            cur = y;
        }
        Ok((
            FittedPipeline {
                steps,
                n_features: x.ncols(),
            },
            cur,
        ))
    }
}

impl Transform for FittedPipeline {
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_features_pub("Pipeline::transform", self.n_features, x)?;
        let mut cur = x.to_owned();
        for s in &self.steps {
            cur = s.as_transform().transform(cur.view())?;
        }
        Ok(cur)
    }
    fn n_features_in(&self) -> usize {
        self.n_features
    }
}

impl InverseTransform for FittedPipeline {
    fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let mut cur = x.to_owned();
        for (i, s) in self.steps.iter().enumerate().rev() {
            let inv = s.as_inverse().ok_or_else(|| {
                DataError::invalid(
                    "Pipeline::inverse_transform",
                    format!("step {i} ({}) has no inverse", s.name()),
                )
            })?;
            cur = inv.inverse_transform(cur.view())?;
        }
        Ok(cur)
    }
}

fn check_features_pub(op: &'static str, n: usize, x: ArrayView2<'_, f64>) -> Result<()> {
    if x.ncols() != n {
        return Err(DataError::shape(
            op,
            format!("{n} features (as at fit time)"),
            format!("{} features", x.ncols()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn impute_then_scale_and_round_trip_json() {
        let x = array![[1.0, f64::NAN], [3.0, 2.0], [5.0, 4.0]];
        let p = Pipeline::new(vec![
            Step::Impute(SimpleImputer::new(ImputeStrategy::Mean)),
            Step::MinMax(MinMaxScaler::default()),
        ]);
        let (f, y) = p.fit_transform(x.view()).unwrap();
        // Column 1: NaN -> 3, then (v - 2) / 2.
        assert_eq!(y, array![[0.0, 0.5], [0.5, 0.0], [1.0, 1.0]]);
        let json = serde_json::to_string(&f).unwrap();
        let g: FittedPipeline = serde_json::from_str(&json).unwrap();
        assert_eq!(g.transform(x.view()).unwrap(), y);
        let e = f.inverse_transform(y.view()).unwrap_err().to_string();
        assert!(e.contains("step 0 (SimpleImputer) has no inverse"), "{e}");
        assert!(f.transform(array![[1.0]].view()).is_err());
    }

    #[test]
    fn feature_names_follow_dropped_columns() {
        let x = array![[1.0, 5.0, 0.0], [2.0, 5.0, 1.0]];
        let p = Pipeline::new(vec![Step::VarianceThreshold(VarianceThreshold::default())]);
        let f = p.fit(x.view()).unwrap();
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(f.feature_names(&names), vec!["a", "c"]);
    }
}
