//! Conv and pooling forward outputs and input/parameter gradients against PyTorch
//! (`../shared/reference/torch/layers.json`), within 1e-4.

use std::path::PathBuf;

use glassbox_tensor::conv::{self, Conv1dParams, Conv2dParams};
use glassbox_tensor::pool::{self, Pool2dParams};
use glassbox_tensor::Tensor;
use serde_json::Value;

fn reference_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference"
    ))
}

fn layers() -> Option<Value> {
    let path = reference_dir().join("torch/layers.json");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(serde_json::from_str(&s).expect("layers.json parses")),
        Err(e) => {
            eprintln!("skipping: cannot read {}: {e}", path.display());
            None
        }
    }
}

fn flatten(v: &Value, out: &mut Vec<f32>, shape: &mut Vec<usize>, depth: usize) {
    match v {
        Value::Array(items) => {
            if shape.len() == depth {
                shape.push(items.len());
            }
            for it in items {
                flatten(it, out, shape, depth + 1);
            }
        }
        Value::Number(n) => out.push(n.as_f64().expect("number") as f32),
        other => panic!("unexpected JSON value {other}"),
    }
}

fn tensor(v: &Value) -> Tensor {
    let (mut data, mut shape) = (vec![], vec![]);
    flatten(v, &mut data, &mut shape, 0);
    Tensor::from_vec(data, &shape).expect("consistent nesting")
}

fn assert_close(name: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{name}: shape");
    for (i, (g, w)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        let tol = 1e-4f32.max(1e-4 * w.abs());
        assert!(
            (g - w).abs() <= tol,
            "{name}: element {i}: got {g}, PyTorch {w}"
        );
    }
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
    let Some(all) = layers() else { return };
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
    let Some(all) = layers() else { return };
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
    let Some(all) = layers() else { return };
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
