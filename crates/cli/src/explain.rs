//! `glassbox explain`: attributions of a bundle's predictions (gradient, perturbation and
//! Shapley methods), global permutation importance, or surrogate rules.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use glassbox::distributed::Communicator;
use glassbox::eval::argmax_rows;
use glassbox::explain::global::{
    accuracy_scorer, permutation_importance, PermutationImportanceConfig,
};
use glassbox::explain::lime::{LimeTabular, LimeTabularConfig};
use glassbox::explain::perturbation::{
    feature_ablation, occlusion, Baseline, FeatureAblationConfig, OcclusionConfig,
};
use glassbox::explain::plot::{bar_chart_svg, heatmap_png, BarChartConfig, HeatmapConfig};
use glassbox::explain::shapley::{Background, KernelShap, KernelShapConfig};
use glassbox::explain::surrogate::{GlobalSurrogate, LabelRule, TreeConfig};
use glassbox::explain::TryFn;
use glassbox::gradient::{
    grad_cam, ig_batch_tolerance, integrated_gradients_with_tolerance, saliency,
};
use glassbox::report::{
    AttributionMap, FeatureChart, FeatureValue, GrayImage, ImageExplanation, Report,
};
use glassbox::{to_f32, to_f64, Bundle, Network, Targets, Task};
use ndarray::{Array2, ArrayView2, Axis};
use serde_json::{json, Value};

use crate::error::{failure, usage, CliResult};
use crate::input::prepare;
use crate::rows::parse_rows;

/// Attribution methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Integrated Gradients (zero baseline, adaptive rule complete to 1e-4 of f(x) - f(0)), with convergence delta.
    Ig,
    /// |gradient| of the explained output.
    Saliency,
    /// SmoothGrad: gradients averaged over 32 noisy copies (σ = 0.15).
    Smoothgrad,
    /// Grad-CAM on the last convolutional feature map (CNN bundles).
    Gradcam,
    /// Occlusion with 2×2 windows (images) or single features (tables).
    Occlusion,
    /// DeepLIFT (rescale rule).
    Deeplift,
    /// Kernel SHAP (background: k-means of the data, 10 centres).
    Shap,
    /// LIME for tabular rows (5000 samples).
    Lime,
    /// Global permutation importance (needs the target column).
    Permutation,
    /// Surrogate decision-tree rules and their fidelity.
    Rules,
    /// Layer Integrated Gradients on the embeddings of a Hugging Face text model (with
    /// `--text`): a BERT classifier's class or a GPT-2's next token.
    Lig,
    /// Attention rollout of `[CLS]` (Abnar & Zuidema; a heuristic, not an explanation) of a
    /// Hugging Face BERT classifier (with `--text`).
    Rollout,
}

impl Method {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::Ig => "ig",
            Method::Saliency => "saliency",
            Method::Smoothgrad => "smoothgrad",
            Method::Gradcam => "gradcam",
            Method::Occlusion => "occlusion",
            Method::Deeplift => "deeplift",
            Method::Shap => "shap",
            Method::Lime => "lime",
            Method::Permutation => "permutation",
            Method::Rules => "rules",
            Method::Lig => "lig",
            Method::Rollout => "rollout",
        }
    }
}

/// Flags of `glassbox explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Model bundle, or a Hugging Face model directory (with `--text`).
    #[arg(long, value_parser = crate::path_arg)]
    pub model: PathBuf,
    /// Data file (CSV or IDX images) of a bundle.
    #[arg(long, value_parser = crate::path_arg)]
    pub data: Option<PathBuf>,
    /// A text to explain with a Hugging Face BertForSequenceClassification (its predicted
    /// class, or `--target`) or GPT2LMHeadModel (its next token) directory.
    #[arg(long)]
    pub text: Option<String>,
    /// Gauss–Legendre points of `--method lig` (default 50, as Captum).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Output to explain with `--text`: class index or token id (default: the largest).
    #[arg(long)]
    pub target: Option<usize>,
    /// Also aggregate subword scores to words (`--text`).
    #[arg(long, value_enum)]
    pub words: Option<crate::explain_text::WordsFlag>,
    /// Method.
    #[arg(long, value_enum)]
    pub method: Method,
    /// Rows to explain, 0-based: `0,3,10-12` (default: the first 5).
    #[arg(long)]
    pub rows: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write pictures (SVG bar charts or PNG heatmaps) and an HTML page here; with `--text`,
    /// the report's text page (every method side by side, faithfulness table) to this
    /// `.html` file (or `explanation.html` in this directory).
    #[arg(long, value_parser = crate::path_arg)]
    pub out: Option<PathBuf>,
    /// With `--text` and `--out`: a faithfulness table (JSON, as written by the
    /// `text_faithfulness` example) to show instead of measuring on the one text.
    #[arg(long, value_parser = crate::path_arg)]
    pub faithfulness: Option<PathBuf>,
    /// Seed of the sampling methods.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Split the work across the ranks of an MPI job (`mpirun -np N glassbox explain …
    /// --distributed`; shap, ig and permutation); results equal one process bit for bit and
    /// only rank 0 prints and writes.
    #[arg(long)]
    pub distributed: bool,
}

struct Ctx<'a> {
    bundle: &'a Bundle,
    net: &'a Network,
    x: Array2<f64>,
}

impl Ctx<'_> {
    fn classification(&self) -> bool {
        matches!(self.bundle.meta.task, Task::Classification { .. })
    }
    /// Model outputs in the explained scale: probabilities, or de-standardised values.
    /// The network's error is returned as it is (the explainers report it by name).
    fn outputs(&self, x: ArrayView2<f64>) -> glassbox::Result<Array2<f64>> {
        let x = to_f32(x);
        Ok(match self.bundle.meta.task {
            Task::Classification { .. } => to_f64(self.net.predict_proba(&x)?.view()),
            Task::Regression { mean, std } => {
                to_f64(self.net.predict_outputs(&x)?.view()).mapv(|v| v * std + mean)
            }
        })
    }
    fn image_shape(&self) -> Option<(usize, usize, usize)> {
        match self.bundle.meta.architecture.input_shape().as_slice() {
            [c, h, w] => Some((*c, *h, *w)),
            _ => None,
        }
    }
    fn background(&self, seed: u64) -> CliResult<Background> {
        Ok(if self.x.nrows() <= 20 {
            Background::new(self.x.clone())?
        } else {
            Background::kmeans(self.x.view(), 10, seed)?
        })
    }
}

/// SmoothGrad of the CLI: 32 noisy copies per row, noise σ = 0.15 (in the units of the
/// model's inputs), through `glassbox-explain`'s noise tunnel.
fn smoothgrad(
    net: &Network,
    x: ArrayView2<f64>,
    targets: &[usize],
    seed: u64,
) -> CliResult<Array2<f64>> {
    Ok(glassbox::gradient::smoothgrad(
        net, x, targets, 32, 0.15, seed,
    )?)
}

fn local(
    ctx: &Ctx,
    method: Method,
    rows: &[usize],
    seed: u64,
    comm: Option<&dyn Communicator>,
) -> CliResult<(Vec<usize>, Array2<f64>, Vec<Value>)> {
    let xs = ctx.x.select(Axis(0), rows);
    let out = ctx.outputs(xs.view())?;
    let targets: Vec<usize> = if ctx.classification() {
        argmax_rows(&out)
    } else {
        vec![0; rows.len()]
    };
    let f = TryFn(|v: ArrayView2<f64>| ctx.outputs(v));
    let mut extra = vec![json!({}); rows.len()];
    let grad_ok = |name: &str| -> CliResult<()> {
        if ctx.classification() {
            Ok(())
        } else {
            Err(usage(format!("invalid value '{name}' for '--method': gradient methods explain classifiers; use shap, lime or occlusion for regression")))
        }
    };
    let attrs = match method {
        Method::Ig => {
            grad_ok("ig")?;
            let zero = Array2::zeros((1, xs.ncols()));
            // The tolerance comes from the whole batch, so each row's result depends on
            // that row alone and a rank's share equals those rows of the single-process run.
            let tolerance = ig_batch_tolerance(ctx.net, xs.view(), zero.view(), &targets)?;
            let ig_rows = |r: std::ops::Range<usize>| -> CliResult<Array2<f64>> {
                let x = xs.slice(ndarray::s![r.clone(), ..]);
                let ig = integrated_gradients_with_tolerance(
                    ctx.net,
                    x,
                    zero.view(),
                    &targets[r],
                    tolerance,
                )?;
                let mut out = ig.attributions;
                let extra = Array2::from_shape_fn((out.nrows(), 2), |(i, j)| {
                    if j == 0 {
                        ig.convergence_delta[i]
                    } else {
                        ig.output_difference[i]
                    }
                });
                out.append(Axis(1), extra.view())
                    .map_err(|e| usage(format!("internal shape error: {e}")))?;
                Ok(out)
            };
            let m = xs.ncols();
            let all = match comm {
                None => ig_rows(0..xs.nrows())?,
                Some(c) => crate::distributed::rows_across(c, xs.nrows(), m + 2, |r| {
                    Ok(ig_rows(r)?.into_iter().collect())
                })?,
            };
            let attributions = all.slice(ndarray::s![.., ..m]).to_owned();
            for (k, e) in extra.iter_mut().enumerate() {
                e["convergence_delta"] = json!(all[[k, m]]);
                e["output_difference"] = json!(all[[k, m + 1]]);
            }
            attributions
        }
        Method::Saliency => {
            grad_ok("saliency")?;
            saliency(ctx.net, xs.view(), &targets)?
        }
        Method::Smoothgrad => {
            grad_ok("smoothgrad")?;
            smoothgrad(ctx.net, xs.view(), &targets, seed)?
        }
        Method::Gradcam => {
            let layer = ctx.bundle.meta.architecture.gradcam_layer().ok_or_else(|| {
                usage(format!(
                    "invalid value 'gradcam' for '--method': the model is a {} network without convolutions",
                    ctx.bundle.meta.architecture.kind()
                ))
            })?;
            grad_cam(ctx.net, xs.view(), &targets, &layer)?
        }
        Method::Deeplift => {
            grad_ok("deeplift")?;
            let seq = ctx.net.sequential().ok_or_else(|| {
                usage("invalid value 'deeplift' for '--method': DeepLIFT needs a feed-forward (mlp or cnn) model")
            })?;
            let mut shape = vec![xs.nrows()];
            shape.extend(ctx.bundle.meta.architecture.input_shape());
            let x =
                glassbox::tensor::Tensor::from_vec(xs.iter().map(|&v| v as f32).collect(), &shape)
                    .map_err(|e| failure(e.to_string()))?;
            let model = glassbox::explain::gradient::GradModel::new(seq);
            let r = glassbox::explain::gradient::deeplift(
                &model,
                &x,
                &targets,
                &glassbox::explain::gradient::Baseline::Zeros,
            )
            .map_err(|e| failure(e.to_string()))?;
            for (e, d) in extra.iter_mut().zip(r.convergence_delta.iter()) {
                e["convergence_delta"] = json!(d);
            }
            let flat: Vec<f64> = r.attributions.iter().copied().collect();
            Array2::from_shape_vec(xs.dim(), flat).map_err(|e| failure(e.to_string()))?
        }
        Method::Occlusion => {
            let mut a = Array2::zeros(xs.dim());
            for (k, &t) in targets.iter().enumerate() {
                let row = xs.slice(ndarray::s![k..k + 1, ..]);
                let r = match ctx.image_shape() {
                    Some((c, h, w)) => occlusion(
                        &f,
                        row,
                        t,
                        &OcclusionConfig {
                            sample_shape: vec![c, h, w],
                            window: vec![c, 2, 2],
                            strides: vec![c, 1, 1],
                            baseline: Baseline::Scalar(0.0),
                            max_batch_rows: 0,
                        },
                    )?,
                    None => feature_ablation(&f, row, t, &FeatureAblationConfig::default())?,
                };
                a.row_mut(k).assign(&r.row(0));
            }
            a
        }
        Method::Shap => {
            let kernel = KernelShap::new(
                &f,
                ctx.background(seed)?,
                KernelShapConfig {
                    seed,
                    ..KernelShapConfig::default()
                },
            )?;
            let sv = match comm {
                None => kernel.explain(xs.view())?,
                Some(c) => glassbox::distributed::kernel_shap(c, &kernel, xs.view())
                    .map_err(glassbox::Error::from)?,
            };
            let mut a = Array2::zeros(xs.dim());
            for (k, &t) in targets.iter().enumerate() {
                a.row_mut(k)
                    .assign(&sv.values.index_axis(Axis(0), k).column(t));
                extra[k]["base_value"] = json!(sv.base_values[t]);
            }
            a
        }
        Method::Lime => {
            let lime = LimeTabular::new(
                ctx.x.view(),
                LimeTabularConfig {
                    seed,
                    ..LimeTabularConfig::default()
                },
            )?;
            let mut a = Array2::zeros(xs.dim());
            for (k, &t) in targets.iter().enumerate() {
                let e = lime.explain(&f, xs.row(k), t)?;
                a.row_mut(k).assign(&e.weights);
                extra[k]["intercept"] = json!(e.intercept);
                extra[k]["local_prediction"] = json!(e.local_prediction);
            }
            a
        }
        Method::Permutation | Method::Rules | Method::Lig | Method::Rollout => {
            unreachable!("global and text methods are handled by the caller")
        }
    };
    for (k, e) in extra.iter_mut().enumerate() {
        e["output"] = json!(out[[k, targets[k]]]);
    }
    Ok((targets, attrs, extra))
}

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

/// The data file of a bundle's explanation, after the checks that the flags are those of
/// a bundle (not of `--text`) and that `--model` is not a Hugging Face directory.
fn check_bundle_flags(a: &ExplainArgs) -> CliResult<PathBuf> {
    if matches!(a.method, Method::Lig | Method::Rollout) {
        return Err(usage(format!(
            "invalid value '{}' for '--method': it explains a text of a Hugging Face model \
             directory; pass '--text \"…\"' (a bundle takes '--data' and another method)",
            a.method.name()
        )));
    }
    for (set, flag) in [
        (a.steps.is_some(), "--steps"),
        (a.target.is_some(), "--target"),
        (a.words.is_some(), "--words"),
        (a.faithfulness.is_some(), "--faithfulness"),
    ] {
        if set {
            return Err(usage(format!(
                "'{flag}' goes with '--text' (a Hugging Face text model)"
            )));
        }
    }
    if a.model.is_dir() {
        if let Ok(source @ glassbox::ModelSource::HuggingFace { .. }) =
            glassbox::ModelSource::detect(&a.model)
        {
            return Err(usage(format!(
                "'--model {}': 'glassbox explain' with '--data' takes glassbox bundles and does \
                 not support a Hugging Face {}; explain one text with '--text \"…\"' \
                 (--method lig)",
                a.model.display(),
                source.kind()
            )));
        }
    }
    a.data.clone().ok_or_else(|| {
        usage(
            "the following required argument was not provided: '--data <DATA>' (or '--text' \
             with a Hugging Face model directory)",
        )
    })
}

/// Runs `glassbox explain`.
pub fn run(a: ExplainArgs) -> CliResult<()> {
    if let Some(text) = &a.text {
        return crate::explain_text::run(&a, text);
    }
    let data = check_bundle_flags(&a)?;
    let comm = crate::distributed::communicator(a.distributed)?;
    if comm.is_some() && !matches!(a.method, Method::Shap | Method::Ig | Method::Permutation) {
        return Err(usage(format!(
            "invalid value '{}' for '--method' with '--distributed': shap, ig and permutation run distributed",
            a.method.name()
        )));
    }
    let comm = comm.as_deref();
    let (bundle, net) = crate::models::load_bundle(&a.model, "explain")?.into_parts();
    let prepared = prepare(&bundle, &data)?;
    if let Some(c) = comm {
        // Every rank must explain the same model on the same rows.
        let model_print = glassbox::distributed::values_print(&net);
        glassbox::distributed::agree(c, &format!("model {}", a.model.display()), model_print)
            .map_err(glassbox::Error::from)?;
        let rows: Vec<f32> = prepared.x.iter().map(|&v| v as f32).collect();
        let data_print = glassbox::distributed::array_print(prepared.x.shape(), rows.iter());
        glassbox::distributed::agree(c, &format!("data {}", data.display()), data_print)
            .map_err(glassbox::Error::from)?;
    }
    let root = comm.is_none_or(|c| c.is_root());
    let ctx = Ctx {
        bundle: &bundle,
        net: &net,
        x: prepared.x,
    };
    let names = bundle.meta.feature_names.clone();
    let class_name = |t: usize| -> String {
        match &bundle.meta.task {
            Task::Classification { classes } => classes[t].clone(),
            Task::Regression { .. } => bundle.meta.target.clone().unwrap_or_else(|| "value".into()),
        }
    };
    match a.method {
        Method::Rules => {
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
            rs.class_names = Some(bundle.classes().to_vec());
            if a.json {
                let rules: Vec<Value> = rs.to_string().lines().zip(&rs.rules).map(|(l, r)| json!({
                    "text": l.split("  (coverage").next().unwrap_or(l),
                    "class": class_name(r.class), "coverage": r.coverage, "accuracy": r.accuracy, "support": r.support,
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
            return Ok(());
        }
        Method::Permutation => {
            let Some(Targets::Classes { labels, .. }) = prepared.targets else {
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
                println!("baseline accuracy {:.4}; accuracy drop when a feature is shuffled (5 repeats):", pi.baseline_score);
                for j in pi.ranking() {
                    println!("  {:<32} {:+.4} ± {:.4}", names[j], pi.mean[j], pi.std[j]);
                }
            }
            if let Some(dir) = &a.out {
                std::fs::create_dir_all(dir)
                    .map_err(|e| failure(format!("{}: {e}", dir.display())))?;
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
            return Ok(());
        }
        _ => {}
    }
    let n = ctx.x.nrows();
    let rows = match &a.rows {
        Some(spec) => parse_rows(spec, n)?,
        None => (0..n.min(5)).collect(),
    };
    let (targets, attrs, extra) = local(&ctx, a.method, &rows, a.seed, comm)?;
    if !root {
        return Ok(());
    }
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
    let labels: Vec<String> = targets.iter().map(|&t| class_name(t)).collect();
    let outputs = ctx.outputs(ctx.x.select(Axis(0), &rows).view())?;
    let pred: Vec<String> = if ctx.classification() {
        argmax_rows(&outputs).into_iter().map(class_name).collect()
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
        let page = write_pictures(dir, &ctx, a.method, &rows, &attrs, &labels)?;
        eprintln!("wrote pictures and {}", page.display());
    }
    Ok(())
}
