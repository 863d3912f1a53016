//! `glassbox select-features`: rank the numeric features of a CSV table and keep the best.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use glassbox::data::compose::{Pipeline, Step};
use glassbox::data::preprocess::{Fit, ImputeStrategy, SimpleImputer, Transform};
use glassbox::data::ColumnType;
use glassbox::explain::global::{
    accuracy_scorer, permutation_importance, PermutationImportanceConfig,
};
use glassbox::explain::selection::{
    chi2, f_classif, mutual_info_classif, recursive_feature_elimination, select_k_best, variances,
    MutualInfoConfig,
};
use glassbox::explain::surrogate::{DecisionTree, TreeConfig};
use glassbox::tabular::encode_target;
use glassbox::Targets;
use ndarray::{Array1, Array2, ArrayView2};
use serde_json::json;

use crate::error::{failure, usage, CliResult};
use crate::input::load_table;

/// Selection methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelectMethod {
    /// Feature variance (unsupervised).
    Variance,
    /// ANOVA F statistic (SelectKBest with f_classif).
    KbestF,
    /// χ² statistic (non-negative features).
    KbestChi2,
    /// Mutual information (k-nearest-neighbour estimate).
    MutualInfo,
    /// Recursive feature elimination with a decision tree's permutation importance.
    Rfe,
}

/// Flags of `glassbox select-features`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// CSV file.
    #[arg(long, value_parser = crate::path_arg)]
    pub data: PathBuf,
    /// Target column (classes).
    #[arg(long)]
    pub target: String,
    /// Method.
    #[arg(long, value_enum)]
    pub method: SelectMethod,
    /// Number of features to keep (default: half, at least 1).
    #[arg(long)]
    pub k: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn tree_importance(
    x: ArrayView2<f64>,
    y: &[usize],
    n_classes: usize,
) -> glassbox::explain::Result<Array1<f64>> {
    let tree = DecisionTree::fit(
        x,
        y,
        &TreeConfig {
            max_depth: Some(6),
            min_samples_leaf: 3,
            ..TreeConfig::default()
        },
    )?;
    let f = |v: ArrayView2<f64>| {
        let p = tree.predict(v).unwrap_or_else(|_| vec![0; v.nrows()]);
        let mut out = Array2::zeros((v.nrows(), n_classes));
        for (i, c) in p.into_iter().enumerate() {
            out[[i, c]] = 1.0;
        }
        out
    };
    let pi = permutation_importance(
        &f,
        x,
        accuracy_scorer(y.to_vec()),
        &PermutationImportanceConfig {
            n_repeats: 3,
            ..PermutationImportanceConfig::default()
        },
    )?;
    Ok(pi.mean)
}

/// Runs `glassbox select-features`.
pub fn run(a: SelectArgs) -> CliResult<()> {
    let table = load_table(&a.data)?;
    if table.column(&a.target).is_err() {
        return Err(failure(format!(
            "{}: target column '{}' does not exist (columns: {})",
            a.data.display(),
            a.target,
            table.column_names().join(", ")
        )));
    }
    let names: Vec<String> = table
        .columns()
        .iter()
        .filter(|c| c.name != a.target && c.column_type() == ColumnType::Numeric)
        .map(|c| c.name.clone())
        .collect();
    if names.is_empty() {
        return Err(failure(format!(
            "{}: no numeric feature columns",
            a.data.display()
        )));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let raw = table.to_array(&refs)?;
    let mut imputer = SimpleImputer::new(ImputeStrategy::Median);
    imputer.keep_empty_features = true;
    let x = Pipeline::new(vec![Step::Impute(imputer)])
        .fit(raw.view())?
        .transform(raw.view())?;
    let m = names.len();
    let k = a.k.unwrap_or((m / 2).max(1));
    if k == 0 || k > m {
        return Err(usage(format!("invalid value '{k}' for '--k': must be between 1 and {m} (the number of numeric features)")));
    }
    let (targets, _) = encode_target(&table, &a.target)?;
    let (y, n_classes) = match targets {
        Targets::Classes { labels, n_classes } => (labels, n_classes),
        Targets::Values(_) if a.method == SelectMethod::Variance => (Vec::new(), 0),
        Targets::Values(_) => {
            return Err(failure(format!(
                "{}: target '{}' is continuous; this method needs classes",
                a.data.display(),
                a.target
            )))
        }
    };
    let (scores, selected): (Array1<f64>, Vec<usize>) = match a.method {
        SelectMethod::Variance => {
            let v = variances(x.view())?;
            let sel = select_k_best(v.view(), k)?;
            (v, sel)
        }
        SelectMethod::KbestF => {
            let s = f_classif(x.view(), &y)?.scores;
            let sel = select_k_best(s.view(), k)?;
            (s, sel)
        }
        SelectMethod::KbestChi2 => {
            if let Some((i, j)) = x.indexed_iter().find(|(_, v)| **v < 0.0).map(|(ij, _)| ij) {
                return Err(failure(format!(
                    "{}: row {}, column '{}': chi2 needs non-negative features",
                    a.data.display(),
                    i + 1,
                    names[j]
                )));
            }
            let s = chi2(x.view(), &y)?.scores;
            let sel = select_k_best(s.view(), k)?;
            (s, sel)
        }
        SelectMethod::MutualInfo => {
            let s = mutual_info_classif(x.view(), &y, &MutualInfoConfig::default())?;
            let sel = select_k_best(s.view(), k)?;
            (s, sel)
        }
        SelectMethod::Rfe => {
            let r = recursive_feature_elimination(x.view(), k, 1, |sub, _| {
                tree_importance(sub, &y, n_classes)
            })?;
            let s = Array1::from(r.ranking.iter().map(|&v| v as f64).collect::<Vec<_>>());
            (s, r.selected)
        }
    };
    let mut sel = selected.clone();
    sel.sort_unstable();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "method": format!("{:?}", a.method).to_lowercase(),
                "k": k,
                "feature_names": names,
                "scores": scores.to_vec(),
                "selected": sel.iter().map(|&j| names[j].clone()).collect::<Vec<_>>(),
                "selected_indices": sel,
            }))
            .expect("json")
        );
        return Ok(());
    }
    let label = if a.method == SelectMethod::Rfe {
        "rank"
    } else {
        "score"
    };
    let mut order: Vec<usize> = (0..m).collect();
    if a.method == SelectMethod::Rfe {
        order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));
    } else {
        order.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]));
    }
    println!("{:<40} {:>14}  selected", "feature", label);
    for j in order {
        println!(
            "{:<40} {:>14.6}  {}",
            names[j],
            scores[j],
            if sel.contains(&j) { "yes" } else { "" }
        );
    }
    println!(
        "selected {} of {m}: {}",
        sel.len(),
        sel.iter()
            .map(|&j| names[j].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
