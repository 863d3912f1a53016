//! Explaining a share of the rows (or features) gives exactly those rows of the full
//! result, bit for bit: the property distributed explanations rely on.

use glassbox_autograd::Var;
use glassbox_explain::global::{
    accuracy_scorer, permutation_importance, permutation_importance_features,
    PermutationImportanceConfig,
};
use glassbox_explain::gradient::{
    integrated_gradients, integrated_gradients_adaptive, integrated_gradients_rows,
    AdaptiveIgConfig, BatchCap, GradModel, IgConfig,
};
use glassbox_explain::shapley::{Background, KernelShap, KernelShapConfig};
use glassbox_nn::{Activation, Linear, Module, Sequential};
use glassbox_tensor::{rng::Rng, Tensor};
use ndarray::{s, Array2, ArrayView2, Axis};

fn mlp(inputs: usize, outputs: usize) -> Sequential {
    let mut rng = Rng::new(7);
    Sequential::new()
        .add(Linear::new(inputs, 16, true, &mut rng).unwrap())
        .add(Activation::tanh())
        .add(Linear::new(16, outputs, true, &mut rng).unwrap())
}

fn rows(n: usize, m: usize, seed: u64) -> Array2<f64> {
    let mut rng = Rng::new(seed);
    let t = Tensor::rand_normal(&[n, m], 0.0, 1.0, &mut rng).to_vec();
    Array2::from_shape_vec((n, m), t.into_iter().map(f64::from).collect()).unwrap()
}

fn predictor(net: &Sequential) -> impl Fn(ArrayView2<f64>) -> Array2<f64> + Sync + '_ {
    move |x: ArrayView2<f64>| {
        let t = Tensor::from_vec(
            x.iter().map(|&v| v as f32).collect(),
            &[x.nrows(), x.ncols()],
        )
        .unwrap();
        let y = glassbox_autograd::no_grad(|| net.forward(&Var::constant(t))).unwrap();
        let k = y.shape()[1];
        Array2::from_shape_vec(
            (x.nrows(), k),
            y.value().to_vec().into_iter().map(f64::from).collect(),
        )
        .unwrap()
    }
}

#[test]
fn kernel_shap_row_ranges_are_slices_of_the_whole() {
    let net = mlp(6, 3);
    let f = predictor(&net);
    let x = rows(9, 6, 1);
    let bg = Background::new(rows(5, 6, 2)).unwrap();
    let cfg = KernelShapConfig {
        n_samples: Some(40),
        seed: 11,
        ..KernelShapConfig::default()
    };
    let ks = KernelShap::new(&f, bg, cfg).unwrap();
    let whole = ks.explain(x.view()).unwrap();
    for r in [0..4, 4..4, 4..9] {
        let part = ks.explain_rows(x.view(), r.clone()).unwrap();
        assert_eq!(part.values, whole.values.slice(s![r.clone(), .., ..]));
        assert_eq!(part.outputs, whole.outputs.slice(s![r.clone(), ..]));
    }
    assert!(ks.explain_rows(x.view(), 3..10).is_err());
}

#[test]
fn permutation_importance_feature_ranges_are_slices_of_the_whole() {
    let net = mlp(5, 3);
    let f = predictor(&net);
    let x = rows(40, 5, 3);
    let labels: Vec<usize> = (0..40).map(|i| i % 3).collect();
    let cfg = PermutationImportanceConfig {
        n_repeats: 3,
        seed: 5,
        ..Default::default()
    };
    let whole =
        permutation_importance(&f, x.view(), accuracy_scorer(labels.clone()), &cfg).unwrap();
    let (b, part) =
        permutation_importance_features(&f, x.view(), accuracy_scorer(labels), &cfg, 2..5).unwrap();
    assert_eq!(b, whole.baseline_score);
    assert_eq!(part, whole.importances.slice(s![2..5, ..]));
}

#[test]
fn integrated_gradient_row_ranges_are_slices_of_the_whole() {
    let net = mlp(4, 2);
    let m = GradModel::new(&net);
    let xs = rows(11, 4, 4);
    let x = Tensor::from_vec(xs.iter().map(|&v| v as f32).collect(), &[11, 4]).unwrap();
    let targets: Vec<usize> = (0..11).map(|i| i % 2).collect();
    // 7 steps and chunks of 10 points: chunk boundaries fall inside rows.
    let cfg = IgConfig {
        steps: 7,
        cap: BatchCap::Rows(10),
        ..IgConfig::default()
    };
    let whole = integrated_gradients(&m, &x, &targets, &cfg).unwrap();
    for r in [0..3, 3..8, 8..11, 5..5] {
        let part = integrated_gradients_rows(&m, &x, &targets, &cfg, r.clone()).unwrap();
        assert_eq!(
            part.attributions,
            whole.attributions.slice_axis(Axis(0), r.clone().into())
        );
        assert_eq!(
            part.convergence_delta,
            whole.convergence_delta.slice(s![r.clone()])
        );
    }
    assert!(integrated_gradients_rows(&m, &x, &targets, &cfg, 9..12).is_err());
}

/// A ReLU MLP whose paths cross many kinks, so the adaptive rule refines (and a rounding
/// difference could tip one of its decisions).
fn relu_mlp(inputs: usize, outputs: usize) -> Sequential {
    let mut rng = Rng::new(9);
    Sequential::new()
        .add(Linear::new(inputs, 48, true, &mut rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(48, 48, true, &mut rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(48, outputs, true, &mut rng).unwrap())
}

#[test]
fn adaptive_integrated_gradients_of_a_row_do_not_depend_on_the_other_rows() {
    let net = relu_mlp(8, 3);
    let m = GradModel::new(&net);
    let n = 12;
    let xs = rows(n, 8, 6).mapv(|v| 3.0 * v);
    let x = Tensor::from_vec(xs.iter().map(|&v| v as f32).collect(), &[n, 8]).unwrap();
    let targets: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let cfg = AdaptiveIgConfig {
        tolerance: 1e-6,
        cap: BatchCap::Rows(50),
        ..AdaptiveIgConfig::default()
    };
    let whole = integrated_gradients_adaptive(&m, &x, &targets, &cfg).unwrap();
    assert!(
        whole.evaluations.iter().any(|&e| e > 66),
        "the paths must need refinement: {:?}",
        whole.evaluations
    );
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for r in [0..1, 1..5, 5..12, 7..8] {
        let part_x = x.try_narrow(0, r.start, r.len()).unwrap().contiguous();
        let part_t = &targets[r.clone()];
        for part in [
            integrated_gradients_adaptive(&m, &part_x, part_t, &cfg).unwrap(),
            one_thread
                .install(|| integrated_gradients_adaptive(&m, &part_x, part_t, &cfg).unwrap()),
        ] {
            assert_eq!(
                part.attributions,
                whole.attributions.slice_axis(Axis(0), r.clone().into()),
                "rows {r:?}"
            );
            assert_eq!(
                part.convergence_delta,
                whole.convergence_delta.slice(s![r.clone()])
            );
            assert_eq!(
                part.output_difference,
                whole.output_difference.slice(s![r.clone()])
            );
            assert_eq!(part.evaluations, whole.evaluations[r.clone()]);
            assert_eq!(part.converged, whole.converged[r.clone()]);
        }
    }
}
