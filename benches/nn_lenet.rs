//! LeNet-5 training on MNIST-shaped batches of 64 (SGD 0.01 momentum 0.9, cross-entropy),
//! as `shared/bench/pytorch/cnn_lenet.py`: one iteration = 16 steps = 1,024 samples; and
//! eval-mode inference on a batch of 256.

#[path = "../tests/it/nn_support.rs"]
mod nn_support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glassbox_autograd::{no_grad, Var};
use glassbox_nn::{cross_entropy, CrossEntropyOptions, Module};
use glassbox_optim::{Optimizer, Sgd, SgdConfig};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let mut rng = Rng::new(0);
    let n = 1024;
    let x = Tensor::rand_normal(&[n, 1, 28, 28], 0.0, 1.0, &mut rng);
    let y: Vec<usize> = (0..n).map(|_| rng.below(10)).collect();
    let mut model = nn_support::lenet(&mut rng);
    let mut opt = Sgd::new(
        model.named_parameters(),
        SgdConfig::new(0.01).with_momentum(0.9),
    )
    .unwrap();
    let batches: Vec<(Tensor, Vec<usize>)> = (0..n / 64)
        .map(|s| {
            let idx: Vec<usize> = (s * 64..(s + 1) * 64).collect();
            (
                nn_support::take_rows(&x, &idx),
                y[s * 64..(s + 1) * 64].to_vec(),
            )
        })
        .collect();
    let mut g = c.benchmark_group("nn_lenet");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("train_1024_samples_batch64_sgd", |b| {
        b.iter(|| {
            for (xb, yb) in &batches {
                opt.zero_grad();
                let logits = model.forward(&Var::constant(xb.clone())).unwrap();
                cross_entropy(&logits, yb, &CrossEntropyOptions::default())
                    .unwrap()
                    .backward()
                    .unwrap();
                opt.step().unwrap();
            }
        })
    });
    model.set_training(false);
    let xi = nn_support::take_rows(&x, &(0..256).collect::<Vec<_>>());
    g.throughput(Throughput::Elements(256));
    g.bench_function("infer_batch256", |b| {
        b.iter(|| no_grad(|| model.forward(&Var::constant(xi.clone())).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
