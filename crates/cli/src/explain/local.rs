//! Local attributions: the explained output and the attributions of chosen rows, by the
//! gradient, perturbation and Shapley methods.

use glassbox::distributed::Communicator;
use glassbox::eval::argmax_rows;
use glassbox::explain::lime::{LimeTabular, LimeTabularConfig};
use glassbox::explain::perturbation::{
    feature_ablation, occlusion, Baseline, FeatureAblationConfig, OcclusionConfig,
};
use glassbox::explain::shapley::{KernelShap, KernelShapConfig};
use glassbox::explain::TryFn;
use glassbox::gradient::{
    grad_cam, ig_batch_tolerance, integrated_gradients_with_tolerance, saliency,
};
use glassbox::Network;
use ndarray::{Array2, ArrayView2, Axis};
use serde_json::{json, Value};

use super::args::Method;
use super::context::Ctx;
use crate::error::{failure, usage, CliResult};

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

/// The explained output (the predicted class, or output 0 of a regression), the
/// attributions and the method's extra values (JSON) of every row of `rows`.
pub(super) fn attributions(
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
