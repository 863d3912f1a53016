//! Conv and pooling forward outputs and input/parameter gradients against PyTorch
//! (`tests/reference/torch/layers.json`), within 1e-4.

use glassbox_tensor::conv::{self, Conv1dParams, Conv2dParams};
use glassbox_tensor::pool::{self, Pool2dParams};
use glassbox_tensor::Tensor;
use glassbox_testkit::{json_f32, json_shape, reference_json};
use serde_json::Value;

fn layers() -> Value {
    reference_json("torch/layers.json")
}

fn tensor(v: &Value) -> Tensor {
    Tensor::from_vec(json_f32(v), &json_shape(v)).expect("consistent nesting")
}

/// Same shape, and every element within 1e-4 (relative above 1) of PyTorch's.
fn assert_close(name: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{name}: shape");
    let want: Vec<f64> = want.to_vec().into_iter().map(f64::from).collect();
    glassbox_testkit::assert_close(name, &got.to_vec(), &want, 1e-4);
}

struct Case {
    x: Tensor,
    y: Tensor,
    up: Tensor,
    gx: Tensor,
    entry: Value,
}

fn case(all: &Value, name: &str) -> Case {
    let e = &all[name];
    Case {
        x: tensor(&e["input"]),
        y: tensor(&e["outputs"][0]),
        up: tensor(&e["upstream"][0]),
        gx: tensor(&e["grad_input"]),
        entry: e.clone(),
    }
}

#[test]
fn conv2d_matches_pytorch() {
    let all = layers();
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
    for (name, p) in cases {
        let c = case(&all, name);
        let w = tensor(&c.entry["params"]["weight"]);
        let b = tensor(&c.entry["params"]["bias"]);
        let y = conv::conv2d(&c.x, &w, Some(&b), &p).unwrap();
        assert_close(name, &y, &c.y);
        let gx = conv::conv2d_backward_input(&c.up, &w, c.x.shape(), &p).unwrap();
        assert_close(&format!("{name} grad_input"), &gx, &c.gx);
        let gw = conv::conv2d_backward_weight(&c.up, &c.x, w.shape(), &p).unwrap();
        assert_close(
            &format!("{name} grad weight"),
            &gw,
            &tensor(&c.entry["grad_params"]["weight"]),
        );
        let gb = conv::conv_backward_bias(&c.up).unwrap();
        assert_close(
            &format!("{name} grad bias"),
            &gb,
            &tensor(&c.entry["grad_params"]["bias"]),
        );
    }
}

#[test]
fn conv1d_matches_pytorch() {
    let all = layers();
    let name = "conv1d_s1_p1";
    let p = Conv1dParams::default().padding(1);
    let c = case(&all, name);
    let w = tensor(&c.entry["params"]["weight"]);
    let b = tensor(&c.entry["params"]["bias"]);
    assert_close(name, &conv::conv1d(&c.x, &w, Some(&b), &p).unwrap(), &c.y);
    let gx = conv::conv1d_backward_input(&c.up, &w, c.x.shape(), &p).unwrap();
    assert_close("conv1d grad_input", &gx, &c.gx);
    let gw = conv::conv1d_backward_weight(&c.up, &c.x, w.shape(), &p).unwrap();
    assert_close(
        "conv1d grad weight",
        &gw,
        &tensor(&c.entry["grad_params"]["weight"]),
    );
    let gb = conv::conv_backward_bias(&c.up).unwrap();
    assert_close(
        "conv1d grad bias",
        &gb,
        &tensor(&c.entry["grad_params"]["bias"]),
    );
}

#[test]
fn pooling_matches_pytorch() {
    let all = layers();
    for (name, p) in [
        ("maxpool2d_k2_s2", Pool2dParams::new(2, 2)),
        (
            "maxpool2d_k3_s2_p1",
            Pool2dParams::new(3, 3).stride(2, 2).padding(1, 1),
        ),
    ] {
        let c = case(&all, name);
        let (y, idx) = pool::max_pool2d(&c.x, &p).unwrap();
        assert_close(name, &y, &c.y);
        let gx = pool::max_pool2d_backward(&c.up, &idx, c.x.shape()).unwrap();
        assert_close(&format!("{name} grad_input"), &gx, &c.gx);
    }
    let name = "avgpool2d_k2_s2";
    let p = Pool2dParams::new(2, 2);
    let c = case(&all, name);
    assert_close(name, &pool::avg_pool2d(&c.x, &p).unwrap(), &c.y);
    let gx = pool::avg_pool2d_backward(&c.up, c.x.shape(), &p).unwrap();
    assert_close("avgpool grad_input", &gx, &c.gx);

    let name = "adaptive_avgpool2d_1";
    let c = case(&all, name);
    assert_close(
        name,
        &pool::adaptive_avg_pool2d(&c.x, (1, 1)).unwrap(),
        &c.y,
    );
    let gx = pool::adaptive_avg_pool2d_backward(&c.up, c.x.shape()).unwrap();
    assert_close("adaptive grad_input", &gx, &c.gx);
}
