//! Shared by the data-parallel tests: launching the test binary itself under `mpirun` (each rank
//! runs one `#[ignore]`d worker test), the models and data both sides build.

#![allow(dead_code)] // each test binary uses a part

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use glassbox::nn::{
    Activation, BatchNorm, Conv2d, Conv2dConfig, Flatten, Linear, MaxPool2d, Module, Sequential,
};
use glassbox::tensor::{rng::Rng, Tensor};
use glassbox::{Targets, TrainData};
use ndarray::{ArrayD, IxDyn};

/// Environment variable through which the driver tells a worker where to write.
pub const OUT_VAR: &str = "GLASSBOX_MPI_TEST_OUT";
/// Environment variable with a scenario argument for a worker.
pub const ARG_VAR: &str = "GLASSBOX_MPI_TEST_ARG";

/// Runs worker test `worker` on `np` ranks under `timeout 60 mpirun`, with `out` and `arg`
/// in the environment. Returns the output and the wall time.
pub fn mpirun(np: usize, worker: &str, out: &PathBuf, arg: &str) -> (Output, Duration) {
    let exe = std::env::current_exe().expect("test binary path");
    let started = Instant::now();
    let output = Command::new("timeout")
        .args([
            "60",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "--bind-to",
            "none",
        ])
        .args(["-x", OUT_VAR, "-x", ARG_VAR, "-x", "RAYON_NUM_THREADS"])
        .arg("-np")
        .arg(np.to_string())
        .arg(exe)
        .args([
            worker,
            "--exact",
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(OUT_VAR, out)
        .env(ARG_VAR, arg)
        .env("RAYON_NUM_THREADS", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .expect("mpirun runs (package openmpi-bin)");
    (output, started.elapsed())
}

/// Asserts the job succeeded, printing its output otherwise.
pub fn assert_ok(what: &str, o: &Output) {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A fresh temporary path.
pub fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("glassbox-mpi-{}-{name}", std::process::id()))
}

/// The worker's output path and argument.
pub fn worker_env() -> Option<(PathBuf, String)> {
    let out = std::env::var_os(OUT_VAR)?;
    Some((
        PathBuf::from(out),
        std::env::var(ARG_VAR).unwrap_or_default(),
    ))
}

/// Writes `f64` values as little-endian bytes.
pub fn write_f64(path: &PathBuf, v: &[f64]) {
    let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, b).expect("write results");
}

/// Reads what [`write_f64`] wrote.
pub fn read_f64(path: &PathBuf) -> Vec<f64> {
    std::fs::read(path)
        .expect("the job wrote its results")
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Every parameter and buffer value, in order.
pub fn flat_state(m: &dyn Module) -> Vec<f64> {
    m.named_parameters()
        .into_iter()
        .chain(m.named_buffers())
        .flat_map(|(_, v)| v.value().to_vec())
        .map(f64::from)
        .collect()
}

/// An MLP 6 → 16 → 3.
pub fn mlp() -> Sequential {
    let mut rng = Rng::new(3);
    Sequential::new()
        .add(Linear::new(6, 16, true, &mut rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(16, 3, true, &mut rng).unwrap())
}

/// A CNN with BatchNorm on 1×8×8 images: conv → BN → ReLU → max-pool → dense. The
/// convolution has no bias, as usual before BatchNorm: the loss does not depend on it, so
/// its gradient is pure rounding noise, which Adam (dividing by the gradient's RMS) would
/// turn into steps of size `lr` in arbitrary directions, making any parity test meaningless.
pub fn cnn_bn() -> Sequential {
    let mut rng = Rng::new(4);
    Sequential::new()
        .add(Conv2d::new(Conv2dConfig::new(1, 4, 3).padding(1).bias(false), &mut rng).unwrap())
        .add(BatchNorm::new_2d(4).unwrap())
        .add(Activation::relu())
        .add(MaxPool2d::new(2, 2, 0).unwrap())
        .add(Flatten::new())
        .add(Linear::new(64, 3, true, &mut rng).unwrap())
}

/// `n` seeded samples of shape `sample` with 3 classes that depend on the inputs.
pub fn data(n: usize, sample: &[usize], seed: u64) -> TrainData {
    let mut rng = Rng::new(seed);
    let mut shape = vec![n];
    shape.extend_from_slice(sample);
    let x = Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng).to_vec();
    let d = x.len() / n;
    let labels: Vec<usize> = (0..n)
        .map(|i| {
            let r = &x[i * d..(i + 1) * d];
            let s: f32 = r.iter().take(d / 2).sum::<f32>() - r.iter().skip(d / 2).sum::<f32>();
            if s > 1.0 {
                0
            } else if s < -1.0 {
                1
            } else {
                2
            }
        })
        .collect();
    let x = ArrayD::from_shape_vec(IxDyn(&shape), x).unwrap();
    TrainData::new(
        x,
        &Targets::Classes {
            labels,
            n_classes: 3,
        },
    )
    .unwrap()
}
