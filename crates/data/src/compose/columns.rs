//! A column-wise transformer: named column groups of a [`Table`], each with its own step,
//! concatenated into one `f64` matrix.

use super::pipeline::{FittedPipeline, Pipeline};
use crate::error::{DataError, Result};
use crate::preprocess::{
    Fit, FittedOneHotEncoder, FittedOrdinalEncoder, OneHotEncoder, OrdinalEncoder, Transform,
};
use crate::table::{ColumnData, ColumnType, Table};
use ndarray::{concatenate, Array2, Axis};
use serde::{Deserialize, Serialize};

/// What is applied to a group of columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ColumnStep {
    /// A numeric pipeline (the columns must be numeric; missing values arrive as NaN).
    Numeric(Pipeline),
    /// One-hot encoding (numeric columns are encoded by their printed value).
    OneHot(OneHotEncoder),
    /// Ordinal encoding.
    Ordinal(OrdinalEncoder),
}

/// A named group of columns and its step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnGroup {
    /// Group name (used in messages).
    pub name: String,
    /// Column names.
    pub columns: Vec<String>,
    /// The step.
    pub step: ColumnStep,
    /// For encoders: what replaces missing values.
    pub missing: MissingCategory,
}

/// How encoder groups treat missing values (scikit-learn's `SimpleImputer` on strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MissingCategory {
    /// A missing value is an error naming its row and column.
    Error,
    /// Replace by this category.
    Constant(String),
    /// Replace by each column's most frequent category at fit time (the smallest on ties).
    MostFrequent,
}

impl ColumnGroup {
    /// A group applying `step` to `columns`.
    pub fn new(name: impl Into<String>, columns: &[&str], step: ColumnStep) -> Self {
        ColumnGroup {
            name: name.into(),
            columns: columns.iter().map(|s| s.to_string()).collect(),
            step,
            missing: MissingCategory::Error,
        }
    }

    /// Replaces missing values of encoder groups by `category`.
    pub fn with_fill_missing(mut self, category: impl Into<String>) -> Self {
        self.missing = MissingCategory::Constant(category.into());
        self
    }

    /// Replaces missing values of encoder groups by each column's most frequent category.
    pub fn with_most_frequent_fill(mut self) -> Self {
        self.missing = MissingCategory::MostFrequent;
        self
    }
}

/// What happens to columns that belong to no group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Remainder {
    /// Leave them out.
    Drop,
    /// Append the remaining *numeric* columns unchanged (a non-numeric one is an error).
    Passthrough,
}

/// Column groups plus a remainder policy (scikit-learn's `ColumnTransformer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnTransformer {
    /// Groups, whose outputs are concatenated in order.
    pub groups: Vec<ColumnGroup>,
    /// Columns not in any group.
    pub remainder: Remainder,
}

/// The fitted step of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FittedColumnStep {
    /// Fitted numeric pipeline.
    Numeric(FittedPipeline),
    /// Fitted one-hot encoder.
    OneHot(FittedOneHotEncoder),
    /// Fitted ordinal encoder.
    Ordinal(FittedOrdinalEncoder),
}

/// A fitted [`ColumnTransformer`]; serialise it with serde to ship it with a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedColumnTransformer {
    groups: Vec<FittedGroup>,
    passthrough: Vec<String>,
    feature_names: Vec<String>,
}

/// A fitted group: its spec, fitted step and the resolved fill value of each column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FittedGroup {
    group: ColumnGroup,
    step: FittedColumnStep,
    fills: Option<Vec<String>>,
}

/// The values of column `name` as strings (numbers printed), `None` for missing.
fn raw_strings(table: &Table, name: &str) -> Result<Vec<Option<String>>> {
    let col = table.column(name)?;
    Ok(match &col.data {
        ColumnData::Numeric(v) => v.iter().map(|x| x.map(|x| format!("{x}"))).collect(),
        ColumnData::Categorical(v) | ColumnData::Text(v) => v.clone(),
    })
}

/// Resolves the per-column fill values of an encoder group at fit time.
fn resolve_fills(table: &Table, group: &ColumnGroup) -> Result<Option<Vec<String>>> {
    match &group.missing {
        MissingCategory::Error => Ok(None),
        MissingCategory::Constant(c) => Ok(Some(vec![c.clone(); group.columns.len()])),
        MissingCategory::MostFrequent => {
            let mut fills = Vec::with_capacity(group.columns.len());
            for name in &group.columns {
                let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
                for v in raw_strings(table, name)?.into_iter().flatten() {
                    *counts.entry(v).or_default() += 1;
                }
                // BTreeMap iterates in sorted order, so the first maximum is the smallest.
                let best = counts
                    .into_iter()
                    .fold(None::<(String, usize)>, |b, (k, n)| match b {
                        Some((bk, bn)) if bn >= n => Some((bk, bn)),
                        _ => Some((k, n)),
                    })
                    .ok_or_else(|| DataError::Empty {
                        op: "ColumnTransformer::fit (most-frequent fill)",
                        reason: format!("column '{name}' of group '{}' has no values", group.name),
                    })?;
                fills.push(best.0);
            }
            Ok(Some(fills))
        }
    }
}

fn strings(table: &Table, group: &ColumnGroup, fills: Option<&[String]>) -> Result<Array2<String>> {
    let mut out = Array2::from_elem((table.n_rows(), group.columns.len()), String::new());
    for (j, name) in group.columns.iter().enumerate() {
        for (i, v) in raw_strings(table, name)?.into_iter().enumerate() {
            out[[i, j]] = match (v, fills.and_then(|f| f.get(j))) {
                (Some(s), _) => s,
                (None, Some(fill)) => fill.clone(),
                (None, None) => {
                    return Err(DataError::MissingValue {
                        op: "ColumnTransformer (encoder with MissingCategory::Error)",
                        row: i + 1,
                        column: format!("'{name}' of group '{}'", group.name),
                    })
                }
            };
        }
    }
    Ok(out)
}

/// Replaces the column index of an encoder's or scaler's error (it sees an array) by the
/// table's column name, so the message names what a user can act on.
fn name_column(e: DataError, names: &[String]) -> DataError {
    let rename = |column: String| match column.parse::<usize>().ok().and_then(|j| names.get(j)) {
        Some(name) => format!("'{name}'"),
        None => column,
    };
    match e {
        DataError::UnknownCategory {
            op,
            column,
            row,
            value,
        } => DataError::UnknownCategory {
            op,
            column: rename(column),
            row,
            value,
        },
        DataError::MissingValue { op, row, column } => DataError::MissingValue {
            op,
            row,
            column: rename(column),
        },
        DataError::NonFinite {
            op,
            row,
            column,
            value,
        } => DataError::NonFinite {
            op,
            row,
            column: rename(column),
            value,
        },
        other => other,
    }
}

fn numeric(table: &Table, names: &[String]) -> Result<Array2<f64>> {
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    table.to_array(&refs)
}

impl ColumnTransformer {
    /// A transformer with `groups`, dropping the other columns.
    pub fn new(groups: Vec<ColumnGroup>) -> Self {
        ColumnTransformer {
            groups,
            remainder: Remainder::Drop,
        }
    }

    /// Sets the remainder policy.
    pub fn with_remainder(mut self, remainder: Remainder) -> Self {
        self.remainder = remainder;
        self
    }

    /// Fits every group on `table`.
    pub fn fit(&self, table: &Table) -> Result<FittedColumnTransformer> {
        let mut used: Vec<&str> = Vec::new();
        let mut groups = Vec::with_capacity(self.groups.len());
        let mut feature_names = Vec::new();
        for g in &self.groups {
            for c in &g.columns {
                table.column_index(c)?;
                if used.contains(&c.as_str()) {
                    return Err(DataError::invalid(
                        "ColumnTransformer::fit",
                        format!(
                            "column '{c}' is in more than one group (again in '{}')",
                            g.name
                        ),
                    ));
                }
                used.push(c);
            }
            let fills = match g.step {
                ColumnStep::Numeric(_) => None,
                _ => resolve_fills(table, g)?,
            };
            let fitted = match &g.step {
                ColumnStep::Numeric(p) => {
                    let f = p.fit(numeric(table, &g.columns)?.view())?;
                    feature_names.extend(f.feature_names(&g.columns));
                    FittedColumnStep::Numeric(f)
                }
                ColumnStep::OneHot(e) => {
                    let f = e.fit(strings(table, g, fills.as_deref())?.view())?;
                    let refs: Vec<&str> = g.columns.iter().map(String::as_str).collect();
                    feature_names.extend(f.feature_names(&refs)?);
                    FittedColumnStep::OneHot(f)
                }
                ColumnStep::Ordinal(e) => {
                    feature_names.extend(g.columns.iter().cloned());
                    FittedColumnStep::Ordinal(e.fit(strings(table, g, fills.as_deref())?.view())?)
                }
            };
            groups.push(FittedGroup {
                group: g.clone(),
                step: fitted,
                fills,
            });
        }
        let mut passthrough = Vec::new();
        if self.remainder == Remainder::Passthrough {
            for c in table.columns() {
                if used.contains(&c.name.as_str()) {
                    continue;
                }
                if c.column_type() != ColumnType::Numeric {
                    return Err(DataError::ColumnType {
                        op: "ColumnTransformer::fit (remainder passthrough)",
                        column: c.name.clone(),
                        expected: "numeric".into(),
                        found: c.column_type().to_string(),
                    });
                }
                passthrough.push(c.name.clone());
            }
        }
        feature_names.extend(passthrough.iter().cloned());
        Ok(FittedColumnTransformer {
            groups,
            passthrough,
            feature_names,
        })
    }
}

impl FittedColumnTransformer {
    /// Names of the output columns (`"<column>_<category>"` for one-hot outputs).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Checks a deserialised transformer (it may come from an untrusted model file): every
    /// numeric group's fitted parameters ([`FittedPipeline::validate`]); errors name the
    /// group and its columns.
    pub fn validate(&self) -> Result<()> {
        for fg in &self.groups {
            if let FittedColumnStep::Numeric(p) = &fg.step {
                p.validate().map_err(|e| {
                    DataError::invalid(
                        "FittedColumnTransformer::validate",
                        format!(
                            "group '{}' (columns {}): {e}",
                            fg.group.name,
                            fg.group.columns.join(", ")
                        ),
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Applies the fitted groups to `table` (columns are looked up by name, so their order
    /// may differ from the training table's).
    pub fn transform(&self, table: &Table) -> Result<Array2<f64>> {
        let mut parts: Vec<Array2<f64>> = Vec::with_capacity(self.groups.len() + 1);
        for fg in &self.groups {
            let (g, fills) = (&fg.group, fg.fills.as_deref());
            let part = match &fg.step {
                FittedColumnStep::Numeric(p) => p.transform(numeric(table, &g.columns)?.view()),
                FittedColumnStep::OneHot(e) => e.transform(strings(table, g, fills)?.view()),
                FittedColumnStep::Ordinal(e) => e.transform(strings(table, g, fills)?.view()),
            };
            parts.push(part.map_err(|e| name_column(e, &g.columns))?);
        }
        parts.push(numeric(table, &self.passthrough)?);
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        concatenate(Axis(1), &views).map_err(|e| {
            DataError::shape(
                "ColumnTransformer::transform",
                "equal row counts",
                e.to_string(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::Step;
    use crate::preprocess::{ImputeStrategy, SimpleImputer, StandardScaler};
    use crate::table::Column;
    use ndarray::array;

    fn table() -> Table {
        Table::new(vec![
            Column::numeric("age", vec![Some(20.0), None, Some(40.0)]),
            Column::categorical("color", vec![Some("red".into()), Some("blue".into()), None]),
            Column::numeric("extra", vec![Some(1.0), Some(2.0), Some(3.0)]),
        ])
        .unwrap()
    }

    fn spec() -> ColumnTransformer {
        ColumnTransformer::new(vec![
            ColumnGroup::new(
                "num",
                &["age"],
                ColumnStep::Numeric(Pipeline::new(vec![
                    Step::Impute(SimpleImputer::new(ImputeStrategy::Mean)),
                    Step::Standard(StandardScaler::default()),
                ])),
            ),
            ColumnGroup::new(
                "cat",
                &["color"],
                ColumnStep::OneHot(OneHotEncoder::default()),
            )
            .with_fill_missing("missing"),
        ])
        .with_remainder(Remainder::Passthrough)
    }

    #[test]
    fn fits_transforms_and_serialises() {
        let t = table();
        let f = spec().fit(&t).unwrap();
        assert_eq!(
            f.feature_names(),
            &["age", "color_blue", "color_missing", "color_red", "extra"]
        );
        let y = f.transform(&t).unwrap();
        // age: imputed mean 30, population std of [20, 30, 40] = sqrt(200/3).
        let s = (200.0f64 / 3.0).sqrt();
        let expected = array![
            [-10.0 / s, 0.0, 0.0, 1.0, 1.0],
            [0.0, 1.0, 0.0, 0.0, 2.0],
            [10.0 / s, 0.0, 1.0, 0.0, 3.0]
        ];
        assert!((&y - &expected).iter().all(|d| d.abs() < 1e-12), "{y}");
        let json = serde_json::to_string(&f).unwrap();
        let g: FittedColumnTransformer = serde_json::from_str(&json).unwrap();
        assert_eq!(g.transform(&t).unwrap(), y);
    }

    #[test]
    fn most_frequent_fill_is_learnt_at_fit_time() {
        let t = table();
        let spec = ColumnTransformer::new(vec![ColumnGroup::new(
            "cat",
            &["color"],
            ColumnStep::Ordinal(OrdinalEncoder::default()),
        )
        .with_most_frequent_fill()]);
        let f = spec.fit(&t).unwrap();
        // "blue" and "red" tie once each: the smallest, "blue" (code 0), fills row 3.
        assert_eq!(f.transform(&t).unwrap(), array![[1.0], [0.0], [0.0]]);
        let new = Table::new(vec![Column::categorical(
            "color",
            vec![None, Some("red".into())],
        )])
        .unwrap();
        assert_eq!(f.transform(&new).unwrap(), array![[0.0], [1.0]]);
        let empty = Table::new(vec![Column::categorical("color", vec![None])]).unwrap();
        let e = spec.fit(&empty).unwrap_err().to_string();
        assert!(e.contains("'color'") && e.contains("no values"), "{e}");
    }

    #[test]
    fn errors_name_columns() {
        let t = table();
        let mut s = spec();
        s.groups[1].missing = MissingCategory::Error;
        let e = s.fit(&t).unwrap_err().to_string();
        assert!(e.contains("row 3") && e.contains("'color'"), "{e}");
        let bad = ColumnTransformer::new(vec![ColumnGroup::new(
            "x",
            &["nope"],
            ColumnStep::Ordinal(OrdinalEncoder::default()),
        )]);
        assert!(bad
            .fit(&t)
            .unwrap_err()
            .to_string()
            .contains("unknown column 'nope'"));
        let f = spec().fit(&t).unwrap();
        let e = f
            .transform(&t.drop_columns(&["extra"]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("'extra'"), "{e}");
    }
}
