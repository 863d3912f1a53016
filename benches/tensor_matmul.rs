//! f32 matmul throughput (reported as FLOP/s: criterion's "elem/s" is 2·m·n·k per second)
//! at 256–2048 with 1 and 2 threads, plus the small shapes inside an MLP / LSTM step.
//!
//! `cargo bench --bench tensor_matmul`; compare with `bench/gemm_compare.sh`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use glassbox_tensor::{rng::Rng, Tensor};
use std::hint::black_box;
use std::time::Duration;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn square(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_square");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let mut rng = Rng::new(0);
    for n in [256usize, 512, 1024, 2048] {
        let a = Tensor::rand_normal(&[n, n], 0.0, 1.0, &mut rng);
        let b = Tensor::rand_normal(&[n, n], 0.0, 1.0, &mut rng);
        g.throughput(Throughput::Elements(2 * (n * n * n) as u64));
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            g.bench_with_input(
                BenchmarkId::new(format!("{threads}thr"), n),
                &n,
                |bch, _| pool.install(|| bch.iter(|| black_box(a.matmul(&b)))),
            );
        }
    }
    g.finish();
}

fn small(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_small");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let mut rng = Rng::new(1);
    // (m, k, n): batch-32 MLP layers, an LSTM step (gates = x·W^T), and a 4×4.
    for (m, k, n) in [
        (32usize, 64usize, 256usize),
        (32, 256, 64),
        (32, 128, 512),
        (64, 784, 128),
        (4, 4, 4),
    ] {
        let a = Tensor::rand_normal(&[m, k], 0.0, 1.0, &mut rng);
        let w = Tensor::rand_normal(&[n, k], 0.0, 1.0, &mut rng); // [out, in] like Linear
        g.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        g.bench_function(format!("{m}x{k}x{n}_wT"), |bch| {
            bch.iter(|| black_box(a.matmul(&w.t())))
        });
        g.bench_function(format!("{m}x{k}x{n}_wT_portable"), |bch| {
            bch.iter(|| black_box(a.matmul_portable(&w.t())))
        });
    }
    g.finish();
}

criterion_group!(benches, square, small);
criterion_main!(benches);
