//! MLP 784-256-128-10 (ReLU), batch 64, cross-entropy: forward + backward through the
//! autograd graph, and the forward alone under `no_grad`. Weights use PyTorch's
//! `[out, in]` layout (`x · Wᵀ + b`).
//!
//! `cargo bench --bench autograd_mlp`; PyTorch counterpart: `bench/pytorch_autograd_mlp.py`
//! (run both back to back and compare the ratio).

use criterion::{criterion_group, criterion_main, Criterion};
use glassbox_autograd::ops::loss::{cross_entropy, CrossEntropyOptions};
use glassbox_autograd::{no_grad, Result, Var};
use glassbox_tensor::{rng::Rng, Tensor};
use std::hint::black_box;
use std::time::Duration;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZES: [usize; 4] = [784, 256, 128, 10];
const BATCH: usize = 64;

struct Mlp {
    layers: Vec<(Var, Var)>,
}

impl Mlp {
    fn new(rng: &mut Rng) -> Self {
        let layers = SIZES
            .windows(2)
            .map(|w| {
                let (fan_in, fan_out) = (w[0], w[1]);
                let bound = 1.0 / (fan_in as f32).sqrt();
                (
                    Var::parameter(Tensor::rand_uniform(&[fan_out, fan_in], -bound, bound, rng)),
                    Var::parameter(Tensor::rand_uniform(&[fan_out], -bound, bound, rng)),
                )
            })
            .collect();
        Mlp { layers }
    }

    fn forward(&self, x: &Var) -> Result<Var> {
        let mut h = x.clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            h = h.matmul(&w.t()?)?.add(b)?;
            if i + 1 < self.layers.len() {
                h = h.relu();
            }
        }
        Ok(h)
    }

    fn zero_grad(&self) {
        for (w, b) in &self.layers {
            w.zero_grad();
            b.zero_grad();
        }
    }
}

fn mlp(c: &mut Criterion) {
    let mut g = c.benchmark_group("autograd_mlp_784_256_128_10_b64");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let mut rng = Rng::new(0);
    let model = Mlp::new(&mut rng);
    let x = Var::constant(Tensor::rand_normal(&[BATCH, SIZES[0]], 0.0, 1.0, &mut rng));
    let targets: Vec<usize> = (0..BATCH).map(|_| rng.below(SIZES[3])).collect();
    let opts = CrossEntropyOptions::default();
    g.bench_function("forward_backward", |bch| {
        bch.iter(|| {
            model.zero_grad();
            let logits = model.forward(&x).expect("forward");
            let loss = cross_entropy(&logits, &targets, &opts).expect("loss");
            loss.backward().expect("backward");
            black_box(loss.value());
        })
    });
    g.bench_function("no_grad_forward", |bch| {
        bch.iter(|| no_grad(|| black_box(model.forward(&x).expect("forward").value())))
    });
    g.finish();
}

criterion_group!(benches, mlp);
criterion_main!(benches);
