//! From a CSV table to model-ready rows: the fitted preprocessing (median imputation and
//! standardisation of numeric columns, one-hot encoding of categorical ones) and the target
//! encoding, stored in a bundle and re-applied unchanged at prediction time.

use glassbox_data::compose::{ColumnGroup, ColumnStep, ColumnTransformer, Pipeline, Step};
use glassbox_data::preprocess::{
    HandleUnknown, ImputeStrategy, OneHotEncoder, SimpleImputer, StandardScaler,
};
use glassbox_data::{ColumnData, ColumnType, Table};
use ndarray::Array2;

use crate::bundle::{Preprocessing, Task};
use crate::error::{Error, Result};
use crate::trainer::Targets;

/// Numeric targets with at most this many distinct integer values are read as classes.
pub const MAX_INTEGER_CLASSES: usize = 20;

/// A table turned into model-ready rows.
#[derive(Debug, Clone)]
pub struct TabularSet {
    /// Preprocessed feature rows.
    pub x: Array2<f64>,
    /// Encoded targets.
    pub targets: Targets,
    /// Classification (with class names) or regression (with target scaling).
    pub task: Task,
    /// The fitted preprocessing.
    pub preprocessing: Preprocessing,
    /// Names of the columns of `x`.
    pub feature_names: Vec<String>,
    /// Text columns left out (free text is not a feature).
    pub dropped: Vec<String>,
    /// Name of the target column the targets were read from.
    pub target: String,
}

fn input_columns(table: &Table, target: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut numeric, mut categorical, mut text) = (Vec::new(), Vec::new(), Vec::new());
    for c in table.columns() {
        if c.name == target {
            continue;
        }
        match c.column_type() {
            ColumnType::Numeric => numeric.push(c.name.clone()),
            ColumnType::Categorical => categorical.push(c.name.clone()),
            ColumnType::Text => text.push(c.name.clone()),
        }
    }
    (numeric, categorical, text)
}

/// Decides the task from the target column and encodes it.
pub fn encode_target(table: &Table, target: &str) -> Result<(Targets, Task)> {
    let col = table.column(target)?;
    let missing = |row: usize| {
        Error::Data(glassbox_data::DataError::MissingValue {
            op: "target",
            row: row + 1,
            column: format!("'{target}' of {}", table.source()),
        })
    };
    match &col.data {
        ColumnData::Numeric(v) => {
            let mut vals = Vec::with_capacity(v.len());
            for (i, x) in v.iter().enumerate() {
                vals.push(x.ok_or_else(|| missing(i))?);
            }
            let mut distinct: Vec<f64> = vals.clone();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            let integral = vals.iter().all(|x| x.fract() == 0.0);
            if integral && distinct.len() <= MAX_INTEGER_CLASSES && distinct.len() >= 2 {
                let labels = vals
                    .iter()
                    .map(|x| distinct.iter().position(|d| d == x).expect("present"))
                    .collect();
                let classes = distinct.iter().map(|d| format!("{d}")).collect();
                Ok((
                    Targets::Classes {
                        labels,
                        n_classes: distinct.len(),
                    },
                    Task::Classification { classes },
                ))
            } else {
                let n = vals.len() as f64;
                let mean = vals.iter().sum::<f64>() / n;
                let std = (vals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
                let std = if std > 0.0 { std } else { 1.0 };
                let scaled = vals.iter().map(|x| ((x - mean) / std) as f32).collect();
                Ok((Targets::Values(scaled), Task::Regression { mean, std }))
            }
        }
        ColumnData::Categorical(v) | ColumnData::Text(v) => {
            let mut vals = Vec::with_capacity(v.len());
            for (i, x) in v.iter().enumerate() {
                vals.push(x.clone().ok_or_else(|| missing(i))?);
            }
            let mut classes = vals.clone();
            classes.sort();
            classes.dedup();
            if classes.len() < 2 {
                return Err(Error::SingleClass {
                    column: target.to_string(),
                    class: classes.pop().unwrap_or_default(),
                });
            }
            let labels = vals
                .iter()
                .map(|x| classes.binary_search(x).expect("present"))
                .collect();
            Ok((
                Targets::Classes {
                    labels,
                    n_classes: classes.len(),
                },
                Task::Classification { classes },
            ))
        }
    }
}

/// Encodes `table[target]` against known `task` classes (for evaluation files); a class
/// not seen in training is an error naming it.
pub fn encode_known_target(table: &Table, target: &str, task: &Task) -> Result<Targets> {
    let col = table.column(target)?;
    match task {
        Task::Classification { classes } => {
            let mut labels = Vec::with_capacity(col.len());
            for i in 0..col.len() {
                let s = match col.value(i) {
                    glassbox_data::Value::Number(x) => format!("{x}"),
                    glassbox_data::Value::Str(s) => s.to_string(),
                    glassbox_data::Value::Missing => {
                        return Err(Error::Input(format!(
                            "{}: row {}, column '{target}': missing target",
                            table.source(),
                            i + 1
                        )))
                    }
                };
                let c = classes.iter().position(|c| *c == s).ok_or_else(|| {
                    Error::Input(format!(
                        "{}: row {}, column '{target}': class '{s}' was not seen in training \
                         (classes: {})",
                        table.source(),
                        i + 1,
                        classes.join(", ")
                    ))
                })?;
                labels.push(c);
            }
            Ok(Targets::Classes {
                labels,
                n_classes: classes.len(),
            })
        }
        Task::Regression { mean, std } => {
            let v = col
                .as_numeric()
                .ok_or_else(|| Error::Input(format!("target column '{target}' is not numeric")))?;
            let mut out = Vec::with_capacity(v.len());
            for (i, x) in v.iter().enumerate() {
                let x = x.ok_or_else(|| {
                    Error::Input(format!(
                        "{}: row {}, column '{target}': missing target",
                        table.source(),
                        i + 1
                    ))
                })?;
                out.push(((x - mean) / std) as f32);
            }
            Ok(Targets::Values(out))
        }
    }
}

/// Fits the preprocessing on `table` (all columns but `target`) and encodes the target.
pub fn fit_table(table: &Table, target: &str) -> Result<TabularSet> {
    table.column(target)?;
    let (numeric, categorical, text) = input_columns(table, target);
    if numeric.is_empty() && categorical.is_empty() {
        return Err(Error::Input(format!(
            "{}: no feature columns besides the target '{target}'",
            table.source()
        )));
    }
    let mut groups = Vec::new();
    if !numeric.is_empty() {
        let refs: Vec<&str> = numeric.iter().map(String::as_str).collect();
        let mut imputer = SimpleImputer::new(ImputeStrategy::Median);
        imputer.keep_empty_features = true;
        groups.push(ColumnGroup::new(
            "numeric",
            &refs,
            ColumnStep::Numeric(Pipeline::new(vec![
                Step::Impute(imputer),
                Step::Standard(StandardScaler::default()),
            ])),
        ));
    }
    if !categorical.is_empty() {
        let refs: Vec<&str> = categorical.iter().map(String::as_str).collect();
        groups.push(
            ColumnGroup::new(
                "categorical",
                &refs,
                ColumnStep::OneHot(OneHotEncoder {
                    handle_unknown: HandleUnknown::Ignore,
                }),
            )
            .with_fill_missing("missing"),
        );
    }
    let transformer = ColumnTransformer::new(groups).fit(table)?;
    let x = transformer.transform(table)?;
    let (targets, task) = encode_target(table, target)?;
    let mut columns = numeric;
    columns.extend(categorical);
    Ok(TabularSet {
        x,
        targets,
        task,
        feature_names: transformer.feature_names().to_vec(),
        preprocessing: Preprocessing::Table {
            columns,
            transformer,
        },
        dropped: text,
        target: target.to_string(),
    })
}

/// Applies a bundle's fitted preprocessing to `table`. Every input column the model was
/// trained on must be present (extra columns, such as the target, are ignored).
pub fn transform_table(table: &Table, preprocessing: &Preprocessing) -> Result<Array2<f64>> {
    match preprocessing {
        Preprocessing::Table {
            columns,
            transformer,
        } => {
            if let Some(missing) = columns.iter().find(|c| table.column(c).is_err()) {
                return Err(Error::Input(format!(
                    "{}: column '{missing}' used by the model is missing (model columns: {})",
                    table.source(),
                    columns.join(", ")
                )));
            }
            Ok(transformer.transform(table)?)
        }
        Preprocessing::Pixels { scale } => {
            let (x, _) = table.numeric_array()?;
            Ok(x.mapv(|v| v / scale))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_data::{read_csv_bytes, CsvOptions};

    #[test]
    fn missing_values_and_categories_become_finite_features() {
        let csv = "a,color,y\n1,red,yes\n,blue,no\n3,,yes\n5,red,no\n";
        let t = read_csv_bytes(csv.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        let s = fit_table(&t, "y").unwrap();
        assert_eq!(s.x.nrows(), 4);
        assert!(s.x.iter().all(|v| v.is_finite()));
        assert_eq!(
            s.task,
            Task::Classification {
                classes: vec!["no".into(), "yes".into()]
            }
        );
        assert_eq!(
            s.targets,
            Targets::Classes {
                labels: vec![1, 0, 1, 0],
                n_classes: 2
            }
        );
        // Median of 1, 3, 5 fills the gap: standardised it is 0.
        assert!(s.x[[1, 0]].abs() < 1e-12);
        let again = transform_table(&t, &s.preprocessing).unwrap();
        assert_eq!(again, s.x);
    }

    #[test]
    fn unknown_target_and_missing_columns_are_named() {
        let csv = "a,b,y\n1,2,0\n3,4,1\n";
        let t = read_csv_bytes(csv.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        let e = fit_table(&t, "nope").unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");
        let s = fit_table(&t, "y").unwrap();
        let t2 = read_csv_bytes("a,y\n1,0\n".as_bytes(), "u.csv", &CsvOptions::default()).unwrap();
        let e = transform_table(&t2, &s.preprocessing)
            .unwrap_err()
            .to_string();
        assert!(e.contains("u.csv") && e.contains("'b'"), "{e}");
    }

    #[test]
    fn continuous_targets_are_regression() {
        let csv = "a,y\n1,0.5\n2,1.5\n3,2.5\n";
        let t = read_csv_bytes(csv.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        let s = fit_table(&t, "y").unwrap();
        assert!(matches!(s.task, Task::Regression { mean, .. } if (mean - 1.5).abs() < 1e-12));
    }

    #[test]
    fn a_single_class_target_is_its_own_error() {
        let csv = "a,y\n1,spam\n2,spam\n3,spam\n";
        let t = read_csv_bytes(csv.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        match fit_table(&t, "y") {
            Err(Error::SingleClass { column, class }) => {
                assert_eq!((column.as_str(), class.as_str()), ("y", "spam"));
            }
            other => panic!("expected SingleClass, got {:?}", other.map(|s| s.task)),
        }
    }
}
