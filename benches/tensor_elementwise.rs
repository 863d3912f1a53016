//! Elementwise add of two 1M-element tensors against a plain slice loop, per-op overhead
//! of a 4×4 add, and a 1M sum / a [64, 10] softmax.
//!
//! `cargo bench --bench tensor_elementwise`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glassbox_tensor::{rng::Rng, Tensor};
use std::hint::black_box;
use std::time::Duration;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn elementwise(c: &mut Criterion) {
    let mut g = c.benchmark_group("elementwise");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let mut rng = Rng::new(0);
    let n = 1 << 20;
    let a = Tensor::rand_normal(&[n], 0.0, 1.0, &mut rng);
    let b = Tensor::rand_normal(&[n], 0.0, 1.0, &mut rng);
    let (av, bv) = (a.to_vec(), b.to_vec());
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("add_1M_tensor", |bch| bch.iter(|| black_box(&a + &b)));
    g.bench_function("add_1M_slice_loop", |bch| {
        bch.iter(|| black_box(av.iter().zip(&bv).map(|(x, y)| x + y).collect::<Vec<f32>>()))
    });
    let m = a.reshape(&[1024, 1024]);
    let row = Tensor::rand_normal(&[1024], 0.0, 1.0, &mut rng);
    g.bench_function("add_1M_broadcast_row", |bch| {
        bch.iter(|| black_box(&m + &row))
    });
    g.bench_function("sum_1M", |bch| bch.iter(|| black_box(a.sum_all())));
    g.bench_function("exp_1M", |bch| bch.iter(|| black_box(a.exp())));
    g.throughput(Throughput::Elements(16));
    let s = Tensor::rand_normal(&[4, 4], 0.0, 1.0, &mut rng);
    let t = Tensor::rand_normal(&[4, 4], 0.0, 1.0, &mut rng);
    g.bench_function("add_4x4", |bch| bch.iter(|| black_box(&s + &t)));
    let logits = Tensor::rand_normal(&[64, 10], 0.0, 1.0, &mut rng);
    g.bench_function("softmax_64x10", |bch| {
        bch.iter(|| black_box(logits.softmax(1)))
    });
    g.finish();
}

criterion_group!(benches, elementwise);
criterion_main!(benches);
