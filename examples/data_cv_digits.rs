//! 5-fold stratified cross-validation on the bundled digits data with a scaler + nearest-centroid
//! estimator, then a held-out classification report.
//!
//! Shows how any model plugs into `glassbox_metrics::cross_validate`: implement `Estimator`
//! (fit / predict). Preprocessing is fitted inside each fold, so no test statistics leak.
//!
//! `cargo run --release --example data_cv_digits`

use glassbox_data::compose::{FittedPipeline, Pipeline, Step};
use glassbox_data::preprocess::{Fit, StandardScaler, Transform};
use glassbox_data::split::{stratified_train_test_split, StratifiedKFold};
use glassbox_data::{read_csv, CsvOptions};
use glassbox_metrics::cv::{make_folds, EstimatorError};
use glassbox_metrics::{accuracy, classification_report, cross_validate, CvSplit, Estimator};
use ndarray::{Array2, ArrayView2, Axis};

/// Standardise, then predict the class with the nearest mean.
#[derive(Default)]
struct ScaledNearestCentroid {
    scaler: Option<FittedPipeline>,
    classes: Vec<i64>,
    centroids: Vec<Vec<f64>>,
}

impl Estimator for ScaledNearestCentroid {
    type Elem = f64;
    type Target = i64;
    type Prediction = Vec<i64>;

    fn fit(&mut self, x: ArrayView2<'_, f64>, y: &[i64]) -> Result<(), EstimatorError> {
        let (scaler, z) =
            Pipeline::new(vec![Step::Standard(StandardScaler::default())]).fit_transform(x)?;
        self.scaler = Some(scaler);
        self.classes = glassbox_metrics::unique_labels(&[y]);
        self.centroids = self
            .classes
            .iter()
            .map(|c| {
                let rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == *c).collect();
                z.select(Axis(0), &rows)
                    .mean_axis(Axis(0))
                    .map(|m| m.to_vec())
                    .unwrap_or_default()
            })
            .collect();
        Ok(())
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Vec<i64>, EstimatorError> {
        let scaler = self.scaler.as_ref().ok_or("predict called before fit")?;
        let z = scaler.transform(x)?;
        Ok(z.rows()
            .into_iter()
            .map(|r| {
                let dist = |c: &[f64]| r.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
                let best = (0..self.classes.len())
                    .min_by(|&a, &b| dist(&self.centroids[a]).total_cmp(&dist(&self.centroids[b])))
                    .unwrap_or(0);
                self.classes[best]
            })
            .collect())
    }
}

fn main() -> Result<(), EstimatorError> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/tabular/digits.csv");
    let table = read_csv(path, &CsvOptions::default())?;
    let y: Vec<i64> = table
        .to_array(&["target"])?
        .column(0)
        .iter()
        .map(|&v| v as i64)
        .collect();
    let (x, _) = table.drop_columns(&["target"])?.numeric_array()?;
    println!("digits: {} samples x {} features", x.nrows(), x.ncols());

    let folds = make_folds(
        &CvSplit::Stratified(StratifiedKFold::new(5).shuffled(0)),
        &y,
    )?;
    let cv = cross_validate(
        ScaledNearestCentroid::default,
        x.view(),
        &y,
        &folds,
        |t, p: &Vec<i64>| accuracy(t, p),
        true,
    )?;
    println!("5-fold accuracy: {cv}");
    for (k, s) in cv.scores.iter().enumerate() {
        println!("  fold {k}: {s:.4}");
    }

    let (train, test) = stratified_train_test_split(&y, 0.25, 1)?;
    let pick = |idx: &[usize]| -> (Array2<f64>, Vec<i64>) {
        (x.select(Axis(0), idx), idx.iter().map(|&i| y[i]).collect())
    };
    let ((xtr, ytr), (xte, yte)) = (pick(&train), pick(&test));
    let mut model = ScaledNearestCentroid::default();
    model.fit(xtr.view(), &ytr)?;
    let pred = model.predict(xte.view())?;
    println!(
        "\nheld-out report ({} samples):\n{}",
        yte.len(),
        classification_report(&yte, &pred)?
    );
    Ok(())
}
