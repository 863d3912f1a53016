//! conv2d forward/backward on a batch of 64 MNIST-sized images: LeNet-5's first two convs.
//!
//! `cargo bench --bench tensor_conv`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glassbox_tensor::conv::{conv2d, conv2d_backward_input, conv2d_backward_weight, Conv2dParams};
use glassbox_tensor::pool::{max_pool2d, Pool2dParams};
use glassbox_tensor::{rng::Rng, Tensor};
use std::hint::black_box;
use std::time::Duration;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn lenet_convs(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv2d_lenet_b64");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let mut rng = Rng::new(0);
    // conv1: [64, 1, 28, 28] * [6, 1, 5, 5], padding 2 -> [64, 6, 28, 28]
    // conv2: [64, 6, 14, 14] * [16, 6, 5, 5]            -> [64, 16, 10, 10]
    let cases = [
        (
            "conv1",
            [64usize, 1, 28, 28],
            [6usize, 1, 5, 5],
            Conv2dParams::default().padding(2, 2),
        ),
        (
            "conv2",
            [64, 6, 14, 14],
            [16, 6, 5, 5],
            Conv2dParams::default(),
        ),
    ];
    for (name, xs, ws, p) in cases {
        let x = Tensor::rand_normal(&xs, 0.0, 1.0, &mut rng);
        let w = Tensor::rand_normal(&ws, 0.0, 0.1, &mut rng);
        let b = Tensor::zeros(&[ws[0]]);
        let y = conv2d(&x, &w, Some(&b), &p).expect("conv");
        g.throughput(Throughput::Elements(xs[0] as u64));
        g.bench_function(format!("{name}_forward"), |bch| {
            bch.iter(|| black_box(conv2d(&x, &w, Some(&b), &p).unwrap()))
        });
        g.bench_function(format!("{name}_backward_input"), |bch| {
            bch.iter(|| black_box(conv2d_backward_input(&y, &w, x.shape(), &p).unwrap()))
        });
        g.bench_function(format!("{name}_backward_weight"), |bch| {
            bch.iter(|| black_box(conv2d_backward_weight(&y, &x, w.shape(), &p).unwrap()))
        });
    }
    let x = Tensor::rand_normal(&[64, 6, 28, 28], 0.0, 1.0, &mut rng);
    g.bench_function("maxpool2x2_64x6x28x28", |bch| {
        bch.iter(|| black_box(max_pool2d(&x, &Pool2dParams::new(2, 2)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, lenet_convs);
criterion_main!(benches);
