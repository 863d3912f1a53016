//! Shared pieces of the nn end-to-end tests, examples and benches: data loading from the
//! bundled `data/` folder, the models of the issue, and small training loops.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

use glassbox_autograd::{no_grad, Var};
use glassbox_data::preprocess::{Fit, StandardScaler, Transform};
use glassbox_data::split::stratified_train_test_split;
use glassbox_data::{read_csv, CsvOptions};
use glassbox_nn::*;
use glassbox_optim::{Adam, AdamConfig, Optimizer};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

/// The repository's bundled data folder.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// A classification split: features `[n, d]` and class indices.
pub struct Split {
    pub x_train: Tensor,
    pub y_train: Vec<usize>,
    pub x_test: Tensor,
    pub y_test: Vec<usize>,
}

fn rows_to_tensor(x: &ndarray::Array2<f64>, rows: &[usize]) -> Tensor {
    let d = x.ncols();
    let mut data = Vec::with_capacity(rows.len() * d);
    for &r in rows {
        data.extend(x.row(r).iter().map(|&v| v as f32));
    }
    Tensor::from_vec(data, &[rows.len(), d]).unwrap()
}

/// `tabular/digits.csv`: stratified 80/20 split (seed 0), standardised with statistics of
/// the training part (as scikit-learn's StandardScaler; constant pixels stay 0).
pub fn load_digits() -> Split {
    let table = read_csv(
        data_dir().join("tabular/digits.csv"),
        &CsvOptions::default(),
    )
    .unwrap();
    let (all, names) = table.numeric_array().unwrap();
    let d = names.len() - 1;
    let y: Vec<usize> = all.column(d).iter().map(|&v| v as usize).collect();
    let x = all.slice(ndarray::s![.., ..d]).to_owned();
    let (tr, te) = stratified_train_test_split(&y, 0.2, 0).unwrap();
    let xtr = x.select(ndarray::Axis(0), &tr);
    let xte = x.select(ndarray::Axis(0), &te);
    let scaler = StandardScaler::default().fit(xtr.view()).unwrap();
    let ztr = scaler.transform(xtr.view()).unwrap();
    let zte = scaler.transform(xte.view()).unwrap();
    let all_tr: Vec<usize> = (0..tr.len()).collect();
    let all_te: Vec<usize> = (0..te.len()).collect();
    Split {
        x_train: rows_to_tensor(&ztr, &all_tr),
        y_train: tr.iter().map(|&i| y[i]).collect(),
        x_test: rows_to_tensor(&zte, &all_te),
        y_test: te.iter().map(|&i| y[i]).collect(),
    }
}

/// The digits MLP of the issue: 64-128-64-10 with ReLU.
pub fn digits_mlp(rng: &mut Rng) -> Sequential {
    Sequential::new()
        .add(Linear::new(64, 128, true, rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(128, 64, true, rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(64, 10, true, rng).unwrap())
}

/// Rows `idx` of `x` (first axis).
pub fn take_rows(x: &Tensor, idx: &[usize]) -> Tensor {
    x.try_index_select(0, idx).unwrap()
}

/// One epoch of mini-batch training with cross-entropy; returns the mean loss.
pub fn train_epoch(
    model: &dyn Module,
    opt: &mut dyn Optimizer,
    x: &Tensor,
    y: &[usize],
    batch: usize,
    rng: &mut Rng,
) -> f32 {
    let n = y.len();
    let order = rng.permutation(n);
    let mut total = 0.0f32;
    for chunk in order.chunks(batch) {
        let xb = take_rows(x, chunk);
        let yb: Vec<usize> = chunk.iter().map(|&i| y[i]).collect();
        opt.zero_grad();
        let logits = model.forward(&Var::constant(xb)).unwrap();
        let loss = cross_entropy(&logits, &yb, &CrossEntropyOptions::default()).unwrap();
        total += loss.value().item().unwrap() * chunk.len() as f32;
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    total / n as f32
}

/// Classification accuracy of `model` (in eval mode, no graph) on `x`, in batches.
pub fn accuracy(model: &dyn Module, x: &Tensor, y: &[usize], batch: usize) -> f64 {
    let n = y.len();
    let mut correct = 0usize;
    no_grad(|| {
        for start in (0..n).step_by(batch) {
            let idx: Vec<usize> = (start..(start + batch).min(n)).collect();
            let out = model
                .forward(&Var::constant(take_rows(x, &idx)))
                .unwrap()
                .value();
            let pred = out.try_argmax(1, false).unwrap();
            correct += idx
                .iter()
                .zip(pred.iter())
                .filter(|(&i, &p)| y[i] == p)
                .count();
        }
    });
    correct as f64 / n as f64
}

/// Trains the digits MLP (Adam 1e-3, batch 32) for `epochs`; returns the model, the test
/// accuracy and the mean seconds per epoch.
pub fn train_digits(epochs: usize, seed: u64) -> (Sequential, f64, f64) {
    let s = load_digits();
    let mut rng = Rng::new(seed);
    let mut model = digits_mlp(&mut rng);
    let mut opt = Adam::new(model.named_parameters(), AdamConfig::adam(1e-3)).unwrap();
    let start = Instant::now();
    for _ in 0..epochs {
        train_epoch(&model, &mut opt, &s.x_train, &s.y_train, 32, &mut rng);
    }
    let spe = start.elapsed().as_secs_f64() / epochs as f64;
    model.set_training(false);
    let acc = accuracy(&model, &s.x_test, &s.y_test, 512);
    (model, acc, spe)
}

/// `timeseries/sunspots.csv` yearly values.
pub fn load_sunspots() -> Vec<f32> {
    let table = read_csv(
        data_dir().join("timeseries/sunspots.csv"),
        &CsvOptions::default(),
    )
    .unwrap();
    let (all, _) = table.numeric_array().unwrap();
    all.column(1).iter().map(|&v| v as f32).collect()
}

/// Sliding windows over `series[start..end]`: inputs `[n, window, 1]` and next values
/// `[n, 1]` (the target index `t` runs over `start + window..end`; the window may reach
/// back before `start`, into the history that precedes the forecast period).
pub fn windows(
    series: &[f32],
    window: usize,
    from: usize,
    to: usize,
) -> (Tensor, Tensor, Vec<f32>) {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    let mut last = Vec::new();
    for t in from.max(window)..to {
        xs.extend_from_slice(&series[t - window..t]);
        ys.push(series[t]);
        last.push(series[t - 1]);
    }
    let n = ys.len();
    (
        Tensor::from_vec(xs, &[n, window, 1]).unwrap(),
        Tensor::from_vec(ys, &[n, 1]).unwrap(),
        last,
    )
}

/// An LSTM or GRU forecaster: recurrent stack, then a linear head on the last step.
pub struct Forecaster {
    pub rnn: Recurrent,
    pub head: Linear,
    training: bool,
}

impl Forecaster {
    pub fn new(kind: CellKind, hidden: usize, rng: &mut Rng) -> Self {
        Forecaster {
            rnn: Recurrent::new(kind, 1, hidden, 1, true, rng).unwrap(),
            head: Linear::new(hidden, 1, true, rng).unwrap(),
            training: true,
        }
    }
}

impl Module for Forecaster {
    fn forward(&self, x: &Var) -> Result<Var> {
        let out = self.rnn.forward_with_state(x, None, None)?;
        let b = x.shape()[0];
        let h = out.h_n.reshape(&[b, self.rnn.hidden_size()])?;
        self.head.forward(&h)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = module::prefixed("rnn", self.rnn.named_parameters());
        p.extend(module::prefixed("head", self.head.named_parameters()));
        p
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![("rnn".into(), &self.rnn), ("head".into(), &self.head)]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.rnn.set_training(training);
        self.head.set_training(training);
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "Forecaster"
    }
}

/// Result of a sunspots run.
pub struct ForecastReport {
    pub model_mse: f64,
    pub naive_mse: f64,
    pub seconds: f64,
}

/// Trains a forecaster on the first 80% of years (values scaled by the training maximum)
/// with windows of `window` years; evaluates one-step-ahead MSE on the last 20% against
/// the naive last-value forecast, both in the original units.
pub fn train_sunspots(
    kind: CellKind,
    hidden: usize,
    window: usize,
    epochs: usize,
    seed: u64,
) -> ForecastReport {
    let series = load_sunspots();
    let n = series.len();
    let split = (n as f64 * 0.8).round() as usize;
    let scale = series[..split].iter().copied().fold(0.0f32, f32::max);
    let scaled: Vec<f32> = series.iter().map(|v| v / scale).collect();
    let (xtr, ytr, _) = windows(&scaled, window, 0, split);
    let (xte, yte, last) = windows(&scaled, window, split, n);
    let mut rng = Rng::new(seed);
    let mut model = Forecaster::new(kind, hidden, &mut rng);
    let mut opt = Adam::new(model.named_parameters(), AdamConfig::adam(1e-2)).unwrap();
    let ntr = ytr.shape()[0];
    let start = Instant::now();
    for _ in 0..epochs {
        let order = rng.permutation(ntr);
        for chunk in order.chunks(32) {
            opt.zero_grad();
            let pred = model
                .forward(&Var::constant(take_rows(&xtr, chunk)))
                .unwrap();
            let loss = mse_loss(&pred, &take_rows(&ytr, chunk), Reduction::Mean).unwrap();
            loss.backward().unwrap();
            opt.step().unwrap();
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    model.set_training(false);
    let pred = no_grad(|| model.forward(&Var::constant(xte.clone())).unwrap().value()).to_vec();
    let truth = yte.to_vec();
    let s2 = (scale as f64).powi(2);
    let m = truth.len() as f64;
    let model_mse = pred
        .iter()
        .zip(&truth)
        .map(|(p, t)| ((p - t) as f64).powi(2))
        .sum::<f64>()
        / m
        * s2;
    let naive_mse = last
        .iter()
        .zip(&truth)
        .map(|(p, t)| ((p - t) as f64).powi(2))
        .sum::<f64>()
        / m
        * s2;
    ForecastReport {
        model_mse,
        naive_mse,
        seconds,
    }
}

/// MNIST from the bundled gzip IDX files: images `[n, 1, 28, 28]` normalised with the
/// usual mean 0.1307 / std 0.3081, labels as class indices. `limit` keeps the first rows.
pub fn load_mnist(train: bool, limit: Option<usize>) -> (Tensor, Vec<usize>) {
    use glassbox_data::idx::{images_to_f32, read_idx_images, read_idx_labels};
    let prefix = if train { "train" } else { "t10k" };
    let dir = data_dir().join("mnist");
    let images = read_idx_images(dir.join(format!("{prefix}-images-idx3-ubyte.gz"))).unwrap();
    let labels = read_idx_labels(dir.join(format!("{prefix}-labels-idx1-ubyte.gz"))).unwrap();
    let n = limit.unwrap_or(labels.len()).min(labels.len());
    let x = images_to_f32(&images);
    let x = x.slice(ndarray::s![..n, .., .., ..]).to_owned();
    let mut t = Tensor::from(x.into_dyn());
    t.map_inplace(|v| (v - 0.1307) / 0.3081);
    (t, labels.iter().take(n).map(|&l| l as usize).collect())
}

/// LeNet-5 as in `shared/bench/pytorch/cnn_lenet.py`: conv(1→6, k5, p2)-ReLU-maxpool2-
/// conv(6→16, k5)-ReLU-maxpool2-flatten-fc(400→120)-ReLU-fc(120→84)-ReLU-fc(84→10).
pub fn lenet(rng: &mut Rng) -> Sequential {
    Sequential::new()
        .add(Conv2d::new(Conv2dConfig::new(1, 6, 5).padding(2), rng).unwrap())
        .add(Activation::relu())
        .add(MaxPool2d::new(2, 2, 0).unwrap())
        .add(Conv2d::new(Conv2dConfig::new(6, 16, 5), rng).unwrap())
        .add(Activation::relu())
        .add(MaxPool2d::new(2, 2, 0).unwrap())
        .add(Flatten::new())
        .add(Linear::new(400, 120, true, rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(120, 84, true, rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(84, 10, true, rng).unwrap())
}

/// Per-epoch record of a LeNet run.
pub struct EpochReport {
    pub epoch: usize,
    pub seconds: f64,
    pub test_accuracy: f64,
}

/// Trains LeNet-5 on `n_train` MNIST training images (Adam 1e-3 with cosine decay over
/// `epochs`, batch 64) and reports the test accuracy on `n_test` test images after each
/// epoch. Stops early once `stop_at` accuracy is reached.
pub fn train_lenet(
    n_train: Option<usize>,
    n_test: Option<usize>,
    epochs: usize,
    stop_at: f64,
    seed: u64,
) -> Vec<EpochReport> {
    use glassbox_optim::{LrScheduler, Schedule};
    let (xtr, ytr) = load_mnist(true, n_train);
    let (xte, yte) = load_mnist(false, n_test);
    let mut rng = Rng::new(seed);
    let mut model = lenet(&mut rng);
    let mut opt = Adam::new(model.named_parameters(), AdamConfig::adam(1e-3)).unwrap();
    let mut sched = LrScheduler::new(
        Schedule::CosineAnnealing {
            t_max: epochs as u64,
            eta_min: 1e-5,
        },
        1e-3,
    )
    .unwrap();
    let mut out = Vec::new();
    for epoch in 1..=epochs {
        model.set_training(true);
        let start = Instant::now();
        train_epoch(&model, &mut opt, &xtr, &ytr, 64, &mut rng);
        let seconds = start.elapsed().as_secs_f64();
        opt.set_lr(sched.step());
        model.set_training(false);
        let test_accuracy = accuracy(&model, &xte, &yte, 500);
        eprintln!("LeNet epoch {epoch}: {seconds:.1} s, test accuracy {test_accuracy:.4}");
        out.push(EpochReport {
            epoch,
            seconds,
            test_accuracy,
        });
        if test_accuracy >= stop_at {
            break;
        }
    }
    out
}
