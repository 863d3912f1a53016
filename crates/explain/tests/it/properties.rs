//! Property tests (proptest) of the model-agnostic explainers.

use glassbox_explain::global::{
    neg_mean_squared_error_scorer, permutation_importance, PermutationImportanceConfig,
};
use glassbox_explain::perturbation::{
    feature_ablation, occlusion, Baseline, FeatureAblationConfig, OcclusionConfig,
};
use glassbox_explain::shapley::{
    exact_shapley, Background, KernelShap, KernelShapConfig, PermutationShap, PermutationShapConfig,
};
use glassbox_explain::surrogate::{DecisionTree, RuleSet, TreeConfig};
use ndarray::{Array1, Array2, ArrayView2};
use proptest::prelude::*;

/// A random one-hidden-layer tanh network `m → h → k`; `ignored` features have zero input
/// weights, so the model does not depend on them.
#[derive(Debug, Clone)]
struct Mlp {
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

impl Mlp {
    fn new(m: usize, h: usize, k: usize, weights: &[f64], ignored: Option<usize>) -> Self {
        let mut it = weights.iter().copied().cycle();
        let mut w1 = Array2::from_shape_fn((m, h), |_| it.next().unwrap());
        if let Some(j) = ignored {
            w1.row_mut(j).fill(0.0);
        }
        let b1 = Array1::from_shape_fn(h, |_| it.next().unwrap());
        let w2 = Array2::from_shape_fn((h, k), |_| it.next().unwrap());
        let b2 = Array1::from_shape_fn(k, |_| it.next().unwrap());
        Mlp { w1, b1, w2, b2 }
    }

    fn predict(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let h = (x.dot(&self.w1) + &self.b1).mapv(f64::tanh);
        h.dot(&self.w2) + &self.b2
    }
}

fn case() -> impl Strategy<Value = (usize, usize, usize, Vec<f64>, Vec<f64>, Vec<f64>)> {
    (2usize..9, 1usize..4, 1usize..5).prop_flat_map(|(m, k, nbg)| {
        (
            Just(m),
            Just(k),
            Just(nbg),
            prop::collection::vec(-2.0f64..2.0, 64),
            prop::collection::vec(-3.0f64..3.0, 2 * m),
            prop::collection::vec(-3.0f64..3.0, nbg * m),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn kernel_shap_is_efficient_and_exact_when_enumerating((m, k, nbg, w, xs, bgs) in case()) {
        let net = Mlp::new(m, 5, k, &w, None);
        let f = |x: ArrayView2<f64>| net.predict(x);
        let x = Array2::from_shape_vec((2, m), xs).unwrap();
        let bg = Background::new(Array2::from_shape_vec((nbg, m), bgs).unwrap()).unwrap();
        // exact mode
        let ks = KernelShap::new(&f, bg.clone(), KernelShapConfig::default()).unwrap();
        let sv = ks.explain(x.view()).unwrap();
        prop_assert!(sv.efficiency_gap() < 1e-5, "gap {}", sv.efficiency_gap());
        let ex = exact_shapley(&f, x.view(), &bg).unwrap();
        for (a, b) in sv.values.iter().zip(ex.values.iter()) {
            prop_assert!((a - b).abs() < 1e-6, "kernel {a} exact {b}");
        }
        // sampled mode (budget far below 2^m - 2 for m >= 6): efficiency still exact
        let sampled = KernelShap::new(&f, bg, KernelShapConfig { n_samples: Some(12), seed: 3, ..Default::default() }).unwrap();
        let sv = sampled.explain(x.view()).unwrap();
        prop_assert!(sv.efficiency_gap() < 1e-5, "sampled gap {}", sv.efficiency_gap());
    }

    #[test]
    fn ignored_feature_gets_zero_attribution((m, k, nbg, w, xs, bgs) in case(), pick in 0usize..8) {
        let j = pick % m;
        let net = Mlp::new(m, 4, k, &w, Some(j));
        let f = |x: ArrayView2<f64>| net.predict(x);
        let x = Array2::from_shape_vec((2, m), xs).unwrap();
        let bg = Background::new(Array2::from_shape_vec((nbg, m), bgs.clone()).unwrap()).unwrap();
        let tol = 1e-9;
        let ex = exact_shapley(&f, x.view(), &bg).unwrap();
        let ks = KernelShap::new(&f, bg.clone(), KernelShapConfig::default()).unwrap().explain(x.view()).unwrap();
        let ps = PermutationShap::new(&f, bg, PermutationShapConfig { n_permutations: 3, ..Default::default() })
            .unwrap()
            .explain(x.view())
            .unwrap();
        for i in 0..2 {
            for c in 0..k {
                prop_assert!(ex.values[[i, j, c]].abs() < tol);
                prop_assert!(ks.values[[i, j, c]].abs() < 1e-7);
                prop_assert!(ps.values[[i, j, c]].abs() < tol);
            }
        }
        let abl = feature_ablation(&f, x.view(), k - 1, &FeatureAblationConfig::default()).unwrap();
        prop_assert!(abl.column(j).iter().all(|v| v.abs() < tol));
        // occlusion with 1-wide windows equals ablation; the ignored feature gets 0
        let occ = occlusion(&f, x.view(), k - 1, &OcclusionConfig {
            sample_shape: vec![m],
            window: vec![1],
            strides: vec![1],
            baseline: Baseline::Scalar(0.0),
            max_batch_rows: 0,
        }).unwrap();
        for (a, b) in occ.iter().zip(abl.iter()) {
            prop_assert!((a - b).abs() < 1e-12);
        }
        let data = Array2::from_shape_vec((nbg, m), bgs).unwrap();
        let targets: Vec<f64> = f(data.view()).column(0).to_vec();
        let pi = permutation_importance(&f, data.view(), neg_mean_squared_error_scorer(targets), &PermutationImportanceConfig::default()).unwrap();
        prop_assert!(pi.importances.row(j).iter().all(|v| v.abs() < tol));
    }

    #[test]
    fn surrogate_rules_cover_every_sample_once(
        n in 5usize..60,
        m in 1usize..5,
        vals in prop::collection::vec(-5i32..5, 300),
        labels in prop::collection::vec(0usize..3, 60),
        depth in 1usize..6,
    ) {
        let x = Array2::from_shape_fn((n, m), |(i, j)| vals[(i * m + j) % vals.len()] as f64 / 2.0);
        let y = &labels[..n];
        let tree = DecisionTree::fit(x.view(), y, &TreeConfig { max_depth: Some(depth), ..Default::default() }).unwrap();
        prop_assert!(tree.depth() <= depth);
        let rules = RuleSet::from_tree(&tree, x.view(), y).unwrap();
        let pred = tree.predict(x.view()).unwrap();
        let mut total = 0;
        for (i, row) in x.outer_iter().enumerate() {
            let hits = rules.matching(row);
            prop_assert_eq!(hits.len(), 1);
            prop_assert_eq!(rules.rules[hits[0]].class, pred[i]);
        }
        for r in &rules.rules {
            total += r.support;
        }
        prop_assert_eq!(total, n);
        // unseen points (between and beyond training values) are covered exactly once too
        let probe = Array2::from_shape_fn((20, m), |(i, j)| (i as f64 - 10.0) * 0.37 + j as f64 * 0.11);
        for row in probe.outer_iter() {
            prop_assert_eq!(rules.matching(row).len(), 1);
        }
    }
}

#[test]
fn sampled_kernel_shap_approaches_exact_values() {
    // 10 features (1022 coalitions); a budget of 600 sampled coalitions is close to exact.
    let w: Vec<f64> = (0..200)
        .map(|i| ((i * 37 % 17) as f64 - 8.0) / 6.0)
        .collect();
    let net = Mlp::new(10, 6, 2, &w, None);
    let f = |x: ArrayView2<f64>| net.predict(x);
    let x = Array2::from_shape_fn((2, 10), |(i, j)| ((i * 10 + j) as f64 * 0.7).sin() * 2.0);
    let bg = Background::new(Array2::from_shape_fn((4, 10), |(i, j)| {
        ((i * 3 + j) as f64).cos()
    }))
    .unwrap();
    let ex = exact_shapley(&f, x.view(), &bg).unwrap();
    let ks = KernelShap::new(
        &f,
        bg,
        KernelShapConfig {
            n_samples: Some(600),
            seed: 1,
            ..Default::default()
        },
    )
    .unwrap()
    .explain(x.view())
    .unwrap();
    let scale = ex.values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let err = ks
        .values
        .iter()
        .zip(ex.values.iter())
        .fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    assert!(err < 0.05 * scale, "max error {err} vs scale {scale}");
    assert!(ks.efficiency_gap() < 1e-9);
}
