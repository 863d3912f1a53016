//! Shared helpers of the gradient tests: the digits data and a small training loop.

use glassbox_autograd::Var;
use glassbox_nn::{cross_entropy, Activation, CrossEntropyOptions, Linear, Module, Sequential};
use glassbox_optim::{Adam, AdamConfig, Optimizer};
use glassbox_tensor::{rng::Rng, Tensor};

/// Standardised digits: (train x, train y, test x, test y); every 5th row is a test row.
pub fn digits() -> (Tensor, Vec<usize>, Tensor, Vec<usize>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tabular/digits.csv");
    let text = std::fs::read_to_string(path).expect("bundled digits.csv");
    let (mut xtr, mut ytr, mut xte, mut yte) = (vec![], vec![], vec![], vec![]);
    for (i, line) in text.lines().skip(1).enumerate() {
        let v: Vec<f32> = line.split(',').map(|s| s.trim().parse().unwrap()).collect();
        let (x, y) = (&v[..64], v[64] as usize);
        if i % 5 == 0 {
            xte.extend_from_slice(x);
            yte.push(y);
        } else {
            xtr.extend_from_slice(x);
            ytr.push(y);
        }
    }
    let n = ytr.len();
    let (mut mean, mut sd) = (vec![0f32; 64], vec![0f32; 64]);
    for r in 0..n {
        for j in 0..64 {
            mean[j] += xtr[r * 64 + j] / n as f32;
        }
    }
    for r in 0..n {
        for j in 0..64 {
            sd[j] += (xtr[r * 64 + j] - mean[j]).powi(2) / n as f32;
        }
    }
    let scale = |x: &mut Vec<f32>| {
        for (k, v) in x.iter_mut().enumerate() {
            let j = k % 64;
            let s = sd[j].sqrt();
            *v = if s > 0.0 { (*v - mean[j]) / s } else { 0.0 };
        }
    };
    scale(&mut xtr);
    scale(&mut xte);
    let (ntr, nte) = (ytr.len(), yte.len());
    (
        Tensor::from_vec(xtr, &[ntr, 64]).unwrap(),
        ytr,
        Tensor::from_vec(xte, &[nte, 64]).unwrap(),
        yte,
    )
}

/// The digits MLP of the PyTorch benchmark (64-128-64-10, ReLU), with tanh instead of ReLU
/// when `smooth`.
pub fn digits_mlp_with(seed: u64, smooth: bool) -> Sequential {
    let mut rng = Rng::new(seed);
    let act = || {
        if smooth {
            Activation::tanh()
        } else {
            Activation::relu()
        }
    };
    Sequential::new()
        .add(Linear::new(64, 128, true, &mut rng).unwrap())
        .add(act())
        .add(Linear::new(128, 64, true, &mut rng).unwrap())
        .add(act())
        .add(Linear::new(64, 10, true, &mut rng).unwrap())
}

/// Adam + cross-entropy, shuffled mini-batches.
pub fn train(
    net: &dyn Module,
    x: &Tensor,
    y: &[usize],
    epochs: usize,
    batch: usize,
    lr: f64,
    seed: u64,
) {
    let mut opt = Adam::new(net.named_parameters(), AdamConfig::adam(lr)).unwrap();
    let mut rng = Rng::new(seed);
    let n = y.len();
    for _ in 0..epochs {
        let mut idx: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            idx.swap(i, j);
        }
        for b in idx.chunks(batch) {
            let xb = x.try_index_select(0, b).unwrap();
            let yb: Vec<usize> = b.iter().map(|&i| y[i]).collect();
            opt.zero_grad();
            let out = net.forward(&Var::constant(xb)).unwrap();
            let loss = cross_entropy(&out, &yb, &CrossEntropyOptions::default()).unwrap();
            loss.backward().unwrap();
            opt.step().unwrap();
        }
    }
}

/// Fraction of rows whose arg-max output is the label.
pub fn accuracy(net: &dyn Module, x: &Tensor, y: &[usize]) -> f64 {
    let out = glassbox_autograd::no_grad(|| net.forward(&Var::constant(x.clone())))
        .unwrap()
        .value();
    let k = out.shape()[1];
    let o = out.to_vec();
    let hits = y
        .iter()
        .enumerate()
        .filter(|(i, &t)| {
            let row = &o[i * k..(i + 1) * k];
            let best = (0..k).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            best == t
        })
        .count();
    hits as f64 / y.len() as f64
}

/// Arg-max output per row.
pub fn predicted(net: &dyn Module, x: &Tensor) -> Vec<usize> {
    let out = glassbox_autograd::no_grad(|| net.forward(&Var::constant(x.clone())))
        .unwrap()
        .value();
    let k = out.shape()[1];
    let o = out.to_vec();
    (0..out.shape()[0])
        .map(|i| {
            (0..k)
                .max_by(|&a, &b| o[i * k + a].total_cmp(&o[i * k + b]))
                .unwrap()
        })
        .collect()
}
