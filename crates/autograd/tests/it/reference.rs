//! Gradients against PyTorch 2.15 (`tests/reference/torch/{layers,losses}.json`):
//! every case's loss is `Σ outputs · upstream`, so `y.backward_with(upstream)` must give
//! PyTorch's `grad_input` / `grad_params` (and `grad_logits` / `grad_pred` for losses).

use glassbox_autograd::ops::loss::{cross_entropy, nll_loss, CrossEntropyOptions, Reduction};
use glassbox_autograd::Var;
use glassbox_tensor::Tensor;
use serde_json::Value;

use crate::common::{assert_close, reference, tensor};

const TOL: f32 = 1e-4;

/// Runs `f` on the case's input, checks the output, and the input gradient.
fn check_elementwise(layers: &Value, key: &str, f: impl Fn(&Var) -> Var) {
    let case = &layers[key];
    let x = Var::leaf(tensor(&case["input"]), true);
    let y = f(&x);
    assert_close(
        &y.value(),
        &tensor(&case["outputs"][0]),
        TOL,
        &format!("{key} output"),
    );
    y.backward_with(&tensor(&case["upstream"][0])).unwrap();
    assert_close(
        &x.grad().unwrap(),
        &tensor(&case["grad_input"]),
        TOL,
        &format!("{key} grad_input"),
    );
}

#[test]
fn activations_and_softmax_match_pytorch() {
    let layers = reference("torch/layers.json");
    check_elementwise(&layers, "relu", Var::relu);
    check_elementwise(&layers, "leaky_relu_0.01", |x| x.leaky_relu(0.01));
    check_elementwise(&layers, "gelu_erf", Var::gelu);
    check_elementwise(&layers, "gelu_tanh", Var::gelu_tanh);
    check_elementwise(&layers, "sigmoid", Var::sigmoid);
    check_elementwise(&layers, "tanh", Var::tanh);
    check_elementwise(&layers, "elu", |x| x.elu(1.0));
    check_elementwise(&layers, "silu", Var::silu);
    check_elementwise(&layers, "softplus", Var::softplus);
    check_elementwise(&layers, "softmax_dim1", |x| x.softmax(1).unwrap());
    check_elementwise(&layers, "log_softmax_dim1", |x| x.log_softmax(1).unwrap());
}

#[test]
fn linear_as_matmul_plus_bias_matches_pytorch() {
    let layers = reference("torch/layers.json");
    let case = &layers["linear"];
    let x = Var::leaf(tensor(&case["input"]), true);
    let w = Var::parameter(tensor(&case["params"]["weight"]));
    let b = Var::parameter(tensor(&case["params"]["bias"]));
    let y = x.matmul(&w.t().unwrap()).unwrap().add(&b).unwrap();
    assert_close(
        &y.value(),
        &tensor(&case["outputs"][0]),
        TOL,
        "linear output",
    );
    y.backward_with(&tensor(&case["upstream"][0])).unwrap();
    assert_close(
        &x.grad().unwrap(),
        &tensor(&case["grad_input"]),
        TOL,
        "linear dx",
    );
    assert_close(
        &w.grad().unwrap(),
        &tensor(&case["grad_params"]["weight"]),
        TOL,
        "linear dW",
    );
    assert_close(
        &b.grad().unwrap(),
        &tensor(&case["grad_params"]["bias"]),
        TOL,
        "linear db",
    );
}

fn targets(losses: &Value) -> Vec<usize> {
    losses["_inputs"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as usize)
        .collect()
}

fn check_ce(losses: &Value, key: &str, opts: &CrossEntropyOptions, nll: bool) {
    let z = Var::parameter(tensor(&losses["_inputs"]["logits"]));
    let t = targets(losses);
    let loss = if nll {
        nll_loss(&z.log_softmax(1).unwrap(), &t, opts).unwrap()
    } else {
        cross_entropy(&z, &t, opts).unwrap()
    };
    let expected = losses[key]["loss"].as_f64().unwrap() as f32;
    let got = loss.value().item().unwrap();
    assert!(
        (got - expected).abs() <= TOL * expected.abs().max(1.0),
        "{key}: loss {got} vs {expected}"
    );
    loss.backward().unwrap();
    assert_close(
        &z.grad().unwrap(),
        &tensor(&losses[key]["grad_logits"]),
        TOL,
        key,
    );
}

#[test]
fn cross_entropy_matches_pytorch() {
    let losses = reference("torch/losses.json");
    let weights: Vec<f32> = losses["_inputs"]["class_weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap() as f32)
        .collect();
    check_ce(
        &losses,
        "cross_entropy_mean",
        &CrossEntropyOptions::default(),
        false,
    );
    let sum = CrossEntropyOptions {
        reduction: Reduction::Sum,
        ..Default::default()
    };
    check_ce(&losses, "cross_entropy_sum", &sum, false);
    let weighted = CrossEntropyOptions {
        weight: Some(weights),
        ..Default::default()
    };
    check_ce(&losses, "cross_entropy_weighted", &weighted, false);
    let smooth = CrossEntropyOptions {
        label_smoothing: 0.1,
        ..Default::default()
    };
    check_ce(&losses, "cross_entropy_label_smoothing_0.1", &smooth, false);
    check_ce(
        &losses,
        "nll_of_log_softmax",
        &CrossEntropyOptions::default(),
        true,
    );
}

/// The regression losses, composed from differentiable ops (as the nn crate may do).
#[test]
fn composed_regression_losses_match_pytorch() {
    let losses = reference("torch/losses.json");
    type LossFn = fn(&Var, &Var) -> Var;
    let mse: LossFn = |p, t| p.sub(t).unwrap().square().mean_all();
    let l1: LossFn = |p, t| p.sub(t).unwrap().abs().mean_all();
    // Huber with δ = 1 (= smooth L1 with β = 1): 0.5 d² where |d| < 1, else |d| − 0.5.
    let huber: LossFn = |p, t| {
        let d = p.sub(t).unwrap();
        let a = d.abs();
        let small = d.square().mul_scalar(0.5);
        let large = a.add_scalar(-0.5);
        let mask = a.value().map(|v| if v < 1.0 { 1.0 } else { 0.0 });
        Var::where_cond(&mask, &small, &large).unwrap().mean_all()
    };
    // BCE with logits, stable form: max(x, 0) − x·y + ln(1 + e^−|x|).
    let bce: LossFn = |x, y| {
        let zero = Var::constant(Tensor::scalar(0.0));
        let pos = x.maximum(&zero).unwrap();
        let xy = x.mul(y).unwrap();
        let soft = x.abs().neg().exp().ln_1p();
        pos.sub(&xy).unwrap().add(&soft).unwrap().mean_all()
    };
    for (key, f) in [
        ("mse", mse),
        ("l1", l1),
        ("huber_delta1", huber),
        ("smooth_l1", huber),
        ("bce_with_logits", bce),
    ] {
        let p = Var::parameter(tensor(&losses["_inputs"]["pred"]));
        let t = Var::constant(tensor(&losses[key]["target"]));
        let loss = f(&p, &t);
        let expected = losses[key]["loss"].as_f64().unwrap() as f32;
        let got = loss.value().item().unwrap();
        assert!(
            (got - expected).abs() <= TOL,
            "{key}: loss {got} vs {expected}"
        );
        loss.backward().unwrap();
        assert_close(
            &p.grad().unwrap(),
            &tensor(&losses[key]["grad_pred"]),
            TOL,
            key,
        );
    }
}

/// Runs a layer case with parameters `weight` / `bias` through `f(x, w, b)` and checks the
/// output, `grad_input` and `grad_params`.
fn check_param_layer(layers: &Value, key: &str, f: impl Fn(&Var, &Var, &Var) -> Var) {
    let case = &layers[key];
    let x = Var::leaf(tensor(&case["input"]), true);
    let w = Var::parameter(tensor(&case["params"]["weight"]));
    let b = Var::parameter(tensor(&case["params"]["bias"]));
    let y = f(&x, &w, &b);
    assert_close(
        &y.value(),
        &tensor(&case["outputs"][0]),
        TOL,
        &format!("{key} output"),
    );
    y.backward_with(&tensor(&case["upstream"][0])).unwrap();
    assert_close(
        &x.grad().unwrap(),
        &tensor(&case["grad_input"]),
        TOL,
        &format!("{key} dx"),
    );
    assert_close(
        &w.grad().unwrap(),
        &tensor(&case["grad_params"]["weight"]),
        TOL,
        &format!("{key} dW"),
    );
    assert_close(
        &b.grad().unwrap(),
        &tensor(&case["grad_params"]["bias"]),
        TOL,
        &format!("{key} db"),
    );
}

#[test]
fn convolutions_match_pytorch() {
    use glassbox_autograd::ops::conv::{conv1d, conv2d};
    use glassbox_tensor::conv::{Conv1dParams, Conv2dParams};
    let layers = reference("torch/layers.json");
    let cases = [
        (
            "conv2d_s2_p1",
            Conv2dParams::default().stride(2, 2).padding(1, 1),
        ),
        ("conv2d_s1_p0_k5", Conv2dParams::default()),
        (
            "conv2d_dilation2",
            Conv2dParams::default().dilation(2, 2).padding(2, 2),
        ),
    ];
    for (key, p) in cases {
        check_param_layer(&layers, key, |x, w, b| conv2d(x, w, Some(b), &p).unwrap());
    }
    let p = Conv1dParams::default().padding(1);
    check_param_layer(&layers, "conv1d_s1_p1", |x, w, b| {
        conv1d(x, w, Some(b), &p).unwrap()
    });
}

#[test]
fn pooling_matches_pytorch() {
    use glassbox_autograd::ops::pool::{adaptive_avg_pool2d, avg_pool2d, max_pool2d};
    use glassbox_tensor::pool::Pool2dParams;
    let layers = reference("torch/layers.json");
    check_elementwise(&layers, "maxpool2d_k2_s2", |x| {
        max_pool2d(x, &Pool2dParams::new(2, 2)).unwrap()
    });
    check_elementwise(&layers, "maxpool2d_k3_s2_p1", |x| {
        max_pool2d(x, &Pool2dParams::new(3, 3).stride(2, 2).padding(1, 1)).unwrap()
    });
    check_elementwise(&layers, "avgpool2d_k2_s2", |x| {
        avg_pool2d(x, &Pool2dParams::new(2, 2)).unwrap()
    });
    check_elementwise(&layers, "adaptive_avgpool2d_1", |x| {
        adaptive_avg_pool2d(x, (1, 1)).unwrap()
    });
}

#[test]
fn embedding_matches_pytorch() {
    use glassbox_autograd::ops::embedding::embedding;
    let layers = reference("torch/layers.json");
    let case = &layers["embedding"];
    let rows = case["indices"].as_array().unwrap();
    let shape = [rows.len(), rows[0].as_array().unwrap().len()];
    let indices: Vec<usize> = rows
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as usize)
        })
        .collect();
    let w = Var::parameter(tensor(&case["params"]["weight"]));
    let y = embedding(&w, &indices, &shape).unwrap();
    assert_close(
        &y.value(),
        &tensor(&case["outputs"][0]),
        TOL,
        "embedding output",
    );
    y.backward_with(&tensor(&case["upstream"][0])).unwrap();
    assert_close(
        &w.grad().unwrap(),
        &tensor(&case["grad_params"]["weight"]),
        TOL,
        "embedding dW",
    );
}
