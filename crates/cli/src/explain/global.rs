//! Global explanations of a bundle: surrogate decision-tree rules and permutation
//! importance.

use std::path::Path;

use glassbox::distributed::Communicator;
use glassbox::explain::global::{
    accuracy_scorer, permutation_importance, PermutationImportanceConfig,
};
use glassbox::explain::plot::{bar_chart_svg, BarChartConfig};
use glassbox::explain::surrogate::{GlobalSurrogate, LabelRule, TreeConfig};
use glassbox::explain::TryFn;
use glassbox::Targets;
use ndarray::ArrayView2;
use serde_json::{json, Value};

use super::args::ExplainArgs;
use super::context::Ctx;
use crate::error::{failure, usage, CliResult};

/// `--method rules`: a surrogate decision tree of the classifier, its rules and fidelity.
pub(super) fn rules(a: &ExplainArgs, ctx: &Ctx) -> CliResult<()> {
    let names = ctx.bundle.meta.feature_names.clone();
    if !ctx.classification() {
        return Err(usage(
            "invalid value 'rules' for '--method': rules need a classifier",
        ));
    }
    let f = TryFn(|v: ArrayView2<f64>| ctx.outputs(v));
    let cfg = TreeConfig {
        max_depth: Some(4),
        min_samples_leaf: 5,
        ..TreeConfig::default()
    };
    let s = GlobalSurrogate::fit(&f, ctx.x.view(), LabelRule::Argmax, &cfg)?;
    let fidelity = s.fidelity(&f, ctx.x.view())?;
    let mut rs = s.rules(&f, ctx.x.view())?;
    rs.feature_names = Some(names.clone());
    rs.class_names = Some(ctx.bundle.classes().to_vec());
    if a.json {
        let rules: Vec<Value> = rs.to_string().lines().zip(&rs.rules).map(|(l, r)| json!({
            "text": l.split("  (coverage").next().unwrap_or(l),
            "class": ctx.class_name(r.class), "coverage": r.coverage, "accuracy": r.accuracy, "support": r.support,
        })).collect();
        println!("{}", serde_json::to_string_pretty(&json!({"method": "rules", "feature_names": names, "fidelity": fidelity, "depth": s.tree.depth(), "rows": [], "rules": rules})).expect("json"));
    } else {
        print!("{rs}");
        println!(
            "fidelity: {:.1}% of {} rows (surrogate depth {})",
            100.0 * fidelity,
            ctx.x.nrows(),
            s.tree.depth()
        );
    }
    Ok(())
}

/// `--method permutation`: the accuracy drop when each feature is shuffled, on the rows of
/// `data` and their `targets`; only the `root` rank prints and writes.
pub(super) fn permutation(
    a: &ExplainArgs,
    ctx: &Ctx,
    targets: Option<Targets>,
    data: &Path,
    comm: Option<&dyn Communicator>,
    root: bool,
) -> CliResult<()> {
    let names = ctx.bundle.meta.feature_names.clone();
    let Some(Targets::Classes { labels, .. }) = targets else {
        return Err(failure(format!(
            "{}: permutation importance needs the target column of a classifier",
            data.display()
        )));
    };
    let f = TryFn(|v: ArrayView2<f64>| ctx.outputs(v));
    let cfg = PermutationImportanceConfig {
        seed: a.seed,
        ..PermutationImportanceConfig::default()
    };
    let pi = match comm {
        None => permutation_importance(&f, ctx.x.view(), accuracy_scorer(labels), &cfg)?,
        Some(c) => glassbox::distributed::permutation_importance(
            c,
            &f,
            ctx.x.view(),
            accuracy_scorer(labels),
            &cfg,
        )
        .map_err(glassbox::Error::from)?,
    };
    if !root {
        return Ok(());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json!({"method": "permutation", "feature_names": names, "baseline_score": pi.baseline_score, "importances_mean": pi.mean.to_vec(), "importances_std": pi.std.to_vec(), "rows": []})).expect("json"));
    } else {
        println!(
            "baseline accuracy {:.4}; accuracy drop when a feature is shuffled (5 repeats):",
            pi.baseline_score
        );
        for j in pi.ranking() {
            println!("  {:<32} {:+.4} ± {:.4}", names[j], pi.mean[j], pi.std[j]);
        }
    }
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).map_err(|e| failure(format!("{}: {e}", dir.display())))?;
        let svg = bar_chart_svg(
            &pi.mean.to_vec(),
            &names,
            &BarChartConfig {
                title: "permutation importance".into(),
                ..BarChartConfig::default()
            },
        )?;
        let p = dir.join("permutation_importance.svg");
        std::fs::write(&p, svg).map_err(|e| failure(format!("{}: {e}", p.display())))?;
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}
