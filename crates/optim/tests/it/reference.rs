//! Every optimizer trajectory in `tests/reference/torch/optim.json` (PyTorch 2.15, float64)
//! reproduced to 1e-5 on the problem `mean((A p - b)^2)`, whose gradient
//! `2/n Aᵀ(A p - b)` is computed here by hand in f64 from the f32 parameters.

use glassbox_optim::{
    AdagradConfig, AdamConfig, AdamWConfig, ParamState, RmsPropConfig, SgdConfig, UpdateRule,
};
use serde_json::Value;

fn reference() -> Value {
    glassbox_testkit::reference_json("torch/optim.json")
}

fn vec1(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn grad(a: &[Vec<f64>], b: &[f64], p: &[f32]) -> Vec<f32> {
    let n = a.len() as f64;
    let mut g = vec![0.0f64; p.len()];
    for (row, &bi) in a.iter().zip(b) {
        let r: f64 = row.iter().zip(p).map(|(x, &y)| x * y as f64).sum::<f64>() - bi;
        for (gj, x) in g.iter_mut().zip(row) {
            *gj += 2.0 / n * r * x;
        }
    }
    g.into_iter().map(|x| x as f32).collect()
}

fn check(key: &str, rule: &dyn UpdateRule) {
    let r = reference();
    let a: Vec<Vec<f64>> = r["A"].as_array().unwrap().iter().map(vec1).collect();
    let b = vec1(&r["b"]);
    let mut p: Vec<f32> = vec1(&r["p0"]).into_iter().map(|x| x as f32).collect();
    let mut state = ParamState::default();
    for (step, expected) in r[key].as_array().unwrap().iter().enumerate() {
        let g = grad(&a, &b, &p);
        rule.update("p", rule.default_lr(), &mut p, &g, &mut state)
            .unwrap();
        glassbox_testkit::assert_close(
            &format!("{key}: step {}", step + 1),
            &p,
            &vec1(expected),
            1e-5,
        );
    }
    assert_eq!(state.step, 6);
}

#[test]
fn sgd_matches_pytorch() {
    check("sgd_lr0.1", &SgdConfig::new(0.1));
}

#[test]
fn sgd_momentum_matches_pytorch() {
    check(
        "sgd_momentum0.9_lr0.05",
        &SgdConfig::new(0.05).with_momentum(0.9),
    );
}

#[test]
fn sgd_nesterov_weight_decay_matches_pytorch() {
    // torch.optim.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)
    let rule = SgdConfig::new(0.05)
        .with_momentum(0.9)
        .with_nesterov(true)
        .with_weight_decay(0.01);
    check("sgd_nesterov_wd0.01", &rule);
}

#[test]
fn adam_matches_pytorch() {
    check("adam_lr0.1", &AdamConfig::adam(0.1));
}

#[test]
fn adam_l2_matches_pytorch() {
    check(
        "adam_lr0.1_wd0.01",
        &AdamConfig::adam(0.1).with_weight_decay(0.01),
    );
}

#[test]
fn adamw_matches_pytorch() {
    check(
        "adamw_lr0.1_wd0.1",
        &AdamWConfig::new(0.1).with_weight_decay(0.1),
    );
}

#[test]
fn rmsprop_matches_pytorch() {
    check("rmsprop_lr0.01", &RmsPropConfig::new(0.01));
}

#[test]
fn adagrad_matches_pytorch() {
    check("adagrad_lr0.1", &AdagradConfig::new(0.1));
}
