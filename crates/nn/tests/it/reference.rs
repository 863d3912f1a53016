//! Every layer case in `tests/reference/torch/layers.json` (PyTorch 2.15, float64):
//! forward outputs, gradient w.r.t. the input and the parameters under the loss
//! `Σ_k Σ outputs[k] ⊙ upstream[k]`, and BatchNorm running statistics after the step,
//! all within 1e-4.

use glassbox_autograd::Var;
use glassbox_nn::*;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;
use serde_json::Value;

use crate::common::{self, arr, tensor, torch_reference};

const TOL: f64 = 1e-4;

fn reference() -> &'static Value {
    torch_reference("layers.json")
}

fn assert_close(what: &str, got: &Tensor, want: &Value) {
    common::assert_close(what, got, want, TOL);
}

/// Loads the case's parameters (and optional buffers) into `module`.
fn load_params(module: &dyn Module, case: &Value, buffers: &[(&str, Tensor)]) {
    let mut sd = StateDict::default();
    if let Some(p) = case["params"].as_object() {
        for (name, v) in p {
            let (data, shape) = arr(v);
            sd.tensors
                .push((name.clone(), TensorRecord { shape, data }));
        }
    }
    for (name, t) in buffers {
        sd.tensors.push((
            name.to_string(),
            TensorRecord {
                shape: t.shape().to_vec(),
                data: t.to_vec(),
            },
        ));
    }
    load_state_dict(module, &sd).unwrap();
}

/// Runs forward (via `run`), the reference loss and backward, then compares everything.
fn check_case<M: Module>(name: &str, module: &M, run: impl Fn(&M, &Var) -> Vec<Var>) {
    let r = reference();
    let case = &r[name];
    let x = Var::leaf(tensor(&case["input"]), true);
    let outs = run(module, &x);
    let ups = case["upstream"].as_array().unwrap();
    let want_outs = case["outputs"].as_array().unwrap();
    assert_eq!(outs.len(), want_outs.len(), "{name}: number of outputs");
    let mut loss: Option<Var> = None;
    for (k, (o, u)) in outs.iter().zip(ups).enumerate() {
        assert_close(&format!("{name}: output {k}"), &o.value(), &want_outs[k]);
        let term = o.mul(&Var::constant(tensor(u))).unwrap().sum_all();
        loss = Some(match loss {
            Some(l) => l.add(&term).unwrap(),
            None => term,
        });
    }
    loss.unwrap().backward().unwrap();
    assert_close(
        &format!("{name}: grad_input"),
        &x.grad().unwrap(),
        &case["grad_input"],
    );
    check_grads_and_buffers(name, module, case);
}

fn check_grads_and_buffers(name: &str, module: &dyn Module, case: &Value) {
    if let Some(gp) = case["grad_params"].as_object() {
        let params = module.named_parameters();
        assert_eq!(params.len(), gp.len(), "{name}: number of parameters");
        for (pname, want) in gp {
            let var = &params
                .iter()
                .find(|(n, _)| n == pname)
                .unwrap_or_else(|| panic!("{name}: no parameter {pname}"))
                .1;
            assert_close(&format!("{name}: grad {pname}"), &var.grad().unwrap(), want);
        }
    }
    if let Some(ba) = case.get("buffers_after").and_then(|b| b.as_object()) {
        let bufs = module.named_buffers();
        for (bname, want) in ba {
            let var = &bufs.iter().find(|(n, _)| n == bname).unwrap().1;
            assert_close(&format!("{name}: buffer {bname}"), &var.value(), want);
        }
    }
}

fn single<M: Module>(m: &M, x: &Var) -> Vec<Var> {
    vec![m.forward(x).unwrap()]
}

fn rng() -> Rng {
    Rng::new(0)
}

#[test]
fn linear() {
    let m = Linear::new(5, 3, true, &mut rng()).unwrap();
    load_params(&m, &reference()["linear"], &[]);
    check_case("linear", &m, single);
}

fn activation_case(name: &str, kind: ActivationKind) {
    let m = Activation::new(kind);
    check_case(name, &m, single);
}

#[test]
fn activations() {
    activation_case("relu", ActivationKind::Relu);
    activation_case("leaky_relu_0.01", ActivationKind::LeakyRelu(0.01));
    activation_case("gelu_erf", ActivationKind::Gelu);
    activation_case("gelu_tanh", ActivationKind::GeluTanh);
    activation_case("sigmoid", ActivationKind::Sigmoid);
    activation_case("tanh", ActivationKind::Tanh);
    activation_case("softmax_dim1", ActivationKind::Softmax(1));
    activation_case("log_softmax_dim1", ActivationKind::LogSoftmax(1));
    activation_case("elu", ActivationKind::Elu(1.0));
    activation_case("silu", ActivationKind::Silu);
    activation_case("softplus", ActivationKind::Softplus);
}

#[test]
fn batchnorm1d_train() {
    let m = BatchNorm::new_1d(5).unwrap();
    let bufs = [
        ("running_mean", Tensor::zeros(&[5])),
        ("running_var", Tensor::ones(&[5])),
    ];
    load_params(&m, &reference()["batchnorm1d_train"], &bufs);
    check_case("batchnorm1d_train", &m, single);
}

#[test]
fn batchnorm2d_train() {
    let m = BatchNorm::new_2d(3).unwrap();
    let bufs = [
        ("running_mean", Tensor::zeros(&[3])),
        ("running_var", Tensor::ones(&[3])),
    ];
    load_params(&m, &reference()["batchnorm2d_train"], &bufs);
    check_case("batchnorm2d_train", &m, single);
}

#[test]
fn batchnorm1d_eval() {
    let mut m = BatchNorm::new_1d(4).unwrap();
    m.set_training(false);
    let case = &reference()["batchnorm1d_eval"];
    let bufs = [
        ("running_mean", tensor(&case["running_mean"])),
        ("running_var", tensor(&case["running_var"])),
    ];
    load_params(&m, case, &bufs);
    check_case("batchnorm1d_eval", &m, single);
}

#[test]
fn layernorm() {
    let m = LayerNorm::new(&[6]).unwrap();
    load_params(&m, &reference()["layernorm"], &[]);
    check_case("layernorm", &m, single);
}

fn recurrent_case(name: &str, kind: CellKind, layers: usize) {
    let m = Recurrent::new(kind, 3, 4, layers, true, &mut rng()).unwrap();
    load_params(&m, &reference()[name], &[]);
    check_case(name, &m, |m, x| {
        let out = m.forward_with_state(x, None, None).unwrap();
        let mut v = vec![out.output, out.h_n];
        v.extend(out.c_n);
        v
    });
}

#[test]
fn lstm() {
    recurrent_case("lstm", CellKind::Lstm, 1);
}

#[test]
fn lstm_2layer() {
    recurrent_case("lstm_2layer", CellKind::Lstm, 2);
}

#[test]
fn gru() {
    recurrent_case("gru", CellKind::Gru, 1);
}

#[test]
fn rnn_tanh() {
    recurrent_case("rnn_tanh", CellKind::Tanh, 1);
}

#[test]
fn embedding() {
    let r = reference();
    let case = &r["embedding"];
    let m = Embedding::new(7, 3, &mut rng()).unwrap();
    load_params(&m, case, &[]);
    let (idx, shape) = arr(&case["indices"]);
    let idx: Vec<usize> = idx.iter().map(|&v| v as usize).collect();
    let out = m.lookup(&idx, &shape).unwrap();
    assert_close("embedding: output", &out.value(), &case["outputs"][0]);
    out.mul(&Var::constant(tensor(&case["upstream"][0])))
        .unwrap()
        .sum_all()
        .backward()
        .unwrap();
    check_grads_and_buffers("embedding", &m, case);
    // The Module interface takes the indices as integer-valued floats.
    let again = m
        .forward(&Var::constant(
            Tensor::from_vec(idx.iter().map(|&i| i as f32).collect(), &shape).unwrap(),
        ))
        .unwrap();
    assert_close("embedding: forward", &again.value(), &case["outputs"][0]);
}

fn conv2d_case(name: &str, cfg: Conv2dConfig) {
    let m = Conv2d::new(cfg, &mut rng()).unwrap();
    load_params(&m, &reference()[name], &[]);
    check_case(name, &m, single);
}

#[test]
fn convolutions() {
    conv2d_case(
        "conv2d_s2_p1",
        Conv2dConfig::new(3, 4, 3).stride(2).padding(1),
    );
    conv2d_case("conv2d_s1_p0_k5", Conv2dConfig::new(2, 3, 5));
    conv2d_case(
        "conv2d_dilation2",
        Conv2dConfig::new(2, 2, 3).dilation(2).padding(2),
    );
    let m = Conv1d::new(3, 2, 3, 1, 1, 1, 1, true, &mut rng()).unwrap();
    load_params(&m, &reference()["conv1d_s1_p1"], &[]);
    check_case("conv1d_s1_p1", &m, single);
}

#[test]
fn pooling() {
    check_case("maxpool2d_k2_s2", &MaxPool2d::new(2, 2, 0).unwrap(), single);
    check_case(
        "maxpool2d_k3_s2_p1",
        &MaxPool2d::new(3, 2, 1).unwrap(),
        single,
    );
    check_case("avgpool2d_k2_s2", &AvgPool2d::new(2, 2, 0).unwrap(), single);
    check_case(
        "adaptive_avgpool2d_1",
        &AdaptiveAvgPool2d::new(1, 1).unwrap(),
        single,
    );
}
