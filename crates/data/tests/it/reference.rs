//! Every value of `tests/reference/sklearn/preprocessing.json` and the `variance` entry of
//! `feature_selection.json` (scikit-learn 1.9.1) to 1e-6.

use glassbox_data::preprocess::*;
use glassbox_data::split::{KFold, StratifiedKFold};
use glassbox_data::{read_csv, CsvOptions};
use ndarray::Array2;
use serde_json::Value;

const TOL: f64 = 1e-6;

fn load(name: &str) -> Value {
    glassbox_testkit::reference_json(&format!("sklearn/{name}"))
}

/// Matrix with JSON `null` read as NaN (missing).
fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let (n, m) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, m), rows.into_iter().flatten().collect()).unwrap()
}

fn assert_matrix(name: &str, got: &Array2<f64>, want: &Value) {
    assert_eq!(
        got.shape(),
        &glassbox_testkit::json_shape(want)[..],
        "{name}: shape"
    );
    let got: Vec<f64> = got.iter().copied().collect();
    glassbox_testkit::assert_close(name, &got, &glassbox_testkit::json_f64(want), TOL);
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn scalers_match_sklearn() {
    let r = load("preprocessing.json");
    let x = matrix(&r["X"]);
    let s = &r["scalers"];
    let check = |name: &str, f: &dyn Fn() -> Array2<f64>| assert_matrix(name, &f(), &s[name]);
    check("standard", &|| {
        StandardScaler::default().fit_transform(x.view()).unwrap().1
    });
    check("minmax", &|| {
        MinMaxScaler::default().fit_transform(x.view()).unwrap().1
    });
    check("robust", &|| {
        RobustScaler::default().fit_transform(x.view()).unwrap().1
    });
    check("maxabs", &|| {
        MaxAbsScaler.fit_transform(x.view()).unwrap().1
    });
    check("normalizer_l2", &|| {
        Normalizer::new(Norm::L2).fit_transform(x.view()).unwrap().1
    });
}

#[test]
fn imputers_match_sklearn() {
    let r = load("preprocessing.json");
    let x = matrix(&r["X_missing"]);
    assert!(
        x.iter().any(|v| v.is_nan()),
        "reference holds missing values"
    );
    for (name, strategy) in [
        ("mean", ImputeStrategy::Mean),
        ("median", ImputeStrategy::Median),
        ("most_frequent", ImputeStrategy::MostFrequent),
    ] {
        let (_, got) = SimpleImputer::new(strategy)
            .fit_transform(x.view())
            .unwrap();
        assert_matrix(name, &got, &r["imputers"][name]);
    }
}

#[test]
fn encoders_match_sklearn() {
    let r = load("preprocessing.json");
    let c = &r["categorical"];
    let values: Vec<String> = c["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let col = Array2::from_shape_vec((values.len(), 1), values.clone()).unwrap();
    let enc = OneHotEncoder::default().fit(col.view()).unwrap();
    let cats: Vec<&str> = c["onehot_categories_sorted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(enc.categories[0], cats);
    assert_matrix("onehot", &enc.transform(col.view()).unwrap(), &c["onehot"]);
    let (_, codes) = LabelEncoder::fit_transform(&values).unwrap();
    assert_eq!(codes, usizes(&c["label_encoded"]));
    // The ordinal encoding of one column is the label encoding.
    let ord = OrdinalEncoder::default().fit(col.view()).unwrap();
    let o = ord.transform(col.view()).unwrap();
    assert_eq!(
        o.column(0).iter().map(|&v| v as usize).collect::<Vec<_>>(),
        codes
    );
}

#[test]
fn folds_match_sklearn() {
    let r = load("preprocessing.json");
    let want: Vec<Vec<usize>> = r["kfold_5_noshuffle_n23"]
        .as_array()
        .unwrap()
        .iter()
        .map(usizes)
        .collect();
    let got: Vec<Vec<usize>> = KFold::new(5)
        .split(23)
        .unwrap()
        .into_iter()
        .map(|f| f.test)
        .collect();
    assert_eq!(got, want);
    let s = &r["stratified_kfold_5_noshuffle"];
    let y = usizes(&s["y"]);
    let want: Vec<Vec<usize>> = s["test_folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(usizes)
        .collect();
    let got: Vec<Vec<usize>> = StratifiedKFold::new(5)
        .split(&y)
        .unwrap()
        .into_iter()
        .map(|f| f.test)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn wine_variances_match_sklearn() {
    let r = load("feature_selection.json");
    let wine = glassbox_testkit::bundled_data("tabular/wine.csv");
    let table = read_csv(&wine, &CsvOptions::default()).expect("bundled wine.csv parses");
    let table = table.drop_columns(&["target"]).unwrap();
    let (x, names) = table.numeric_array().unwrap();
    assert_eq!(names.len(), 13);
    let got = column_variances(x.view());
    let want = glassbox_testkit::json_f64(&r["variance"]);
    let got: Vec<f64> = got.iter().copied().collect();
    glassbox_testkit::assert_close("variance", &got, &want, TOL);
    let f = VarianceThreshold { threshold: 0.1 }.fit(x.view()).unwrap();
    let expected: Vec<usize> = (0..13).filter(|&j| want[j] > 0.1).collect();
    assert_eq!(f.support, expected);
}
