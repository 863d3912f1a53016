//! LSTM(16 → 64) over 50 steps, batch 32, Linear(64 → 1) on the last hidden state, MSE,
//! Adam 1e-3: one forward + backward + update per iteration, the workload of
//! `shared/bench/pytorch/lstm.py`.

use criterion::{criterion_group, criterion_main, Criterion};
use glassbox_autograd::{no_grad, Var};
use glassbox_nn::{mse_loss, Linear, Module, Recurrent, Reduction};
use glassbox_optim::{Adam, AdamConfig, Optimizer};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let (b, t, i, h) = (32, 50, 16, 64);
    let mut rng = Rng::new(0);
    let lstm = Recurrent::lstm(i, h, 1, &mut rng).unwrap();
    let fc = Linear::new(h, 1, true, &mut rng).unwrap();
    let x = Var::constant(Tensor::rand_normal(&[b, t, i], 0.0, 1.0, &mut rng));
    let y = Tensor::rand_normal(&[b, 1], 0.0, 1.0, &mut rng);
    let mut params = lstm.named_parameters();
    params.extend(fc.named_parameters());
    let mut opt = Adam::new(params, AdamConfig::adam(1e-3)).unwrap();
    let forward = |x: &Var| {
        let out = lstm.forward_with_state(x, None, None).unwrap();
        fc.forward(&out.h_n.reshape(&[b, h]).unwrap()).unwrap()
    };
    let mut g = c.benchmark_group("nn_lstm");
    g.sample_size(20);
    g.bench_function("train_step_b32_t50_16_64", |bench| {
        bench.iter(|| {
            opt.zero_grad();
            let loss = mse_loss(&forward(&x), &y, Reduction::Mean).unwrap();
            loss.backward().unwrap();
            opt.step().unwrap();
        })
    });
    g.bench_function("infer_b32_t50_16_64", |bench| {
        bench.iter(|| no_grad(|| forward(&x)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
