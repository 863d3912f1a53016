//! Explanations of the test's softmax regressions: Integrated Gradients by
//! `glassbox-explain` (the one implementation), and computed directly: occlusion, pooled saliency, linear SHAP, permutation importance, a depth-2 surrogate tree
//! and deletion/insertion curves.

use glassbox_explain::gradient::{integrated_gradients as ig, GradModel, IgConfig};
use glassbox_nn::{Activation, ActivationKind, Linear, Sequential};
use glassbox_tensor::Tensor;

use super::fit::{argmax, Rng, Softmax};

/// Integrated Gradients of `p_c` from a zero baseline with `steps` Gauss–Legendre points,
/// by `glassbox-explain` on the same model as an `nn` network (`Linear`, then `Softmax`;
/// f32). Returns the attributions and the completeness gap `|Σ attr − (p_c(x) − p_c(0))|`.
pub fn integrated_gradients(m: &Softmax, x: &[f64], c: usize, steps: usize) -> (Vec<f64>, f64) {
    let (k, d) = (m.w.len(), x.len());
    let f32s = |v: &mut dyn Iterator<Item = &f64>| v.map(|&a| a as f32).collect::<Vec<f32>>();
    let w = Tensor::from_vec(f32s(&mut m.w.iter().flatten()), &[k, d]).expect("weight shape");
    let b = Tensor::from_vec(f32s(&mut m.b.iter()), &[k]).expect("bias shape");
    let net = Sequential::new()
        .add(Linear::from_tensors(w, Some(b)).expect("linear layer"))
        .add(Activation::new(ActivationKind::Softmax(1)));
    let xt = Tensor::from_vec(f32s(&mut x.iter()), &[1, d]).expect("input shape");
    let config = IgConfig {
        steps,
        ..IgConfig::default()
    };
    let r = ig(&GradModel::new(&net), &xt, &[c], &config).expect("IG of a softmax regression");
    (
        r.attributions.iter().copied().collect(),
        r.convergence_delta[0].abs(),
    )
}

/// Occlusion with single-pixel patches and a zero baseline: `p_c(x) − p_c(x with pixel i = 0)`.
pub fn occlusion(m: &Softmax, x: &[f64], c: usize) -> Vec<f64> {
    let p = m.proba(x)[c];
    (0..x.len())
        .map(|i| {
            let mut xo = x.to_vec();
            xo[i] = 0.0;
            p - m.proba(&xo)[c]
        })
        .collect()
}

/// `|∂ p_c / ∂ x|` max-pooled over 2×2 blocks of an `side × side` image (a coarse,
/// non-negative map like Grad-CAM's).
pub fn pooled_saliency(m: &Softmax, x: &[f64], c: usize, side: usize) -> Vec<f64> {
    let g = m.grad_proba(x, c);
    let half = side / 2;
    let mut out = vec![0.0f64; half * half];
    for r in 0..side {
        for col in 0..side {
            let o = &mut out[(r / 2) * half + col / 2];
            *o = o.max(g[r * side + col].abs());
        }
    }
    out
}

/// Exact SHAP values of a linear logit with independent features:
/// `φ_cj(x) = W_cj (x_j − E[x_j])`; returns the mean over samples and classes of `|φ|`.
pub fn linear_shap_mean_abs(m: &Softmax, x: &[Vec<f64>]) -> Vec<f64> {
    let d = x[0].len();
    let mean: Vec<f64> = (0..d)
        .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / x.len() as f64)
        .collect();
    (0..d)
        .map(|j| {
            let mut s = 0.0;
            for r in x {
                for w in &m.w {
                    s += (w[j] * (r[j] - mean[j])).abs();
                }
            }
            s / (x.len() * m.w.len()) as f64
        })
        .collect()
}

/// Permutation importance: accuracy drop when feature `j` is shuffled, mean and population
/// std over `repeats`.
pub fn permutation_importance(
    m: &Softmax,
    x: &[Vec<f64>],
    y: &[usize],
    repeats: usize,
    rng: &mut Rng,
) -> Vec<(f64, f64)> {
    let base = m.evaluate(x, y).accuracy;
    (0..x[0].len())
        .map(|j| {
            let drops: Vec<f64> = (0..repeats)
                .map(|_| {
                    let mut col: Vec<f64> = x.iter().map(|r| r[j]).collect();
                    rng.shuffle(&mut col);
                    let xp: Vec<Vec<f64>> = x
                        .iter()
                        .zip(&col)
                        .map(|(r, v)| {
                            let mut r = r.clone();
                            r[j] = *v;
                            r
                        })
                        .collect();
                    base - m.evaluate(&xp, y).accuracy
                })
                .collect();
            let mean = drops.iter().sum::<f64>() / repeats as f64;
            let var = drops.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / repeats as f64;
            (mean, var.sqrt())
        })
        .collect()
}

/// A decision-tree node of the surrogate.
pub enum Tree {
    Leaf(usize),
    Split {
        feature: usize,
        threshold: f64,
        left: Box<Tree>,
        right: Box<Tree>,
    },
}

fn gini(labels: &[usize], k: usize) -> f64 {
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l] += 1;
    }
    let n = labels.len() as f64;
    1.0 - counts.iter().map(|&c| (c as f64 / n).powi(2)).sum::<f64>()
}

/// Fits a CART tree (Gini, midpoint thresholds) of at most `depth` levels to `labels`.
pub fn fit_tree(x: &[Vec<f64>], labels: &[usize], k: usize, depth: usize) -> Tree {
    let majority = {
        let mut counts = vec![0usize; k];
        for &l in labels {
            counts[l] += 1;
        }
        argmax(&counts.iter().map(|&c| c as f64).collect::<Vec<_>>())
    };
    if depth == 0 || gini(labels, k) == 0.0 {
        return Tree::Leaf(majority);
    }
    let mut best: Option<(f64, usize, f64)> = None;
    for j in 0..x[0].len() {
        let mut vals: Vec<f64> = x.iter().map(|r| r[j]).collect();
        vals.sort_by(f64::total_cmp);
        vals.dedup();
        for w in vals.windows(2) {
            let t = (w[0] + w[1]) / 2.0;
            let (l, r): (Vec<usize>, Vec<usize>) = {
                let mut l = Vec::new();
                let mut r = Vec::new();
                for (row, &lab) in x.iter().zip(labels) {
                    if row[j] <= t {
                        l.push(lab)
                    } else {
                        r.push(lab)
                    }
                }
                (l, r)
            };
            let score =
                (l.len() as f64 * gini(&l, k) + r.len() as f64 * gini(&r, k)) / labels.len() as f64;
            if best.is_none_or(|b| score < b.0 - 1e-12) {
                best = Some((score, j, t));
            }
        }
    }
    let Some((_, feature, threshold)) = best else {
        return Tree::Leaf(majority);
    };
    let (mut lx, mut ll, mut rx, mut rl) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (row, &lab) in x.iter().zip(labels) {
        if row[feature] <= threshold {
            lx.push(row.clone());
            ll.push(lab);
        } else {
            rx.push(row.clone());
            rl.push(lab);
        }
    }
    Tree::Split {
        feature,
        threshold,
        left: Box::new(fit_tree(&lx, &ll, k, depth - 1)),
        right: Box::new(fit_tree(&rx, &rl, k, depth - 1)),
    }
}

impl Tree {
    pub fn predict(&self, x: &[f64]) -> usize {
        match self {
            Tree::Leaf(c) => *c,
            Tree::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                if x[*feature] <= *threshold {
                    left.predict(x)
                } else {
                    right.predict(x)
                }
            }
        }
    }

    /// Root-to-leaf paths as `(conditions, predicate, class)`; the predicate tests a sample.
    #[allow(clippy::type_complexity)]
    pub fn rules(&self, names: &[String]) -> Vec<(Vec<String>, Vec<(usize, f64, bool)>, usize)> {
        match self {
            Tree::Leaf(c) => vec![(vec![], vec![], *c)],
            Tree::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                let mut out = Vec::new();
                for (sub, le) in [(left, true), (right, false)] {
                    for (mut text, mut conds, c) in sub.rules(names) {
                        let op = if le { "≤" } else { ">" };
                        text.insert(0, format!("{} {op} {threshold:.2}", names[*feature]));
                        conds.insert(0, (*feature, *threshold, le));
                        out.push((text, conds, c));
                    }
                }
                out
            }
        }
    }
}

/// Deletion (`insert = false`: ranked pixels set to 0) or insertion (`insert = true`: ranked
/// pixels copied into a zero image) curve of `p_c`, at `points` evenly spaced fractions.
pub fn perturbation_curve(
    m: &Softmax,
    x: &[f64],
    c: usize,
    order: &[usize],
    insert: bool,
    points: usize,
) -> Vec<f64> {
    (0..points)
        .map(|i| {
            let k = (i * x.len()) / (points - 1);
            let mut xs = if insert {
                vec![0.0; x.len()]
            } else {
                x.to_vec()
            };
            for &j in &order[..k] {
                xs[j] = if insert { x[j] } else { 0.0 };
            }
            m.proba(&xs)[c]
        })
        .collect()
}

/// Feature indices sorted by attribution, largest first.
pub fn ranking(attr: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..attr.len()).collect();
    idx.sort_by(|&a, &b| attr[b].total_cmp(&attr[a]));
    idx
}
