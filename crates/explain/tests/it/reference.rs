//! Reference tests against Captum / SHAP / scikit-learn outputs in `tests/reference/`
//! (a missing file fails).

use glassbox_explain::perturbation::{
    feature_ablation, occlusion, Baseline, FeatureAblationConfig, OcclusionConfig,
};
use glassbox_explain::shapley::{
    exact_shapley, Background, KernelShap, KernelShapConfig, PermutationShap, PermutationShapConfig,
};
use glassbox_testkit::{assert_close, assert_relative, json_f64 as flat, json_shape};
use ndarray::{Array1, Array2, ArrayView2};
use serde_json::Value;

fn load(rel: &str) -> Value {
    glassbox_testkit::reference_json(rel)
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows = json_shape(v)[0];
    let data = flat(v);
    Array2::from_shape_vec((rows, data.len() / rows), data).unwrap()
}

/// Sequential(Linear(4,3), ReLU, Linear(3,2)) written out with plain loops.
fn mlp(params: &Value) -> impl Fn(ArrayView2<f64>) -> Array2<f64> + Sync {
    let w1 = matrix(&params["0.weight"]);
    let b1 = Array1::from(flat(&params["0.bias"]));
    let w2 = matrix(&params["2.weight"]);
    let b2 = Array1::from(flat(&params["2.bias"]));
    move |x: ArrayView2<f64>| {
        let mut out = Array2::zeros((x.nrows(), w2.nrows()));
        for (r, row) in x.outer_iter().enumerate() {
            let h: Vec<f64> = (0..w1.nrows())
                .map(|o| {
                    (b1[o] + (0..w1.ncols()).map(|i| w1[[o, i]] * row[i]).sum::<f64>()).max(0.0)
                })
                .collect();
            for o in 0..w2.nrows() {
                out[[r, o]] = b2[o] + (0..h.len()).map(|i| w2[[o, i]] * h[i]).sum::<f64>();
            }
        }
        out
    }
}

/// Valid 3x3 convolution, NCHW with one sample: `x` is `[cin, h, w]` flattened.
fn conv3(x: &[f64], cin: usize, h: usize, w: usize, weight: &[f64], bias: &[f64]) -> Vec<f64> {
    let cout = bias.len();
    let (oh, ow) = (h - 2, w - 2);
    let mut out = vec![0.0; cout * oh * ow];
    for o in 0..cout {
        for i in 0..oh {
            for j in 0..ow {
                let mut acc = bias[o];
                for c in 0..cin {
                    for a in 0..3 {
                        for b in 0..3 {
                            acc += weight[((o * cin + c) * 3 + a) * 3 + b]
                                * x[(c * h + i + a) * w + j + b];
                        }
                    }
                }
                out[(o * oh + i) * ow + j] = acc.max(0.0); // ReLU follows both convs
            }
        }
    }
    out
}

/// Sequential(Conv2d(1,2,3), ReLU, Conv2d(2,2,3), ReLU, Flatten, Linear(8,3)) on 1x6x6 rows.
fn cnn(params: &Value) -> impl Fn(ArrayView2<f64>) -> Array2<f64> + Sync {
    let w0 = flat(&params["0.weight"]);
    let b0 = flat(&params["0.bias"]);
    let w2 = flat(&params["2.weight"]);
    let b2 = flat(&params["2.bias"]);
    let w5 = matrix(&params["5.weight"]);
    let b5 = flat(&params["5.bias"]);
    move |x: ArrayView2<f64>| {
        let mut out = Array2::zeros((x.nrows(), 3));
        for (r, row) in x.outer_iter().enumerate() {
            let img: Vec<f64> = row.to_vec();
            let h1 = conv3(&img, 1, 6, 6, &w0, &b0);
            let h2 = conv3(&h1, 2, 4, 4, &w2, &b2);
            for o in 0..3 {
                out[[r, o]] = b5[o] + (0..8).map(|i| w5[[o, i]] * h2[i]).sum::<f64>();
            }
        }
        out
    }
}

#[test]
fn tabular_mlp_forward_matches_reference_outputs() {
    let d = load("captum/attributions.json");
    let t = &d["tabular_mlp"];
    let f = mlp(&t["params"]);
    let y = f(matrix(&t["inputs"]).view());
    assert_close(
        "outputs",
        y.as_slice().unwrap(),
        &flat(&t["outputs"]),
        1e-10,
    );
}

#[test]
fn exact_and_kernel_shapley_match_reference() {
    let d = load("captum/attributions.json");
    let t = &d["tabular_mlp"];
    let f = mlp(&t["params"]);
    let x = matrix(&t["inputs"]);
    let sh = &t["shapley_exact"];
    let out = sh["output_index"].as_u64().unwrap() as usize;
    let want = flat(&sh["values"]);
    let bg = Background::new(matrix(&sh["background"])).unwrap();

    let exact = exact_shapley(&f, x.view(), &bg).unwrap();
    assert!((exact.base_values[out] - sh["base_value"].as_f64().unwrap()).abs() < 1e-10);
    let got = exact.for_output(out).unwrap();
    assert_close("exact shapley", got.as_slice().unwrap(), &want, 1e-4);

    // 2^4 - 2 = 14 coalitions fit in the default budget: exact mode.
    let kernel = KernelShap::new(&f, bg.clone(), KernelShapConfig::default()).unwrap();
    let ks = kernel.explain(x.view()).unwrap();
    let got = ks.for_output(out).unwrap();
    assert_close(
        "kernel shap (exact mode)",
        got.as_slice().unwrap(),
        &want,
        1e-4,
    );
    assert!(ks.efficiency_gap() < 1e-10);

    // Permutation SHAP with every order of 4 features sampled often is close too.
    let ps = PermutationShap::new(
        &f,
        bg,
        PermutationShapConfig {
            n_permutations: 400,
            ..Default::default()
        },
    )
    .unwrap();
    let pv = ps.explain(x.view()).unwrap();
    assert!(pv.efficiency_gap() < 1e-10);
    assert_close(
        "permutation shap",
        pv.for_output(out).unwrap().as_slice().unwrap(),
        &want,
        0.05,
    );
}

#[test]
fn feature_ablation_matches_captum() {
    let d = load("captum/attributions.json");
    let t = &d["tabular_mlp"];
    let f = mlp(&t["params"]);
    let x = matrix(&t["inputs"]);
    let target = t["target"].as_u64().unwrap() as usize;
    let a = feature_ablation(&f, x.view(), target, &FeatureAblationConfig::default()).unwrap();
    assert_close(
        "feature ablation",
        a.as_slice().unwrap(),
        &flat(&t["feature_ablation_baseline0"]),
        1e-4,
    );
}

#[test]
fn cnn_forward_and_occlusion_match_captum() {
    let d = load("captum/attributions.json");
    let t = &d["image_cnn"];
    let f = cnn(&t["params"]);
    let x = matrix(&t["inputs"]); // [2, 36]
    assert_eq!(x.dim(), (2, 36));
    let y = f(x.view());
    assert_close(
        "cnn outputs",
        y.as_slice().unwrap(),
        &flat(&t["outputs"]),
        1e-10,
    );
    let target = t["target"].as_u64().unwrap() as usize;
    for (key, window, strides) in [
        (
            "occlusion_window_1x2x2_stride_1x2x2_baseline0",
            vec![1, 2, 2],
            vec![1, 2, 2],
        ),
        (
            "occlusion_window_1x3x3_stride_1x1x1_baseline0",
            vec![1, 3, 3],
            vec![1, 1, 1],
        ),
    ] {
        let cfg = OcclusionConfig {
            sample_shape: vec![1, 6, 6],
            window,
            strides,
            baseline: Baseline::Scalar(0.0),
            max_batch_rows: 7,
        };
        let a = occlusion(&f, x.view(), target, &cfg).unwrap();
        assert_close(key, a.as_slice().unwrap(), &flat(&t[key]), 1e-4);
    }
}

/// Reads a bundled CSV (`data/<rel>`) with a header and a numeric last column `target`.
fn read_csv(rel: &str) -> (Array2<f64>, Vec<usize>) {
    let path = glassbox_testkit::bundled_data(rel);
    let text = std::fs::read_to_string(&path).expect("bundled CSV is readable");
    let mut rows = Vec::new();
    let mut y = Vec::new();
    let mut cols = 0;
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let vals: Vec<f64> = line.split(',').map(|v| v.trim().parse().unwrap()).collect();
        cols = vals.len() - 1;
        y.push(vals[cols] as usize);
        rows.extend_from_slice(&vals[..cols]);
    }
    (Array2::from_shape_vec((y.len(), cols), rows).unwrap(), y)
}

#[test]
fn feature_selection_matches_sklearn_on_wine() {
    use glassbox_explain::selection::{chi2, f_classif, select_k_best, variances};
    let d = load("sklearn/feature_selection.json");
    let (x, y) = read_csv("tabular/wine.csv");
    let f = f_classif(x.view(), &y).unwrap();
    assert_relative(
        "f_classif F",
        f.scores.as_slice().unwrap(),
        &flat(&d["f_classif"]["F"]),
        1e-6,
    );
    assert_relative(
        "f_classif p",
        f.pvalues.as_slice().unwrap(),
        &flat(&d["f_classif"]["pvalues"]),
        1e-6,
    );
    let c = chi2(x.view(), &y).unwrap();
    assert_relative(
        "chi2",
        c.scores.as_slice().unwrap(),
        &flat(&d["chi2"]["chi2"]),
        1e-6,
    );
    assert_relative(
        "chi2 p",
        c.pvalues.as_slice().unwrap(),
        &flat(&d["chi2"]["pvalues"]),
        1e-6,
    );
    let v = variances(x.view()).unwrap();
    assert_relative(
        "variance",
        v.as_slice().unwrap(),
        &flat(&d["variance"]),
        1e-6,
    );
    let k5 = select_k_best(f.scores.view(), 5).unwrap();
    let want: Vec<usize> = flat(&d["select_k_best_f_classif_k5"])
        .iter()
        .map(|v| *v as usize)
        .collect();
    assert_eq!(k5, want);
}
