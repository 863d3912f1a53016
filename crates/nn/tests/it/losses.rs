//! Every loss in `tests/reference/torch/losses.json` (PyTorch 2.15, float64): value and
//! gradient within 1e-4. Plus the `Reduction::None` forms against the reduced ones.

use glassbox_autograd::Var;
use glassbox_nn::*;
use glassbox_tensor::Tensor;
use serde_json::Value;

use crate::common::{assert_close, tensor};

fn reference() -> &'static Value {
    crate::common::torch_reference("losses.json")
}

fn check(name: &str, case: &Value, grad_key: &str, input: &Var, loss: Var) {
    let want = case["loss"].as_f64().unwrap();
    let got = loss.value().item().unwrap();
    glassbox_testkit::assert_close(&format!("{name}: loss"), &[got], &[want], 1e-4);
    loss.backward().unwrap();
    assert_close(
        &format!("{name}: gradient"),
        &input.grad().unwrap(),
        &case[grad_key],
        1e-4,
    );
}

fn targets(r: &Value) -> Vec<usize> {
    r["_inputs"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn cross_entropy_variants() {
    let r = reference();
    let y = targets(r);
    let weights: Vec<f32> = r["_inputs"]["class_weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let cases: Vec<(&str, CrossEntropyOptions)> = vec![
        ("cross_entropy_mean", CrossEntropyOptions::default()),
        (
            "cross_entropy_sum",
            CrossEntropyOptions {
                reduction: Reduction::Sum,
                ..Default::default()
            },
        ),
        (
            "cross_entropy_weighted",
            CrossEntropyOptions {
                weight: Some(weights),
                ..Default::default()
            },
        ),
        (
            "cross_entropy_label_smoothing_0.1",
            CrossEntropyOptions {
                label_smoothing: 0.1,
                ..Default::default()
            },
        ),
    ];
    for (name, opts) in cases {
        let x = Var::leaf(tensor(&r["_inputs"]["logits"]), true);
        let loss = cross_entropy(&x, &y, &opts).unwrap();
        check(name, &r[name], "grad_logits", &x, loss);
    }
}

#[test]
fn nll_of_log_softmax() {
    let r = reference();
    let x = Var::leaf(tensor(&r["_inputs"]["logits"]), true);
    let lp = x.log_softmax(1).unwrap();
    let loss = nll_loss(&lp, &targets(r), &CrossEntropyOptions::default()).unwrap();
    check(
        "nll_of_log_softmax",
        &r["nll_of_log_softmax"],
        "grad_logits",
        &x,
        loss,
    );
}

#[test]
fn regression_losses() {
    let r = reference();
    type LossFn = fn(&Var, &Tensor) -> Var;
    let cases: [(&str, LossFn); 5] = [
        ("mse", |p, t| mse_loss(p, t, Reduction::Mean).unwrap()),
        ("l1", |p, t| l1_loss(p, t, Reduction::Mean).unwrap()),
        ("huber_delta1", |p, t| {
            huber_loss(p, t, 1.0, Reduction::Mean).unwrap()
        }),
        ("smooth_l1", |p, t| {
            smooth_l1_loss(p, t, 1.0, Reduction::Mean).unwrap()
        }),
        ("bce_with_logits", |p, t| {
            bce_with_logits(p, t, Reduction::Mean).unwrap()
        }),
    ];
    for (name, f) in cases {
        let p = Var::leaf(tensor(&r["_inputs"]["pred"]), true);
        let t = tensor(&r[name]["target"]);
        let loss = f(&p, &t);
        check(name, &r[name], "grad_pred", &p, loss);
    }
}

#[test]
fn unreduced_losses_sum_to_the_summed_loss() {
    let x = Tensor::from_vec(vec![0.2, -1.0, 0.5, 1.5, 0.3, -0.7], &[2, 3]).unwrap();
    let y = [2usize, 0];
    let opts = |reduction| CrossEntropyOptions {
        reduction,
        label_smoothing: 0.2,
        ..Default::default()
    };
    let a = Var::leaf(x.clone(), true);
    let rows = cross_entropy(&a, &y, &opts(Reduction::None)).unwrap();
    assert_eq!(rows.shape(), vec![2]);
    rows.sum_all().backward().unwrap();
    let b = Var::leaf(x, true);
    let total = cross_entropy(&b, &y, &opts(Reduction::Sum)).unwrap();
    assert!((rows.value().sum_all() - total.value().item().unwrap()).abs() < 1e-6);
    total.backward().unwrap();
    assert!(a.grad().unwrap().allclose(&b.grad().unwrap(), 1e-6, 1e-6));
}

#[test]
fn bad_targets_are_errors_naming_the_row() {
    let x = Var::constant(Tensor::zeros(&[3, 4]));
    let e = cross_entropy(&x, &[0, 9, 1], &CrossEntropyOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("row 1") && e.to_string().contains('9'),
        "{e}"
    );
    let e = cross_entropy(&x, &[0, 1], &CrossEntropyOptions::default()).unwrap_err();
    assert!(e.to_string().contains("2 targets for 3 rows"), "{e}");
    let e = mse_loss(&x, &Tensor::zeros(&[4, 3]), Reduction::Mean).unwrap_err();
    assert!(e.to_string().contains("[4, 3]"), "{e}");
}
