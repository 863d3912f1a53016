//! Gradient attributions against Captum 0.9 (`tests/reference/captum/attributions.json`,
//! float64): every value within 1e-4.

use glassbox_explain::gradient::{
    deeplift, grad_cam, guided_backprop, input_x_gradient, integrated_gradients, saliency,
    Approximation, Baseline, BatchCap, GradModel, IgConfig,
};
use glassbox_nn::{
    load_state_dict, Activation, Conv2d, Conv2dConfig, Flatten, Linear, Sequential, StateDict,
    TensorRecord,
};
use glassbox_tensor::{rng::Rng, Tensor};
use glassbox_testkit::{json_f32, json_f64, json_shape};
use ndarray::ArrayD;
use serde_json::Value;

fn reference() -> Value {
    glassbox_testkit::reference_json("captum/attributions.json")
}

fn array(v: &Value) -> (Vec<f64>, Vec<usize>) {
    (json_f64(v), json_shape(v))
}

fn tensor(v: &Value) -> Tensor {
    Tensor::from_vec(json_f32(v), &json_shape(v)).unwrap()
}

/// The same shape as Captum's, and every value within 1e-4 (relative above 1).
fn assert_close(name: &str, got: &ArrayD<f64>, want: &Value) {
    assert_eq!(got.shape(), &json_shape(want)[..], "{name}: shape");
    let got: Vec<f64> = got.iter().copied().collect();
    glassbox_testkit::assert_close(name, &got, &json_f64(want), 1e-4);
}

fn assert_close_vec(name: &str, got: &[f64], want: &Value) {
    glassbox_testkit::assert_close(name, got, &json_f64(want), 1e-4);
}

fn load(net: &Sequential, params: &Value) {
    let tensors = params
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let (d, s) = array(v);
            let data = d.into_iter().map(|x| x as f32).collect();
            (k.clone(), TensorRecord { shape: s, data })
        })
        .collect();
    let sd = StateDict {
        tensors,
        metadata: Default::default(),
    };
    load_state_dict(net, &sd).unwrap();
}

fn tabular(r: &Value) -> Sequential {
    let mut rng = Rng::new(0);
    let net = Sequential::new()
        .add(Linear::new(4, 3, true, &mut rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(3, 2, true, &mut rng).unwrap());
    load(&net, &r["params"]);
    net
}

fn cnn(r: &Value) -> Sequential {
    let mut rng = Rng::new(0);
    let net = Sequential::new()
        .add(Conv2d::new(Conv2dConfig::new(1, 2, 3), &mut rng).unwrap())
        .add(Activation::relu())
        .add(Conv2d::new(Conv2dConfig::new(2, 2, 3), &mut rng).unwrap())
        .add(Activation::relu())
        .add(Flatten::new())
        .add(Linear::new(8, 3, true, &mut rng).unwrap());
    load(&net, &r["params"]);
    net
}

#[test]
fn tabular_mlp_matches_captum() {
    let all = reference();
    let r = &all["tabular_mlp"];
    let net = tabular(r);
    let m = GradModel::new(&net);
    let x = tensor(&r["inputs"]);
    let t = [r["target"].as_u64().unwrap() as usize];
    // the rebuilt model reproduces PyTorch's outputs
    assert_close(
        "outputs",
        &glassbox_explain::gradient::to_array(&m.predict(&x).unwrap()),
        &r["outputs"],
    );
    assert_close(
        "saliency_abs",
        &saliency(&m, &x, &t, true).unwrap(),
        &r["saliency_abs"],
    );
    assert_close(
        "saliency_signed",
        &saliency(&m, &x, &t, false).unwrap(),
        &r["saliency_signed"],
    );
    assert_close(
        "input_x_gradient",
        &input_x_gradient(&m, &x, &t).unwrap(),
        &r["input_x_gradient"],
    );
    let rules = [
        ("gausslegendre", Approximation::GaussLegendre),
        ("riemann_left", Approximation::RiemannLeft),
        ("riemann_right", Approximation::RiemannRight),
        ("riemann_middle", Approximation::RiemannMiddle),
        ("riemann_trapezoid", Approximation::RiemannTrapezoid),
    ];
    for (name, method) in rules {
        let key = format!("ig_zero_baseline_{name}_50");
        // a tiny cap forces many chunks: results must not depend on the chunking
        for cap in [BatchCap::Unlimited, BatchCap::Rows(7)] {
            let cfg = IgConfig {
                steps: 50,
                method,
                cap,
                ..IgConfig::default()
            };
            let ig = integrated_gradients(&m, &x, &t, &cfg).unwrap();
            assert_close(&key, &ig.attributions, &r[&key]["attributions"]);
            assert_close_vec(
                &key,
                ig.convergence_delta.as_slice().unwrap(),
                &r[&key]["convergence_delta"],
            );
        }
    }
    let key = "ig_baseline_0.5_riemann_trapezoid_50";
    let cfg = IgConfig {
        baseline: Baseline::Tensor(tensor(&r[key]["baseline"])),
        steps: 50,
        method: Approximation::RiemannTrapezoid,
        cap: BatchCap::Rows(64),
    };
    let ig = integrated_gradients(&m, &x, &t, &cfg).unwrap();
    assert_close(key, &ig.attributions, &r[key]["attributions"]);
    assert_close_vec(
        key,
        ig.convergence_delta.as_slice().unwrap(),
        &r[key]["convergence_delta"],
    );
    // the same baseline given once, shared by all rows, and as a scalar
    for b in [
        Baseline::Tensor(Tensor::full(&[1, 4], 0.5)),
        Baseline::Scalar(0.5),
    ] {
        let ig = integrated_gradients(
            &m,
            &x,
            &t,
            &IgConfig {
                baseline: b,
                ..cfg.clone()
            },
        )
        .unwrap();
        assert_close(key, &ig.attributions, &r[key]["attributions"]);
    }
    let dl = deeplift(&m, &x, &t, &Baseline::Zeros).unwrap();
    let key = "deeplift_rescale_zero_baseline";
    assert_close(key, &dl.attributions, &r[key]["attributions"]);
    assert_close_vec(
        key,
        dl.convergence_delta.as_slice().unwrap(),
        &r[key]["convergence_delta"],
    );
}

#[test]
fn image_cnn_matches_captum() {
    let all = reference();
    let r = &all["image_cnn"];
    let net = cnn(r);
    let m = GradModel::new(&net);
    let x = tensor(&r["inputs"]);
    let t = [r["target"].as_u64().unwrap() as usize];
    assert_close(
        "outputs",
        &glassbox_explain::gradient::to_array(&m.predict(&x).unwrap()),
        &r["outputs"],
    );
    assert_close(
        "saliency_abs",
        &saliency(&m, &x, &t, true).unwrap(),
        &r["saliency_abs"],
    );
    let key = "ig_zero_baseline_riemann_trapezoid_32";
    let cfg = IgConfig {
        steps: 32,
        method: Approximation::RiemannTrapezoid,
        ..IgConfig::default()
    };
    let ig = integrated_gradients(&m, &x, &t, &cfg).unwrap();
    assert_close(key, &ig.attributions, &r[key]["attributions"]);
    assert_close_vec(
        key,
        ig.convergence_delta.as_slice().unwrap(),
        &r[key]["convergence_delta"],
    );
    let gc = &r["gradcam_layer2_conv"];
    assert_close(
        "gradcam",
        &grad_cam(&m, &x, &t, "2", false).unwrap(),
        &gc["attributions"],
    );
    assert_close(
        "gradcam_relu",
        &grad_cam(&m, &x, &t, "2", true).unwrap(),
        &gc["attributions_relu"],
    );
    assert_close(
        "guided_backprop",
        &guided_backprop(&m, &x, &t).unwrap(),
        &r["guided_backprop"],
    );
}
