//! Real numbers for the report test: CSV loading, a softmax regression trained with
//! hand-written mini-batch gradient descent, and classification metrics by direct loops.

use std::path::Path;

/// The workspace's seeded generator, so the test is reproducible.
pub use glassbox_tensor::rng::Rng;

/// A labelled table: feature names, rows and integer labels from the `target` column.
pub struct Table {
    pub features: Vec<String>,
    pub x: Vec<Vec<f64>>,
    pub y: Vec<usize>,
}

/// Reads a numeric CSV whose last column is `target`.
pub fn read_csv(path: &Path) -> Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    assert_eq!(
        header.last().map(String::as_str),
        Some("target"),
        "{}: last column must be target",
        path.display()
    );
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let vals: Vec<f64> = line
            .split(',')
            .map(|v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("{} row {}: {v:?}: {e}", path.display(), i + 1))
            })
            .collect();
        assert_eq!(vals.len(), header.len(), "{} row {}", path.display(), i + 1);
        y.push(vals[vals.len() - 1] as usize);
        x.push(vals[..vals.len() - 1].to_vec());
    }
    Table {
        features: header[..header.len() - 1].to_vec(),
        x,
        y,
    }
}

/// Softmax regression: `logits = W x + b`, `W` is `classes × features`.
#[derive(Clone)]
pub struct Softmax {
    pub w: Vec<Vec<f64>>,
    pub b: Vec<f64>,
}

/// Metrics of one pass over a data set.
pub struct Pass {
    pub loss: f64,
    pub accuracy: f64,
}

impl Softmax {
    pub fn zeros(classes: usize, features: usize) -> Self {
        Softmax {
            w: vec![vec![0.0; features]; classes],
            b: vec![0.0; classes],
        }
    }

    /// Weights drawn uniformly from `±scale` (the "randomised model" of the sanity check).
    pub fn random(classes: usize, features: usize, scale: f64, rng: &mut Rng) -> Self {
        let mut m = Self::zeros(classes, features);
        for row in &mut m.w {
            for v in row.iter_mut() {
                *v = (rng.uniform() * 2.0 - 1.0) * scale;
            }
        }
        for v in &mut m.b {
            *v = (rng.uniform() * 2.0 - 1.0) * scale;
        }
        m
    }

    pub fn n_params(&self) -> usize {
        self.w.len() * (self.w[0].len() + 1)
    }

    pub fn logits(&self, x: &[f64]) -> Vec<f64> {
        self.w
            .iter()
            .zip(&self.b)
            .map(|(w, b)| b + w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>())
            .collect()
    }

    pub fn proba(&self, x: &[f64]) -> Vec<f64> {
        let z = self.logits(x);
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.into_iter().map(|v| v / s).collect()
    }

    pub fn predict(&self, x: &[f64]) -> usize {
        argmax(&self.proba(x))
    }

    /// `∂ p_c / ∂ x = p_c (W_c − Σ_k p_k W_k)`.
    pub fn grad_proba(&self, x: &[f64], c: usize) -> Vec<f64> {
        let p = self.proba(x);
        (0..x.len())
            .map(|j| p[c] * (self.w[c][j] - (0..p.len()).map(|k| p[k] * self.w[k][j]).sum::<f64>()))
            .collect()
    }

    /// One epoch of mini-batch gradient descent on the mean cross-entropy.
    pub fn epoch(
        &mut self,
        x: &[Vec<f64>],
        y: &[usize],
        idx: &mut [usize],
        batch: usize,
        lr: f64,
        rng: &mut Rng,
    ) {
        rng.shuffle(idx);
        for chunk in idx.chunks(batch) {
            let mut gw = vec![vec![0.0; self.w[0].len()]; self.w.len()];
            let mut gb = vec![0.0; self.b.len()];
            for &i in chunk {
                let p = self.proba(&x[i]);
                for c in 0..p.len() {
                    let d = p[c] - if c == y[i] { 1.0 } else { 0.0 };
                    gb[c] += d;
                    for (g, xv) in gw[c].iter_mut().zip(&x[i]) {
                        *g += d * xv;
                    }
                }
            }
            let n = chunk.len() as f64;
            for c in 0..self.w.len() {
                self.b[c] -= lr * gb[c] / n;
                for (w, g) in self.w[c].iter_mut().zip(&gw[c]) {
                    *w -= lr * g / n;
                }
            }
        }
    }

    pub fn evaluate(&self, x: &[Vec<f64>], y: &[usize]) -> Pass {
        let mut loss = 0.0;
        let mut correct = 0;
        for (xi, &yi) in x.iter().zip(y) {
            let p = self.proba(xi);
            loss -= p[yi].max(1e-15).ln();
            correct += usize::from(argmax(&p) == yi);
        }
        Pass {
            loss: loss / x.len() as f64,
            accuracy: correct as f64 / x.len() as f64,
        }
    }
}

/// Arg-max (first on ties): the library's one.
pub use glassbox_tensor::ops::reduce::argmax;

/// Per-class precision, recall, F1 and support from a confusion matrix (zero when undefined,
/// as scikit-learn's `zero_division=0`).
pub fn per_class(cm: &[Vec<u64>]) -> Vec<(f64, f64, f64, u64)> {
    let k = cm.len();
    (0..k)
        .map(|c| {
            let tp = cm[c][c] as f64;
            let pred: u64 = (0..k).map(|r| cm[r][c]).sum();
            let support: u64 = cm[c].iter().sum();
            let p = if pred > 0 { tp / pred as f64 } else { 0.0 };
            let r = if support > 0 {
                tp / support as f64
            } else {
                0.0
            };
            let f = if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            };
            (p, r, f, support)
        })
        .collect()
}

/// Ranks (1-based) with ties given their average rank.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation: Pearson correlation of the tie-averaged ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb) * (y - mb)).sum();
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// One-vs-rest ROC-AUC of `scores` for `positive` labels (Mann–Whitney U with tie ranks).
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> f64 {
    let r = ranks(scores);
    let n_pos = positive.iter().filter(|p| **p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    let rank_sum: f64 = r
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(r, _)| r)
        .sum();
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}
