//! Kernel SHAP on a digits-sized MLP (64 → 128 → 64 → 10, ReLU, softmax output), with a
//! 10-point k-means background, 2048 coalitions per input and 10 inputs: the workload of
//! `shap.KernelExplainer` in `bench/explain_compare.py` (and the shared
//! `bench/pytorch/explain.py`). The MLP is fixed and random (PyTorch's default
//! `U(±1/√fan_in)` initialisation). The `f32` variant is a glassbox-nn `Sequential`
//! explained through `glassbox::predict::proba_predictor` (what a user of the umbrella crate
//! runs, and what the float32 PyTorch model computes); the `f64` variant is the same MLP in
//! double precision with ndarray matmuls (a model of another library, as a closure).
//!
//! Run: `cargo bench --bench explain_kernel_shap`.

use criterion::{criterion_group, criterion_main, Criterion};
use glassbox::nn::{Activation, Linear, Sequential};
use glassbox::predict::proba_predictor;
use glassbox::tensor::rng::Rng as TensorRng;
use glassbox_explain::rng::Rng;
use glassbox_explain::shapley::{Background, KernelShap, KernelShapConfig};
use ndarray::{Array1, Array2, ArrayView2, Axis};

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Mlp<T> {
    layers: Vec<(Array2<T>, Array1<T>)>,
}

fn init(sizes: &[usize], seed: u64) -> Vec<(Array2<f64>, Array1<f64>)> {
    let mut rng = Rng::new(seed);
    sizes
        .windows(2)
        .map(|p| {
            let bound = 1.0 / (p[0] as f64).sqrt();
            let w = Array2::from_shape_fn((p[0], p[1]), |_| rng.uniform_range(-bound, bound));
            let b = Array1::from_shape_fn(p[1], |_| rng.uniform_range(-bound, bound));
            (w, b)
        })
        .collect()
}

impl Mlp<f64> {
    fn new(sizes: &[usize], seed: u64) -> Self {
        Mlp {
            layers: init(sizes, seed),
        }
    }

    /// Softmax of the MLP in double precision, with ndarray matmuls.
    fn predict(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut h = x.to_owned();
        let last = self.layers.len() - 1;
        for (i, (w, b)) in self.layers.iter().enumerate() {
            h = h.dot(w) + b;
            if i < last {
                h.mapv_inplace(|v| v.max(0.0));
            }
        }
        for mut row in h.axis_iter_mut(Axis(0)) {
            let m = row.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
            row.mapv_inplace(|v| (v - m).exp());
            let s = row.sum();
            row.mapv_inplace(|v| v / s);
        }
        h
    }
}

/// The same MLP as a glassbox-nn `Sequential` (f32, PyTorch's `[out, in]` weight layout).
fn glassbox_mlp(sizes: &[usize], seed: u64) -> Sequential {
    let mut net = Sequential::new();
    let mut trng = TensorRng::new(seed);
    let last = sizes.len() - 2;
    for (i, p) in sizes.windows(2).enumerate() {
        net = net.add(Linear::new(p[0], p[1], true, &mut trng).unwrap());
        if i < last {
            net = net.add(Activation::relu());
        }
    }
    net
}

/// Standardised `data/tabular/digits.csv` (synthetic data of the same shape if absent).
fn digits() -> Array2<f64> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/tabular/digits.csv");
    let x = match std::fs::read_to_string(path) {
        Ok(text) => {
            let rows: Vec<Vec<f64>> = text
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    l.split(',')
                        .take(64)
                        .map(|v| v.trim().parse().unwrap_or(0.0))
                        .collect()
                })
                .collect();
            Array2::from_shape_fn((rows.len(), 64), |(i, j)| rows[i][j])
        }
        Err(e) => {
            eprintln!("{path}: {e}; using synthetic data");
            let mut rng = Rng::new(1);
            Array2::from_shape_fn((1797, 64), |_| (rng.uniform() * 16.0).floor())
        }
    };
    let mean = x.mean_axis(Axis(0)).unwrap();
    let std = x
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 0.0 { s } else { 1.0 });
    (&x - &mean) / &std
}

fn bench(c: &mut Criterion) {
    let x = digits();
    let n_train = x.nrows() * 4 / 5;
    let background = Background::kmeans(x.slice(ndarray::s![..n_train, ..]), 10, 0).unwrap();
    let inputs = x.slice(ndarray::s![n_train..n_train + 10, ..]).to_owned();
    let config = KernelShapConfig {
        n_samples: Some(2048),
        ..Default::default()
    };
    let sizes = [64, 128, 64, 10];
    let net = glassbox_mlp(&sizes, 0);
    let m64 = Mlp::<f64>::new(&sizes, 0);
    // The user-facing path: a glassbox-nn model behind the umbrella crate's predictor view
    // (rows -> class probabilities).
    let f32_model = proba_predictor(&net, 10);
    let f64_model = |b: ArrayView2<f64>| m64.predict(b);
    let mut group = c.benchmark_group("kernel_shap_digits_mlp");
    group.sample_size(10);
    let ks = KernelShap::new(&f32_model, background.clone(), config.clone()).unwrap();
    let sv = ks.explain(inputs.view()).unwrap();
    assert!(sv.efficiency_gap() < 1e-5);
    group.bench_function("f32_mlp_10_inputs_2048_coalitions", |b| {
        b.iter(|| ks.explain(inputs.view()).unwrap())
    });
    let ks = KernelShap::new(&f64_model, background, config).unwrap();
    group.bench_function("f64_mlp_10_inputs_2048_coalitions", |b| {
        b.iter(|| ks.explain(inputs.view()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
