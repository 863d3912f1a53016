//! Loading the real datasets: those bundled in `data/` (a missing file fails), and the
//! larger ones of `../shared/data` (fail under CI when absent, skipped with a reason
//! elsewhere).

use glassbox_data::idx::{read_idx_images, read_idx_labels};
use glassbox_data::{read_csv, ColumnType, CsvOptions};
use glassbox_testkit::{bundled_data, shared_file};
use std::path::PathBuf;

/// `../shared/data/<rel>`: fails under CI when absent, otherwise `None` (reason printed).
fn shared(rel: &str) -> Option<PathBuf> {
    shared_file(&format!("data/{rel}"))
}

#[test]
fn co2_has_59_missing_values() {
    let p = bundled_data("timeseries/co2.csv");
    let t = read_csv(&p, &CsvOptions::default()).unwrap();
    assert_eq!(t.column_names(), vec!["date", "co2"]);
    assert_eq!(
        t.column_types(),
        vec![ColumnType::Numeric, ColumnType::Numeric]
    );
    assert_eq!(t.n_rows(), 2284);
    assert_eq!(t.column("co2").unwrap().missing_count(), 59);
    assert_eq!(t.drop_missing_rows(0).unwrap().n_rows(), 2284 - 59);
}

#[test]
fn tabular_csvs_load_as_numeric() {
    // (file, rows, columns including the target)
    for (name, rows, cols) in [
        ("iris.csv", 150, 5),
        ("wine.csv", 178, 14),
        ("breast_cancer.csv", 569, 31),
        ("digits.csv", 1797, 65),
        ("diabetes.csv", 442, 11),
    ] {
        let p = bundled_data(&format!("tabular/{name}"));
        let t = read_csv(&p, &CsvOptions::default()).unwrap();
        assert_eq!((t.n_rows(), t.n_cols()), (rows, cols), "{name}");
        assert!(
            t.column_types().iter().all(|&c| c == ColumnType::Numeric),
            "{name}"
        );
        assert!(t.columns().iter().all(|c| c.missing_count() == 0), "{name}");
    }
}

#[test]
fn mnist_test_split_loads_with_known_counts() {
    let ip = bundled_data("mnist/t10k-images-idx3-ubyte.gz");
    let lp = bundled_data("mnist/t10k-labels-idx1-ubyte.gz");
    let images = read_idx_images(&ip).unwrap();
    let labels = read_idx_labels(&lp).unwrap();
    assert_eq!(images.dim(), (10000, 28, 28));
    // Published class counts of the MNIST test split (shared/data/README.md).
    let mut counts = [0usize; 10];
    for &l in &labels {
        counts[l as usize] += 1;
    }
    assert_eq!(
        counts,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let mean = images.iter().map(|&v| v as f64).sum::<f64>() / images.len() as f64;
    assert!((mean - 33.791).abs() < 1e-3, "mean pixel {mean}");
}

#[test]
fn seattle_weather_infers_categorical_and_text() {
    let Some(p) = shared("timeseries/seattle-weather.csv") else {
        return;
    };
    let t = read_csv(&p, &CsvOptions::default()).unwrap();
    let types = t.column_types();
    // date: all distinct strings -> text; weather: five repeated labels -> categorical.
    assert_eq!(types[0], ColumnType::Text);
    assert_eq!(types[1..5], [ColumnType::Numeric; 4]);
    assert_eq!(types[5], ColumnType::Categorical);
}

#[test]
fn spam_corpus_gzip_csv_loads() {
    let Some(p) = shared("text/spam_assassin.csv.gz") else {
        return;
    };
    let t = read_csv(&p, &CsvOptions::default()).unwrap();
    assert_eq!(t.n_rows(), 6046);
    assert_eq!(
        t.column_names(),
        vec!["id", "group", "label", "subject", "body"]
    );
    assert_eq!(
        t.column("label").unwrap().column_type(),
        ColumnType::Categorical
    );
    assert_eq!(t.column("body").unwrap().column_type(), ColumnType::Text);
    let spam = t
        .column("label")
        .unwrap()
        .as_strings()
        .unwrap()
        .iter()
        .filter(|v| v.as_deref() == Some("spam"))
        .count();
    assert_eq!(spam, 1896);
}

#[test]
fn column_transformer_on_seattle_weather_round_trips_through_json() {
    use glassbox_data::compose::{
        ColumnGroup, ColumnStep, FittedColumnTransformer, Pipeline, Step,
    };
    use glassbox_data::preprocess::{ImputeStrategy, OneHotEncoder, SimpleImputer, StandardScaler};
    let Some(p) = shared("timeseries/seattle-weather.csv") else {
        return;
    };
    let t = read_csv(&p, &CsvOptions::default()).unwrap();
    let numeric = ["precipitation", "temp_max", "temp_min", "wind"];
    let spec = glassbox_data::compose::ColumnTransformer::new(vec![
        ColumnGroup::new(
            "num",
            &numeric,
            ColumnStep::Numeric(Pipeline::new(vec![
                Step::Impute(SimpleImputer::new(ImputeStrategy::Median)),
                Step::Standard(StandardScaler::default()),
            ])),
        ),
        ColumnGroup::new(
            "weather",
            &["weather"],
            ColumnStep::OneHot(OneHotEncoder::default()),
        ),
    ]);
    let train = t.select_rows(&(0..1000).collect::<Vec<_>>()).unwrap();
    let rest = t
        .select_rows(&(1000..t.n_rows()).collect::<Vec<_>>())
        .unwrap();
    let fitted = spec.fit(&train).unwrap();
    let names = fitted.feature_names().to_vec();
    assert_eq!(names.len(), 4 + 5, "{names:?}");
    assert!(names.contains(&"weather_rain".to_string()));
    let z = fitted.transform(&train).unwrap();
    // Training columns are standardised; one-hot rows sum to one.
    for j in 0..4 {
        let c = z.column(j);
        assert!((c.sum() / c.len() as f64).abs() < 1e-9);
    }
    assert!(z
        .rows()
        .into_iter()
        .all(|r| (r.slice(ndarray::s![4..]).sum() - 1.0).abs() < 1e-12));
    // A served copy (JSON) applies exactly the training-time preprocessing to new rows.
    let served: FittedColumnTransformer =
        serde_json::from_str(&serde_json::to_string(&fitted).unwrap()).unwrap();
    assert_eq!(
        served.transform(&rest).unwrap(),
        fitted.transform(&rest).unwrap()
    );
}
