//! Loading MNIST's 60k×28×28 training images from the gzip IDX file (target: < 1 s).
//!
//! `cargo bench --bench data_idx`

use criterion::{criterion_group, criterion_main, Criterion};
use glassbox_data::idx::{images_to_f32, read_idx_images, read_idx_labels};
use std::time::Duration;

/// The allocator the `glassbox` binary ships with (see `crates/cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    // bundled in the repository: a missing file fails
    let images = glassbox_testkit::bundled_data("mnist/train-images-idx3-ubyte.gz");
    let labels = glassbox_testkit::bundled_data("mnist/train-labels-idx1-ubyte.gz");
    let mut g = c.benchmark_group("data_idx");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("mnist_train_images_gz_60000x28x28", |b| {
        b.iter(|| {
            let a = read_idx_images(&images).expect("MNIST images load");
            assert_eq!(a.dim(), (60000, 28, 28));
            a
        })
    });
    g.bench_function("mnist_train_labels_gz_60000", |b| {
        b.iter(|| read_idx_labels(&labels).expect("MNIST labels load"))
    });
    let a = read_idx_images(&images).expect("MNIST images load");
    g.bench_function("mnist_images_to_f32_nchw", |b| b.iter(|| images_to_f32(&a)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
