//! Cross-validation with small estimators written here (nearest centroid, mean regressor).

use glassbox_data::split::{KFold, StratifiedKFold};
use glassbox_data::{read_csv, CsvOptions};
use glassbox_metrics::cv::{make_folds, EstimatorError};
use glassbox_metrics::*;
use ndarray::{Array2, ArrayView2, Axis};

/// What the estimators below return.
type R<T> = std::result::Result<T, EstimatorError>;

/// Predicts the class whose training mean is nearest (Euclidean).
#[derive(Default)]
struct NearestCentroid {
    classes: Vec<i64>,
    centroids: Vec<Vec<f64>>,
}

impl Estimator for NearestCentroid {
    type Elem = f64;
    type Target = i64;
    type Prediction = Vec<i64>;
    fn fit(&mut self, x: ArrayView2<'_, f64>, y: &[i64]) -> R<()> {
        self.classes = unique_labels(&[y]);
        self.centroids = self
            .classes
            .iter()
            .map(|c| {
                let rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == *c).collect();
                x.select(Axis(0), &rows)
                    .mean_axis(Axis(0))
                    .unwrap()
                    .to_vec()
            })
            .collect();
        Ok(())
    }
    fn predict(&self, x: ArrayView2<'_, f64>) -> R<Vec<i64>> {
        if self.centroids.is_empty() {
            return Err("predict before fit".into());
        }
        Ok(x.rows()
            .into_iter()
            .map(|r| {
                let d = |c: &Vec<f64>| r.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
                let best = (0..self.classes.len())
                    .min_by(|&a, &b| d(&self.centroids[a]).total_cmp(&d(&self.centroids[b])))
                    .unwrap();
                self.classes[best]
            })
            .collect())
    }
}

/// Fails when fitted on fewer than `min_rows` rows.
struct Picky {
    min_rows: usize,
}

impl Estimator for Picky {
    type Elem = f64;
    type Target = i64;
    type Prediction = Vec<i64>;
    fn fit(&mut self, x: ArrayView2<'_, f64>, _: &[i64]) -> R<()> {
        if x.nrows() < self.min_rows {
            return Err(format!("need {} rows, got {}", self.min_rows, x.nrows()).into());
        }
        Ok(())
    }
    fn predict(&self, x: ArrayView2<'_, f64>) -> R<Vec<i64>> {
        Ok(vec![0; x.nrows()])
    }
}

fn iris() -> (Array2<f64>, Vec<i64>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tabular/iris.csv");
    let t = read_csv(path, &CsvOptions::default()).unwrap();
    let y: Vec<i64> = t
        .to_array(&["target"])
        .unwrap()
        .column(0)
        .iter()
        .map(|&v| v as i64)
        .collect();
    let (x, _) = t
        .drop_columns(&["target"])
        .unwrap()
        .numeric_array()
        .unwrap();
    (x, y)
}

#[test]
fn stratified_cv_of_nearest_centroid_matches_a_manual_loop() {
    let (x, y) = iris();
    let split = CvSplit::Stratified(StratifiedKFold::new(5));
    let folds = make_folds(&split, &y).unwrap();
    let score = |t: &[i64], p: &Vec<i64>| accuracy(t, p);
    let par = cross_validate(NearestCentroid::default, x.view(), &y, &folds, score, true).unwrap();
    let seq = cross_validate(NearestCentroid::default, x.view(), &y, &folds, score, false).unwrap();
    assert_eq!(par, seq);
    // Manual: fit on train rows, count hits on test rows.
    let mut manual = Vec::new();
    for f in &folds {
        let mut m = NearestCentroid::default();
        let ytr: Vec<i64> = f.train.iter().map(|&i| y[i]).collect();
        m.fit(x.select(Axis(0), &f.train).view(), &ytr).unwrap();
        let p = m.predict(x.select(Axis(0), &f.test).view()).unwrap();
        let hits = f.test.iter().zip(&p).filter(|(&i, &q)| y[i] == q).count();
        manual.push(hits as f64 / f.test.len() as f64);
    }
    assert_eq!(par.scores, manual);
    let mean = manual.iter().sum::<f64>() / 5.0;
    let std = (manual.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
    assert!((par.mean - mean).abs() < 1e-15 && (par.std - std).abs() < 1e-15);
    // Nearest centroid separates iris well (≈ 0.93 accuracy).
    assert!(par.mean > 0.85, "{par}");
    assert!(par.to_string().contains("over 5 folds"));
}

#[test]
fn estimator_errors_name_the_fold() {
    let (x, y) = iris();
    let folds = KFold::new(3).split(y.len()).unwrap();
    let score = |t: &[i64], p: &Vec<i64>| accuracy(t, p);
    let e = cross_validate(
        || Picky { min_rows: 1000 },
        x.view(),
        &y,
        &folds,
        score,
        true,
    )
    .unwrap_err();
    assert!(
        matches!(e, MetricsError::Estimator { stage: "fit", .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("need 1000 rows, got 100"), "{e}");
    let e = cross_validate(
        NearestCentroid::default,
        x.view(),
        &y[..10],
        &folds,
        score,
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("length mismatch"), "{e}");
    let e = make_folds(&CvSplit::KFold(KFold::new(1)), &y).unwrap_err();
    assert!(e.to_string().contains("n_splits must be at least 2"), "{e}");
}

#[test]
fn regression_cv_with_mean_predictor_scores_r2_at_most_zero() {
    /// Predicts the training mean: its R² on held-out data is ≤ 0 by construction
    /// (equal to 0 only when the test mean equals the training mean).
    struct Mean(f64);
    impl Estimator for Mean {
        type Elem = f64;
        type Target = f64;
        type Prediction = Vec<f64>;
        fn fit(&mut self, _: ArrayView2<'_, f64>, y: &[f64]) -> R<()> {
            self.0 = y.iter().sum::<f64>() / y.len() as f64;
            Ok(())
        }
        fn predict(&self, x: ArrayView2<'_, f64>) -> R<Vec<f64>> {
            Ok(vec![self.0; x.nrows()])
        }
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/tabular/diabetes.csv"
    );
    let t = read_csv(path, &CsvOptions::default()).unwrap();
    let y: Vec<f64> = t.to_array(&["target"]).unwrap().column(0).to_vec();
    let x = t.to_array(&["bmi"]).unwrap();
    let folds = KFold::new(5).shuffled(7).split(y.len()).unwrap();
    let r = cross_validate(
        || Mean(0.0),
        x.view(),
        &y,
        &folds,
        |t, p: &Vec<f64>| r2_score(t, p),
        true,
    )
    .unwrap();
    assert_eq!(r.scores.len(), 5);
    assert!(r.scores.iter().all(|&s| s <= 1e-12), "{:?}", r.scores);
}
