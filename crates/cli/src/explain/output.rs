//! Output of local attributions: printed (text or JSON) and, with `--out`, pictures and an
//! HTML page.

use std::path::{Path, PathBuf};

use glassbox::eval::argmax_rows;
use glassbox::explain::plot::{bar_chart_svg, heatmap_png, BarChartConfig, HeatmapConfig};
use glassbox::report::{
    AttributionMap, FeatureChart, FeatureValue, GrayImage, ImageExplanation, Report,
};
use ndarray::{Array2, Axis};
use serde_json::{json, Value};

use super::args::{ExplainArgs, Method};
use super::context::Ctx;
use crate::error::{failure, CliResult};

/// Prints the attributions `attrs` of `rows` (of `data`) to their explained outputs
/// `targets`, with the methods' `extra` values, after checking that they are finite; with
/// `--out`, also writes pictures and an HTML page.
pub(super) fn print_local(
    a: &ExplainArgs,
    ctx: &Ctx,
    data: &Path,
    rows: &[usize],
    targets: &[usize],
    attrs: &Array2<f64>,
    extra: &[Value],
) -> CliResult<()> {
    let names = ctx.bundle.meta.feature_names.clone();
    // JSON has no NaN or infinity (they would print as `null`): refuse, naming the place.
    if let Some(((k, j), v)) = attrs.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(failure(format!(
            "{}: {} attribution of row {} to feature '{}' is {v} (the model's gradient or \
             output overflowed); nothing was printed",
            data.display(),
            a.method.name(),
            rows[k],
            names.get(j).map_or("?", |n| n.as_str())
        )));
    }
    let labels: Vec<String> = targets.iter().map(|&t| ctx.class_name(t)).collect();
    let outputs = ctx.outputs(ctx.x.select(Axis(0), rows).view())?;
    let pred: Vec<String> = if ctx.classification() {
        argmax_rows(&outputs)
            .into_iter()
            .map(|t| ctx.class_name(t))
            .collect()
    } else {
        outputs.column(0).iter().map(|v| v.to_string()).collect()
    };
    if a.json {
        let items: Vec<Value> = rows.iter().enumerate().map(|(k, &r)| {
            let mut o = json!({
                "row": r,
                "target": labels[k],
                "target_index": targets[k],
                "prediction": if ctx.classification() { json!(pred[k]) } else { json!(outputs[[k, 0]]) },
                "attributions": attrs.row(k).to_vec(),
            });
            for (key, v) in extra[k].as_object().into_iter().flatten() {
                o[key] = v.clone();
            }
            o
        }).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"method": a.method.name(), "feature_names": names, "rows": items})
            )
            .expect("json")
        );
    } else {
        for (k, &r) in rows.iter().enumerate() {
            println!(
                "row {r}: prediction {} (explaining output '{}')",
                pred[k], labels[k]
            );
            let mut order: Vec<usize> = (0..attrs.ncols()).collect();
            order.sort_by(|&i, &j| attrs[[k, j]].abs().total_cmp(&attrs[[k, i]].abs()));
            for &j in order.iter().take(10) {
                println!("  {:<32} {:+.5}", names[j], attrs[[k, j]]);
            }
            for (key, v) in extra[k].as_object().into_iter().flatten() {
                println!("  ({key} = {v})");
            }
        }
    }
    if let Some(dir) = &a.out {
        let page = write_pictures(dir, ctx, a.method, rows, attrs, &labels)?;
        eprintln!("wrote pictures and {}", page.display());
    }
    Ok(())
}

/// Writes a picture of every row's attributions (PNG heatmap of a one-channel image, else
/// an SVG bar chart) and an HTML page of them all into `dir`; returns the page's path.
fn write_pictures(
    dir: &Path,
    ctx: &Ctx,
    method: Method,
    rows: &[usize],
    attrs: &Array2<f64>,
    labels: &[String],
) -> CliResult<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| failure(format!("{}: cannot create folder: {e}", dir.display())))?;
    let names = &ctx.bundle.meta.feature_names;
    let mut report = Report {
        title: format!("glassbox explain --method {}", method.name()),
        subtitle: Some(format!("{} rows explained", rows.len())),
        ..Report::default()
    };
    for (k, &r) in rows.iter().enumerate() {
        let a = attrs.row(k).to_vec();
        match ctx.image_shape() {
            Some((1, h, w)) => {
                let img = ctx
                    .x
                    .row(r)
                    .to_owned()
                    .into_shape_with_order((h, w))
                    .map_err(|e| failure(e.to_string()))?;
                let at = attrs
                    .row(k)
                    .to_owned()
                    .into_shape_with_order((h, w))
                    .map_err(|e| failure(e.to_string()))?;
                let png = heatmap_png(
                    img.view(),
                    at.view(),
                    &HeatmapConfig {
                        scale: (224 / w.max(1)).max(1),
                        ..HeatmapConfig::default()
                    },
                )?;
                let p = dir.join(format!("row{r}_{}.png", method.name()));
                std::fs::write(&p, png).map_err(|e| failure(format!("{}: {e}", p.display())))?;
                report.image_explanations.push(ImageExplanation {
                    label: format!("row {r}"),
                    image: GrayImage {
                        width: w,
                        height: h,
                        pixels: img.iter().map(|&v| v as f32).collect(),
                        value_range: None,
                        invert: true,
                    },
                    predicted: labels[k].clone(),
                    actual: None,
                    confidence: None,
                    attributions: vec![AttributionMap {
                        method: method.name().into(),
                        width: w,
                        height: h,
                        values: a.iter().map(|&v| v as f32).collect(),
                        colormap: None,
                        note: None,
                    }],
                });
            }
            _ => {
                let svg = bar_chart_svg(
                    &a,
                    names,
                    &BarChartConfig {
                        title: format!("row {r}: {} → {}", method.name(), labels[k]),
                        ..BarChartConfig::default()
                    },
                )?;
                let p = dir.join(format!("row{r}_{}.svg", method.name()));
                std::fs::write(&p, svg).map_err(|e| failure(format!("{}: {e}", p.display())))?;
                report.tabular_attributions.push(FeatureChart {
                    title: format!("row {r} (explained output: {})", labels[k]),
                    description: None,
                    value_label: "attribution".into(),
                    features: names
                        .iter()
                        .zip(&a)
                        .map(|(n, &v)| FeatureValue {
                            name: n.clone(),
                            value: v,
                            error: None,
                        })
                        .collect(),
                    max_features: Some(20),
                });
            }
        }
    }
    Ok(report.write_html(dir.join("explanations.html"))?)
}
