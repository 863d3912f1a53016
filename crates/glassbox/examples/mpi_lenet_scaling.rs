//! Time per epoch of LeNet-5 on MNIST, data-parallel under MPI, and the share of a step
//! spent in the gradient all-reduce.
//!
//! ```sh
//! cargo build --release -p glassbox --features distributed --example mpi_lenet_scaling
//! RAYON_NUM_THREADS=1 mpirun --allow-run-as-root -np 2 --bind-to none -x RAYON_NUM_THREADS \
//!     target/release/examples/mpi_lenet_scaling [images] [epochs]
//! ```
//!
//! Each rank's gradient all-reduce is timed in two parts: waiting for the slowest rank (a
//! barrier first: load imbalance, shared cores) and the all-reduce itself.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use glassbox::data::idx::{images_to_f32, read_idx_images, read_idx_labels};
use glassbox::distributed::{install_abort_on_panic, Communicator, MpiCommunicator};
use glassbox::nn::{Activation, Conv2d, Conv2dConfig, Flatten, Linear, MaxPool2d, Sequential};
use glassbox::tensor::rng::Rng;
use glassbox::{EpochMetrics, OptimizerKind, Targets, TrainConfig, TrainData, Trainer};

/// Timing decorator of a communicator.
struct Timed {
    inner: Arc<dyn Communicator>,
    times: Mutex<(f64, f64, usize)>,
}

impl Communicator for Timed {
    fn rank(&self) -> usize {
        self.inner.rank()
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn barrier(&self) {
        self.inner.barrier()
    }
    fn broadcast_f32(&self, root: usize, buf: &mut [f32]) {
        self.inner.broadcast_f32(root, buf)
    }
    fn broadcast_bytes(&self, root: usize, buf: &mut Vec<u8>) {
        self.inner.broadcast_bytes(root, buf)
    }
    fn all_reduce_sum_f32(&self, buf: &mut [f32]) {
        if buf.len() < 1000 {
            return self.inner.all_reduce_sum_f32(buf);
        }
        let t0 = Instant::now();
        self.inner.barrier();
        let t1 = Instant::now();
        self.inner.all_reduce_sum_f32(buf);
        let t2 = Instant::now();
        let mut t = self.times.lock().unwrap();
        t.0 += (t1 - t0).as_secs_f64();
        t.1 += (t2 - t1).as_secs_f64();
        t.2 += 1;
    }
    fn all_reduce_sum_f64(&self, buf: &mut [f64]) {
        self.inner.all_reduce_sum_f64(buf)
    }
    fn all_gather_bytes(&self, mine: &[u8]) -> Vec<Vec<u8>> {
        self.inner.all_gather_bytes(mine)
    }
    fn abort(&self, code: i32) -> ! {
        self.inner.abort(code)
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(60_000);
    let epochs = args.get(1).copied().unwrap_or(1);
    let mpi = MpiCommunicator::init().expect("MPI starts");
    install_abort_on_panic(mpi.rank());
    let timed = Arc::new(Timed {
        inner: Arc::new(mpi),
        times: Mutex::new((0.0, 0.0, 0)),
    });
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mnist");
    let images = read_idx_images(format!("{dir}/train-images-idx3-ubyte.gz")).unwrap();
    let labels = read_idx_labels(format!("{dir}/train-labels-idx1-ubyte.gz")).unwrap();
    let n = n.min(labels.len());
    let x = images_to_f32(&images)
        .slice(ndarray::s![..n, .., .., ..])
        .to_owned()
        .into_dyn();
    let train = TrainData::new(
        x,
        &Targets::Classes {
            labels: labels.iter().take(n).map(|&l| l as usize).collect(),
            n_classes: 10,
        },
    )
    .unwrap();
    let mut rng = Rng::new(0);
    let mut model = Sequential::new()
        .add(Conv2d::new(Conv2dConfig::new(1, 6, 5).padding(2), &mut rng).unwrap())
        .add(Activation::relu())
        .add(MaxPool2d::new(2, 2, 0).unwrap())
        .add(Conv2d::new(Conv2dConfig::new(6, 16, 5), &mut rng).unwrap())
        .add(Activation::relu())
        .add(MaxPool2d::new(2, 2, 0).unwrap())
        .add(Flatten::new())
        .add(Linear::new(400, 120, true, &mut rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(120, 84, true, &mut rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(84, 10, true, &mut rng).unwrap());
    let cfg = TrainConfig {
        epochs,
        batch_size: 64,
        lr: 1e-3,
        optimizer: OptimizerKind::Adam,
        ..TrainConfig::default()
    };
    let comm: Arc<dyn Communicator> = timed.clone();
    let history = Trainer::new(cfg)
        .with_communicator(comm)
        .fit(&mut model, &train, None)
        .unwrap();
    let (wait, reduce, calls) = *timed.times.lock().unwrap();
    let seconds: f64 = history
        .epochs
        .iter()
        .map(|e: &EpochMetrics| e.seconds)
        .sum();
    let mut mine = vec![seconds, wait, reduce];
    let size = timed.size();
    timed.inner.all_reduce_sum_f64(&mut mine);
    if timed.is_root() {
        let per = |v: f64| v / size as f64;
        // One tab-separated line for scripts/mpi_scaling.sh: np, images, epochs, steps,
        // s/epoch, ms/step, all-reduce ms/step, its % of a step, waiting ms/step, its %.
        println!(
            "scaling\t{size}\t{n}\t{epochs}\t{calls}\t{:.3}\t{:.3}\t{:.4}\t{:.2}\t{:.4}\t{:.2}",
            per(mine[0]) / epochs as f64,
            1e3 * per(mine[0]) / calls as f64,
            1e3 * per(mine[2]) / calls as f64,
            100.0 * mine[2] / mine[0],
            1e3 * per(mine[1]) / calls as f64,
            100.0 * mine[1] / mine[0],
        );
        println!(
            "np {size}: {n} images, {epochs} epoch(s), batch 64 (global), {calls} steps: \
             {:.2} s/epoch, per step {:.2} ms; all-reduce {:.3} ms/step ({:.1}% of a step), \
             waiting for the slowest rank {:.3} ms/step ({:.1}%); final train loss {:.4}",
            per(mine[0]) / epochs as f64,
            1e3 * per(mine[0]) / calls as f64,
            1e3 * per(mine[2]) / calls as f64,
            100.0 * mine[2] / mine[0],
            1e3 * per(mine[1]) / calls as f64,
            100.0 * mine[1] / mine[0],
            history.epochs.last().map_or(f64::NAN, |e| e.train_loss),
        );
    }
}
