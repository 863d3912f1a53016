//! Graph overhead of glassbox-autograd: recording and backpropagating a 4×4 add (target
//! ≤ 1 µs), next to the bare tensor add, and the per-op cost along a 100-op chain.
//!
//! `cargo bench --bench autograd_overhead`

use criterion::{criterion_group, criterion_main, Criterion};
use glassbox_autograd::{no_grad, Var};
use glassbox_tensor::Tensor;
use std::hint::black_box;
use std::time::Duration;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn add_4x4(c: &mut Criterion) {
    let mut g = c.benchmark_group("autograd_add_4x4");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let a = Var::parameter(Tensor::full(&[4, 4], 1.5));
    let b = Var::parameter(Tensor::full(&[4, 4], -0.5));
    let up = Tensor::ones(&[4, 4]);
    let (ta, tb) = (a.value(), b.value());
    g.bench_function("tensor_add_only", |bch| bch.iter(|| black_box(ta.add(&tb))));
    g.bench_function("record_only", |bch| {
        bch.iter(|| black_box(a.add(&b).expect("same shapes")))
    });
    g.bench_function("no_grad_forward", |bch| {
        bch.iter(|| no_grad(|| black_box(a.add(&b).expect("same shapes"))))
    });
    g.bench_function("record_and_backward", |bch| {
        bch.iter(|| {
            a.zero_grad();
            b.zero_grad();
            let y = a.add(&b).expect("same shapes");
            y.backward_with(&up).expect("backward");
        })
    });
    g.finish();
}

fn chain_100(c: &mut Criterion) {
    let mut g = c.benchmark_group("autograd_chain_100");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let x = Var::parameter(Tensor::full(&[4, 4], 0.5));
    let up = Tensor::ones(&[4, 4]);
    g.bench_function("record_and_backward", |bch| {
        bch.iter(|| {
            x.zero_grad();
            let mut y = x.clone();
            for _ in 0..100 {
                y = y.mul(&x).expect("same shapes");
            }
            y.backward_with(&up).expect("backward");
        })
    });
    g.finish();
}

criterion_group!(benches, add_4x4, chain_100);
criterion_main!(benches);
