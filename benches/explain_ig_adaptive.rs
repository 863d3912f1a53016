//! Adaptive (kink-aware) Integrated Gradients against plain 64-node Gauss–Legendre IG on
//! the trained digits MLP (64 → 128 → 64 → 10, ReLU): 100 standardised test digits,
//! target = predicted class, zero baseline. The MLP is trained as in the explain tests
//! (Adam 1e-3, 4 epochs, batches of 32, every 5th row held out), outside the timing, so
//! the paths cross as many kinks as they do on a real model (issue 6's completeness bar).
//! The number of gradient evaluations and the completeness deltas are printed once.
//!
//! Run: `cargo bench --bench explain_ig_adaptive`.

#[path = "support/digits_mlp.rs"]
mod digits_mlp;

use criterion::{criterion_group, criterion_main, Criterion};
use glassbox_autograd::Var;
use glassbox_explain::gradient::{
    integrated_gradients, integrated_gradients_adaptive, AdaptiveIgConfig, GradModel, IgConfig,
};
use glassbox_nn::{cross_entropy, CrossEntropyOptions, Module, Sequential};
use glassbox_optim::{Adam, AdamConfig, Optimizer};
use glassbox_tensor::{rng::Rng, Tensor};

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Standardised digits (statistics of the training rows): (train x, train y, test x).
fn digits() -> (Tensor, Vec<usize>, Tensor) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/tabular/digits.csv");
    let text = std::fs::read_to_string(path).expect("bundled digits.csv");
    let (mut tr, mut y, mut te) = (vec![], vec![], vec![]);
    for (i, line) in text.lines().skip(1).enumerate() {
        let v: Vec<f32> = line.split(',').map(|s| s.trim().parse().unwrap()).collect();
        if i % 5 == 0 {
            te.extend_from_slice(&v[..64]);
        } else {
            tr.extend_from_slice(&v[..64]);
            y.push(v[64] as usize);
        }
    }
    let n = y.len() as f32;
    let (mut mean, mut var) = (vec![0f32; 64], vec![0f32; 64]);
    for (k, v) in tr.iter().enumerate() {
        mean[k % 64] += v / n;
    }
    for (k, v) in tr.iter().enumerate() {
        var[k % 64] += (v - mean[k % 64]).powi(2) / n;
    }
    let scale = |x: &mut Vec<f32>| {
        for (k, v) in x.iter_mut().enumerate() {
            let s = var[k % 64].sqrt();
            *v = if s > 0.0 {
                (*v - mean[k % 64]) / s
            } else {
                0.0
            };
        }
    };
    scale(&mut tr);
    scale(&mut te);
    let (ntr, nte) = (y.len(), te.len() / 64);
    (
        Tensor::from_vec(tr, &[ntr, 64]).unwrap(),
        y,
        Tensor::from_vec(te, &[nte, 64]).unwrap(),
    )
}

fn trained_mlp(x: &Tensor, y: &[usize]) -> Sequential {
    let net = digits_mlp::digits_mlp(0);
    let mut opt = Adam::new(net.named_parameters(), AdamConfig::adam(1e-3)).unwrap();
    let mut order = Rng::new(0);
    for _ in 0..4 {
        let mut idx: Vec<usize> = (0..y.len()).collect();
        order.shuffle(&mut idx);
        for b in idx.chunks(32) {
            let xb = x.try_index_select(0, b).unwrap();
            let yb: Vec<usize> = b.iter().map(|&i| y[i]).collect();
            opt.zero_grad();
            let out = net.forward(&Var::constant(xb)).unwrap();
            cross_entropy(&out, &yb, &CrossEntropyOptions::default())
                .unwrap()
                .backward()
                .unwrap();
            opt.step().unwrap();
        }
    }
    net
}

fn bench(c: &mut Criterion) {
    let (xtr, ytr, xte) = digits();
    let net = trained_mlp(&xtr, &ytr);
    let x = xte.try_narrow(0, 0, 100).unwrap().contiguous();
    let targets = digits_mlp::predicted_classes(&net, &x);
    let m = GradModel::new(&net);
    let plain = IgConfig {
        steps: 64,
        ..IgConfig::default()
    };
    let adaptive = AdaptiveIgConfig::default();
    let worst = |d: &ndarray::Array1<f64>| d.iter().fold(0f64, |a, v| a.max(v.abs()));
    let p = integrated_gradients(&m, &x, &targets, &plain).unwrap();
    let a = integrated_gradients_adaptive(&m, &x, &targets, &adaptive).unwrap();
    eprintln!(
        "plain GL-64: max |delta| {:.2e}, 64 evaluations per input; adaptive (tolerance {:e}): \
         max |delta| {:.2e}, {:.1} evaluations per input",
        worst(&p.convergence_delta),
        adaptive.tolerance,
        worst(&a.convergence_delta),
        a.evaluations.iter().sum::<usize>() as f64 / 100.0
    );
    let mut g = c.benchmark_group("explain_ig_adaptive_digits_mlp");
    g.sample_size(20);
    g.bench_function("plain_gl64_100_inputs", |b| {
        b.iter(|| integrated_gradients(&m, &x, &targets, &plain).unwrap())
    });
    g.bench_function("adaptive_from_gl64_tol_1e-4_100_inputs", |b| {
        b.iter(|| integrated_gradients_adaptive(&m, &x, &targets, &adaptive).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
