//! One training epoch of the digits MLP 64-128-64-10 (Adam 1e-3, batch 32, 1437 training
//! rows), the workload of `shared/bench/pytorch/mlp_digits.py`.

#[path = "../tests/it/nn_support.rs"]
mod nn_support;

use criterion::{criterion_group, criterion_main, Criterion};
use glassbox_nn::Module;
use glassbox_optim::{Adam, AdamConfig};
use glassbox_tensor::rng::Rng;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let s = nn_support::load_digits();
    let mut rng = Rng::new(0);
    let model = nn_support::digits_mlp(&mut rng);
    let mut opt = Adam::new(model.named_parameters(), AdamConfig::adam(1e-3)).unwrap();
    let mut g = c.benchmark_group("nn_mlp_digits");
    g.sample_size(20);
    g.bench_function("train_epoch_batch32_adam", |b| {
        b.iter(|| nn_support::train_epoch(&model, &mut opt, &s.x_train, &s.y_train, 32, &mut rng))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
