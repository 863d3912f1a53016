//! The data-parallel code path of `Trainer` (loss sums, gradient all-reduce and division by
//! the global count, synchronised BatchNorm) run through the single-process communicator
//! trains exactly like the plain path, up to rounding. Runs without MPI.

mod mpi_support;

use std::sync::Arc;

use glassbox::distributed::SingleProcess;
use glassbox::{OptimizerKind, TrainConfig, Trainer};
use mpi_support::*;

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 16,
        lr: 0.01,
        optimizer: OptimizerKind::Adam,
        seed: 9,
        ..TrainConfig::default()
    }
}

#[test]
fn communicator_path_of_one_process_equals_the_plain_path() {
    for (name, build, train) in [
        (
            "mlp",
            mlp as fn() -> glassbox::nn::Sequential,
            data(203, &[6], 1),
        ),
        (
            "cnn",
            cnn_bn as fn() -> glassbox::nn::Sequential,
            data(103, &[1, 8, 8], 2),
        ),
    ] {
        let mut plain = build();
        Trainer::new(config(2))
            .fit(&mut plain, &train, None)
            .unwrap();
        let mut dp = build();
        Trainer::new(config(2))
            .with_communicator(Arc::new(SingleProcess))
            .fit(&mut dp, &train, None)
            .unwrap();
        let (a, b) = (flat_state(&plain), flat_state(&dp));
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 1e-5, "{name}: {worst:e}");
        assert_ne!(
            a,
            flat_state(&build()),
            "{name}: training moved the weights"
        );
    }
}
