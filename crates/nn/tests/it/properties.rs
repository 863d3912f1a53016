//! Properties checked against independent oracles: the fused recurrent kernels and losses
//! against central finite differences (every input, including the initial states, which
//! the PyTorch reference does not cover), and Linear against a naive triple loop.

use glassbox_autograd::{gradcheck, AutogradError, Var};
use glassbox_nn::rnn::kernel::{run_layer, CellKind};
use glassbox_nn::*;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;
use proptest::prelude::*;

fn kinds() -> impl Strategy<Value = CellKind> {
    prop_oneof![
        Just(CellKind::Tanh),
        Just(CellKind::Lstm),
        Just(CellKind::Gru)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn recurrent_kernels_match_finite_differences(
        kind in kinds(), b in 1usize..3, t in 1usize..4, i in 1usize..3, h in 1usize..3, seed in 0u64..1000
    ) {
        let mut rng = Rng::new(seed);
        let g = kind.gates() * h;
        let mut r = |s: &[usize]| Tensor::rand_uniform(s, -0.8, 0.8, &mut rng);
        let inputs = vec![r(&[b, t, i]), r(&[g, i]), r(&[g, h]), r(&[g]), r(&[g]), r(&[b, h]), r(&[b, h])];
        let report = gradcheck(
            |v: &[Var]| {
                run_layer(kind, [&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]])
                    .map_err(|e| AutogradError::invalid("run_layer", e.to_string()))
            },
            &inputs,
            1e-3,
            2e-2,
        )
        .unwrap();
        prop_assert!(report.passed(), "{kind:?}: {report}");
    }

    #[test]
    fn cross_entropy_matches_finite_differences(
        n in 1usize..5, c in 2usize..5, smoothing in 0.0f32..0.5, seed in 0u64..1000
    ) {
        let mut rng = Rng::new(seed);
        let x = Tensor::rand_normal(&[n, c], 0.0, 1.0, &mut rng);
        let targets: Vec<usize> = (0..n).map(|_| rng.below(c)).collect();
        let weight: Vec<f32> = (0..c).map(|_| rng.uniform_range(0.5, 2.0) as f32).collect();
        let opts = CrossEntropyOptions { weight: Some(weight), label_smoothing: smoothing, ..Default::default() };
        let report = gradcheck(
            |v: &[Var]| {
                cross_entropy(&v[0], &targets, &opts).map_err(|e| AutogradError::invalid("ce", e.to_string()))
            },
            &[x],
            1e-3,
            1e-2,
        )
        .unwrap();
        prop_assert!(report.passed(), "{report}");
    }

    #[test]
    fn linear_matches_naive_loops(n in 1usize..5, fin in 1usize..6, fout in 1usize..6, seed in 0u64..1000) {
        let mut rng = Rng::new(seed);
        let layer = Linear::new(fin, fout, true, &mut rng).unwrap();
        let x = Tensor::rand_normal(&[n, fin], 0.0, 1.0, &mut rng);
        let y = layer.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
        let (w, bias, xv) = (layer.weight.value().to_vec(), layer.bias.as_ref().unwrap().value().to_vec(), x.to_vec());
        for r in 0..n {
            for o in 0..fout {
                let mut acc = bias[o] as f64;
                for k in 0..fin {
                    acc += xv[r * fin + k] as f64 * w[o * fin + k] as f64;
                }
                prop_assert!((y[r * fout + o] as f64 - acc).abs() < 1e-4, "row {r} out {o}");
            }
        }
    }
}

#[test]
fn recurrent_state_shapes_are_checked() {
    let mut rng = Rng::new(0);
    let lstm = Recurrent::lstm(3, 4, 2, &mut rng).unwrap();
    let x = Var::constant(Tensor::zeros(&[2, 5, 3]));
    let out = lstm.forward_with_state(&x, None, None).unwrap();
    assert_eq!(out.output.shape(), vec![2, 5, 4]);
    assert_eq!(out.h_n.shape(), vec![2, 2, 4]);
    assert_eq!(out.c_n.unwrap().shape(), vec![2, 2, 4]);
    let bad = Var::constant(Tensor::zeros(&[1, 2, 4]));
    let e = lstm.forward_with_state(&x, Some(&bad), None).unwrap_err();
    assert!(
        e.to_string().contains("h0") && e.to_string().contains("[2, 2, 4]"),
        "{e}"
    );
    let e = lstm
        .forward(&Var::constant(Tensor::zeros(&[2, 5, 7])))
        .unwrap_err();
    assert!(e.to_string().contains("[B, T, 3]"), "{e}");
    let names: Vec<String> = lstm
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        &names[..4],
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    );
    assert_eq!(names[4], "weight_ih_l1");
}

#[test]
fn submodules_are_reachable_by_path() {
    let mut rng = Rng::new(0);
    let inner = Sequential::new()
        .add(Linear::new(2, 3, true, &mut rng).unwrap())
        .add(Activation::relu());
    let model = Sequential::new()
        .add(inner)
        .add(Linear::new(3, 1, true, &mut rng).unwrap());
    assert_eq!(get_submodule(&model, "0.1").unwrap().type_name(), "ReLU");
    assert_eq!(get_submodule(&model, "1").unwrap().type_name(), "Linear");
    assert!(get_submodule(&model, "0.7").is_none());
    let paths: Vec<String> = named_modules(&model).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["", "0", "0.0", "0.1", "1"]);
    let names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]);
}

#[test]
fn dropout_is_identity_in_eval_and_scales_in_training() {
    let mut d = Dropout::new(0.5, 7).unwrap();
    let x = Var::constant(Tensor::ones(&[1000]));
    let y = d.forward(&x).unwrap().value().to_vec();
    assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
    let kept = y.iter().filter(|&&v| v == 2.0).count();
    assert!((400..600).contains(&kept), "{kept} of 1000 kept");
    d.set_training(false);
    assert_eq!(d.forward(&x).unwrap().value().to_vec(), vec![1.0; 1000]);
    assert!(Dropout::new(1.0, 0).is_err());
}
