//! End-to-end use on `data/tabular/breast_cancer.csv`: a small MLP trained here (plain
//! ndarray, full-batch gradient descent) is explained with a global surrogate tree,
//! permutation importance, Kernel SHAP, LIME and the checks of explanations.

use glassbox_explain::checks::{deletion_curve, CurveConfig};
use glassbox_explain::global::{
    neg_mean_squared_error_scorer, permutation_importance, PermutationImportanceConfig,
};
use glassbox_explain::lime::{LimeTabular, LimeTabularConfig};
use glassbox_explain::perturbation::Baseline;
use glassbox_explain::rng::Rng;
use glassbox_explain::shapley::{Background, KernelShap, KernelShapConfig};
use glassbox_explain::surrogate::{GlobalSurrogate, LabelRule, TreeConfig};
use ndarray::{s, Array1, Array2, ArrayView2, Axis};

fn load() -> (Array2<f64>, Vec<usize>, Vec<String>) {
    let path = glassbox_testkit::bundled_data("tabular/breast_cancer.csv");
    let text = std::fs::read_to_string(&path).expect("bundled breast_cancer.csv");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(String::from)
        .collect();
    let mut data = Vec::new();
    let mut y = Vec::new();
    for l in lines.filter(|l| !l.trim().is_empty()) {
        let v: Vec<f64> = l.split(',').map(|t| t.parse().unwrap()).collect();
        y.push(v[30] as usize);
        data.extend_from_slice(&v[..30]);
    }
    let x = Array2::from_shape_vec((y.len(), 30), data).unwrap();
    (x, y, header[..30].to_vec())
}

/// 30 → 16 (tanh) → 2 (softmax), trained by full-batch gradient descent on cross-entropy.
struct Mlp {
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

impl Mlp {
    fn forward(&self, x: ArrayView2<f64>) -> (Array2<f64>, Array2<f64>) {
        let h = (x.dot(&self.w1) + &self.b1).mapv(f64::tanh);
        let mut p = h.dot(&self.w2) + &self.b2;
        for mut r in p.axis_iter_mut(Axis(0)) {
            let m = r.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
            r.mapv_inplace(|v| (v - m).exp());
            let s = r.sum();
            r.mapv_inplace(|v| v / s);
        }
        (h, p)
    }

    fn train(x: ArrayView2<f64>, y: &[usize]) -> Self {
        let mut rng = Rng::new(0);
        let mut net = Mlp {
            w1: Array2::from_shape_fn((30, 16), |_| rng.normal() * 0.2),
            b1: Array1::zeros(16),
            w2: Array2::from_shape_fn((16, 2), |_| rng.normal() * 0.2),
            b2: Array1::zeros(2),
        };
        let n = x.nrows() as f64;
        let onehot = Array2::from_shape_fn((y.len(), 2), |(i, c)| f64::from(y[i] == c));
        for _ in 0..400 {
            let (h, p) = net.forward(x);
            let d2 = (&p - &onehot) / n;
            let dh = d2.dot(&net.w2.t()) * h.mapv(|v| 1.0 - v * v);
            net.w2 = &net.w2 - &(h.t().dot(&d2) * 0.5);
            net.b2 = &net.b2 - &(d2.sum_axis(Axis(0)) * 0.5);
            net.w1 = &net.w1 - &(x.t().dot(&dh) * 0.5);
            net.b1 = &net.b1 - &(dh.sum_axis(Axis(0)) * 0.5);
        }
        net
    }
}

fn top5(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    idx.truncate(5);
    idx
}

#[test]
fn breast_cancer_mlp_surrogate_importance_and_shap_agree() {
    let (raw, y, names) = load();
    // shuffle, split 70/30, standardise on the training part
    let mut order: Vec<usize> = (0..raw.nrows()).collect();
    Rng::new(42).shuffle(&mut order);
    let x = raw.select(Axis(0), &order);
    let y: Vec<usize> = order.iter().map(|&i| y[i]).collect();
    let n_train = x.nrows() * 7 / 10;
    let mean = x.slice(s![..n_train, ..]).mean_axis(Axis(0)).unwrap();
    let std = x.slice(s![..n_train, ..]).std_axis(Axis(0), 0.0);
    let x = (&x - &mean) / &std;
    let (xtr, xte) = (x.slice(s![..n_train, ..]), x.slice(s![n_train.., ..]));
    let (ytr, yte) = (&y[..n_train], &y[n_train..]);
    let net = Mlp::train(xtr, ytr);
    let f = |b: ArrayView2<f64>| net.forward(b).1;
    let acc = f(xte)
        .outer_iter()
        .zip(yte)
        .filter(|(p, &l)| usize::from(p[1] > p[0]) == l)
        .count() as f64
        / yte.len() as f64;
    assert!(acc > 0.93, "test accuracy {acc}");

    // Global surrogate of depth <= 4, fidelity on held-out rows.
    let sur = GlobalSurrogate::fit(
        &f,
        xtr,
        LabelRule::Argmax,
        &TreeConfig {
            max_depth: Some(4),
            min_samples_leaf: 5,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(sur.tree.depth() <= 4);
    let fidelity = sur.fidelity(&f, xte).unwrap();
    assert!(fidelity >= 0.9, "fidelity {fidelity}");
    let mut rules = sur.rules(&f, xte).unwrap();
    rules.feature_names = Some(names.clone());
    let text = rules.to_string();
    assert_eq!(text.lines().count(), rules.rules.len());
    assert_eq!(
        rules.rules.iter().map(|r| r.support).sum::<usize>(),
        xte.nrows()
    );
    eprintln!("surrogate fidelity {fidelity:.3}\n{text}");

    // Permutation importance (Brier-type score on P(class 1)) vs mean |Kernel SHAP|.
    let targets: Vec<f64> = yte.iter().map(|&l| l as f64).collect();
    let score = move |p: ArrayView2<f64>| {
        let col = p.column(1).to_owned().insert_axis(Axis(1));
        neg_mean_squared_error_scorer(targets.clone())(col.view())
    };
    let pi =
        permutation_importance(&f, xte, score, &PermutationImportanceConfig::default()).unwrap();
    let bg = Background::kmeans(xtr, 10, 0).unwrap();
    let ks = KernelShap::new(&f, bg, KernelShapConfig::default()).unwrap();
    let explained = xte.slice(s![..40, ..]);
    let sv = ks.explain(explained).unwrap();
    assert!(sv.efficiency_gap() < 1e-8);
    let shap1 = sv.for_output(1).unwrap();
    let mean_abs: Vec<f64> = shap1.mapv(f64::abs).mean_axis(Axis(0)).unwrap().to_vec();
    let (a, b) = (top5(pi.mean.as_slice().unwrap()), top5(&mean_abs));
    let common = a.iter().filter(|j| b.contains(j)).count();
    eprintln!("permutation top5 {a:?}, kernel shap top5 {b:?}");
    assert!(
        common >= 3,
        "only {common} of the top 5 agree: {a:?} vs {b:?}"
    );

    // Deletion curves: SHAP ranking beats a random ranking on average.
    let cfg = CurveConfig {
        steps: 10,
        baseline: Baseline::PerFeature(Array1::zeros(30)),
        ..Default::default()
    };
    let pred = f(explained);
    let mut shap_auc = 0.0;
    let mut rand_auc = 0.0;
    let mut rng = Rng::new(9);
    for i in 0..explained.nrows() {
        let c = usize::from(pred[[i, 1]] > pred[[i, 0]]);
        let row = explained.slice(s![i..i + 1, ..]);
        let attr = sv.for_output(c).unwrap().slice(s![i..i + 1, ..]).to_owned();
        let random = Array2::from_shape_fn((1, 30), |_| rng.uniform());
        shap_auc += deletion_curve(&f, row, attr.view(), c, &cfg).unwrap()[0].auc;
        rand_auc += deletion_curve(&f, row, random.view(), c, &cfg).unwrap()[0].auc;
    }
    assert!(
        shap_auc < rand_auc,
        "deletion AUC shap {shap_auc} vs random {rand_auc}"
    );

    // LIME: the local surrogate of P(class 1) fits reasonably and is close at the input.
    let lime = LimeTabular::new(
        xtr,
        LimeTabularConfig {
            n_samples: 2000,
            discretize: false,
            ..Default::default()
        },
    )
    .unwrap();
    let e = lime.explain(&f, xte.row(0), 1).unwrap();
    assert!(e.r2 > 0.5, "LIME R² {}", e.r2);
    assert!(e.weights.iter().all(|w| w.is_finite()));
}
