//! Integrated Gradients on the digits MLP (64 → 128 → 64 → 10, ReLU): 50 Gauss–Legendre
//! steps for 100 standardised digits rows, target = predicted class, zero baseline — the
//! workload of Captum's `IntegratedGradients` in `/work/shared/bench/pytorch/explain.py`
//! (compare with `python bench/explain_ig_compare.py`). The MLP has nn's default random
//! initialisation (IG's cost does not depend on the weights' values).
//!
//! Variants: all 5000 path rows in one forward/backward pass (`unlimited`), under a cap of
//! 1024 rows per pass (peak memory set by the cap), and per-input calls (100 × 50 rows).
//!
//! Run: `cargo bench --bench explain_ig`.

#[path = "support/digits_mlp.rs"]
mod digits_mlp;

use criterion::{criterion_group, criterion_main, Criterion};

use glassbox_explain::gradient::{integrated_gradients, saliency, BatchCap, GradModel, IgConfig};
use glassbox_tensor::Tensor;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn digits_rows(n: usize) -> Tensor {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/tabular/digits.csv");
    let text = std::fs::read_to_string(path).expect("bundled digits.csv");
    let rows: Vec<Vec<f32>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .take(64)
                .map(|s| s.trim().parse().unwrap())
                .collect()
        })
        .collect();
    let m = rows.len() as f32;
    let mut out = Vec::with_capacity(n * 64);
    let (mut mean, mut sd) = (vec![0f32; 64], vec![0f32; 64]);
    for r in &rows {
        for j in 0..64 {
            mean[j] += r[j] / m;
        }
    }
    for r in &rows {
        for j in 0..64 {
            sd[j] += (r[j] - mean[j]).powi(2) / m;
        }
    }
    for r in rows.iter().take(n) {
        for j in 0..64 {
            let s = sd[j].sqrt();
            out.push(if s > 0.0 { (r[j] - mean[j]) / s } else { 0.0 });
        }
    }
    Tensor::from_vec(out, &[n, 64]).unwrap()
}

fn bench(c: &mut Criterion) {
    let net = digits_mlp::digits_mlp(0);
    let x = digits_rows(100);
    let targets = digits_mlp::predicted_classes(&net, &x);
    let m = GradModel::new(&net);
    let mut g = c.benchmark_group("explain_ig_digits_mlp");
    g.sample_size(20);
    for (name, cap) in [
        ("unlimited", BatchCap::Unlimited),
        ("cap_1024_rows", BatchCap::Rows(1024)),
    ] {
        let cfg = IgConfig {
            steps: 50,
            cap,
            ..IgConfig::default()
        };
        g.bench_function(format!("ig_50_steps_100_inputs_{name}"), |b| {
            b.iter(|| integrated_gradients(&m, &x, &targets, &cfg).unwrap())
        });
    }
    let cfg = IgConfig {
        steps: 50,
        ..IgConfig::default()
    };
    g.bench_function("ig_50_steps_100_inputs_per_input_loop", |b| {
        b.iter(|| {
            for i in 0..100 {
                let xi = x.try_narrow(0, i, 1).unwrap().contiguous();
                integrated_gradients(&m, &xi, &targets[i..i + 1], &cfg).unwrap();
            }
        })
    });
    g.bench_function("saliency_100_inputs", |b| {
        b.iter(|| saliency(&m, &x, &targets, true).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
