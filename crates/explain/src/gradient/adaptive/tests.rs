//! Tests of adaptive IG against independent f64 oracles: the exact path integral of a
//! ReLU network found by walking its linear regions, and a fine midpoint rule for tanh.

use super::*;
use crate::gradient::{
    integrated_gradients, Baseline, BatchCap, GradModel, GradientError, IgConfig,
};
use glassbox_nn::{Activation, Linear, Sequential};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;
use ndarray::{Array1, ArrayD};
use proptest::prelude::*;

/// An MLP in f64: `(weight [out][in], bias)` per layer, the activation between layers.
struct Net {
    layers: Vec<(Vec<Vec<f64>>, Vec<f64>)>,
    smooth: bool,
}

/// A random MLP with layer widths `sizes`, as a glassbox model and as the same weights
/// (rounded to f32) in f64.
fn random_net(seed: u64, sizes: &[usize], smooth: bool) -> (Sequential, Net) {
    let mut rng = Rng::new(seed);
    let mut seq = Sequential::new();
    let mut layers = Vec::new();
    for (l, w) in sizes.windows(2).enumerate() {
        let (i, o) = (w[0], w[1]);
        let scale = 1.5 / (i as f64).sqrt();
        let wt: Vec<f32> = (0..i * o)
            .map(|_| rng.uniform_range(-scale, scale) as f32)
            .collect();
        let bs: Vec<f32> = (0..o)
            .map(|_| rng.uniform_range(-0.5, 0.5) as f32)
            .collect();
        layers.push((
            (0..o)
                .map(|r| wt[r * i..(r + 1) * i].iter().map(|&v| v as f64).collect())
                .collect(),
            bs.iter().map(|&v| v as f64).collect(),
        ));
        let lin = Linear::from_tensors(
            Tensor::from_vec(wt, &[o, i]).unwrap(),
            Some(Tensor::from_vec(bs, &[o]).unwrap()),
        )
        .unwrap();
        seq = seq.add(lin);
        if l + 2 < sizes.len() {
            seq = seq.add(if smooth {
                Activation::tanh()
            } else {
                Activation::relu()
            });
        }
    }
    (seq, Net { layers, smooth })
}

fn affine(w: &[Vec<f64>], b: &[f64], z: &[f64]) -> Vec<f64> {
    w.iter()
        .zip(b)
        .map(|(row, bi)| bi + row.iter().zip(z).map(|(a, c)| a * c).sum::<f64>())
        .collect()
}

fn linear(w: &[Vec<f64>], z: &[f64]) -> Vec<f64> {
    w.iter()
        .map(|row| row.iter().zip(z).map(|(a, c)| a * c).sum())
        .collect()
}

/// `g ↦ Wᵀ g`.
fn back(w: &[Vec<f64>], g: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; w[0].len()];
    for (row, gi) in w.iter().zip(g) {
        for (o, a) in out.iter_mut().zip(row) {
            *o += a * gi;
        }
    }
    out
}

/// Gradient of output `t` given the derivative of every hidden activation.
fn grad_with(net: &Net, slopes: &[Vec<f64>], t: usize) -> Vec<f64> {
    let last = net.layers.len() - 1;
    let mut g = net.layers[last].0[t].clone();
    for l in (0..last).rev() {
        for (gi, s) in g.iter_mut().zip(&slopes[l]) {
            *gi *= s;
        }
        g = back(&net.layers[l].0, &g);
    }
    g
}

/// Output `t` and its gradient at `z`, in f64.
fn eval(net: &Net, z: &[f64], t: usize) -> (f64, Vec<f64>) {
    let mut h = z.to_vec();
    let mut slopes = Vec::new();
    for (l, (w, b)) in net.layers.iter().enumerate() {
        let pre = affine(w, b, &h);
        if l + 1 == net.layers.len() {
            return (pre[t], grad_with(net, &slopes, t));
        }
        if net.smooth {
            slopes.push(pre.iter().map(|p| 1.0 - p.tanh().powi(2)).collect());
            h = pre.iter().map(|p| p.tanh()).collect();
        } else {
            slopes.push(pre.iter().map(|&p| f64::from(p > 0.0)).collect());
            h = pre.iter().map(|p| p.max(0.0)).collect();
        }
    }
    unreachable!("the last layer returns")
}

/// Exact `∫_0^1 ∇f(b + α d) dα` of a ReLU net: from each `α`, propagate the value and the
/// slope along the path through the layers under the activation pattern just after `α`,
/// find the next sign change of any unit, and integrate the constant gradient up to it.
fn exact_path_integral(net: &Net, x: &[f64], base: &[f64], t: usize) -> (Vec<f64>, usize) {
    assert!(!net.smooth);
    let d: Vec<f64> = x.iter().zip(base).map(|(a, b)| a - b).collect();
    let mut integral = vec![0.0; d.len()];
    let mut alpha = 0.0;
    let mut regions = 0;
    while alpha < 1.0 {
        let mut u: Vec<f64> = base.iter().zip(&d).map(|(b, d)| b + alpha * d).collect();
        let mut v = d.clone();
        let mut next: f64 = 1.0;
        let mut masks = Vec::new();
        for (w, b) in &net.layers[..net.layers.len() - 1] {
            let (pu, pv) = (affine(w, b, &u), linear(w, &v));
            let mask: Vec<f64> = pu
                .iter()
                .zip(&pv)
                .map(|(&a, &s)| {
                    let on = if a.abs() > 1e-12 { a > 0.0 } else { s > 0.0 };
                    f64::from(on)
                })
                .collect();
            for (&a, &s) in pu.iter().zip(&pv) {
                if s != 0.0 {
                    let step = -a / s;
                    if step > 1e-12 {
                        next = next.min(alpha + step);
                    }
                }
            }
            u = pu.iter().zip(&mask).map(|(a, m)| a * m).collect();
            v = pv.iter().zip(&mask).map(|(a, m)| a * m).collect();
            masks.push(mask);
        }
        let g = grad_with(net, &masks, t);
        for (acc, gj) in integral.iter_mut().zip(&g) {
            *acc += gj * (next - alpha);
        }
        alpha = next;
        regions += 1;
    }
    (
        integral.iter().zip(&d).map(|(i, d)| i * d).collect(),
        regions,
    )
}

/// IG by the midpoint rule with `n` points, in f64.
fn midpoint_ig(net: &Net, x: &[f64], base: &[f64], t: usize, n: usize) -> Vec<f64> {
    let d: Vec<f64> = x.iter().zip(base).map(|(a, b)| a - b).collect();
    let mut acc = vec![0.0; d.len()];
    for k in 0..n {
        let alpha = (k as f64 + 0.5) / n as f64;
        let z: Vec<f64> = base.iter().zip(&d).map(|(b, d)| b + alpha * d).collect();
        for (a, g) in acc.iter_mut().zip(eval(net, &z, t).1) {
            *a += g / n as f64;
        }
    }
    acc.iter().zip(&d).map(|(a, d)| a * d).collect()
}

fn rows_f64(t: &Tensor) -> Vec<Vec<f64>> {
    let n = t.shape()[0];
    let v = t.contiguous().to_vec();
    let d = v.len() / n;
    (0..n)
        .map(|i| v[i * d..(i + 1) * d].iter().map(|&a| a as f64).collect())
        .collect()
}

fn max_diff(attr: &ArrayD<f64>, row: usize, oracle: &[f64]) -> f64 {
    attr.index_axis(ndarray::Axis(0), row)
        .iter()
        .zip(oracle)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn relu_net_matches_the_exact_region_walk() {
    let (seq, net) = random_net(3, &[5, 12, 9, 3], false);
    let m = GradModel::new(&seq);
    let mut rng = Rng::new(9);
    let x = Tensor::rand_normal(&[6, 5], 0.0, 1.5, &mut rng);
    let base = Tensor::rand_normal(&[6, 5], 0.0, 1.0, &mut rng);
    let targets = [0, 1, 2, 0, 1, 2];
    let cfg = AdaptiveIgConfig {
        baseline: Baseline::Tensor(base.clone()),
        steps: 4,
        tolerance: 1e-5,
        resolution: 1.0 / 64.0,
        ..AdaptiveIgConfig::default()
    };
    let r = integrated_gradients_adaptive(&m, &x, &targets, &cfg).unwrap();
    let (xs, bs) = (rows_f64(&x), rows_f64(&base));
    let mut worst: f64 = 0.0;
    let mut kinks = 0;
    for i in 0..6 {
        let (oracle, regions) = exact_path_integral(&net, &xs[i], &bs[i], targets[i]);
        kinks += regions - 1;
        worst = worst.max(max_diff(&r.attributions, i, &oracle));
        assert!(
            r.converged[i],
            "row {i} did not converge: {:?} evaluations",
            r.evaluations
        );
        assert!(
            r.convergence_delta[i].abs() < 1e-5,
            "{:?}",
            r.convergence_delta
        );
    }
    eprintln!(
        "relu oracle: {kinks} kinks over 6 paths, max |attr − exact| {worst:.2e}, evaluations {:?}",
        r.evaluations
    );
    assert!(
        kinks >= 12,
        "the paths should cross several kinks, got {kinks}"
    );
    assert!(worst < 1e-4, "max |attr − exact| {worst}");
    // The fixed rule with the same start nodes is far off: the refinement did the work.
    let plain = integrated_gradients(
        &m,
        &x,
        &targets,
        &IgConfig {
            baseline: Baseline::Tensor(base),
            steps: 4,
            ..IgConfig::default()
        },
    )
    .unwrap();
    let plain_worst = (0..6)
        .map(|i| {
            let (o, _) = exact_path_integral(&net, &xs[i], &bs[i], targets[i]);
            max_diff(&plain.attributions, i, &o)
        })
        .fold(0.0, f64::max);
    assert!(plain_worst > 100.0 * worst, "{plain_worst} vs {worst}");
}

#[test]
fn tanh_net_matches_a_fine_midpoint_rule() {
    let (seq, net) = random_net(5, &[4, 10, 6, 2], true);
    let m = GradModel::new(&seq);
    let mut rng = Rng::new(4);
    let x = Tensor::rand_normal(&[4, 4], 0.0, 2.0, &mut rng);
    let cfg = AdaptiveIgConfig {
        steps: 2,
        tolerance: 1e-6,
        ..AdaptiveIgConfig::default()
    };
    let targets = [0, 1, 1, 0];
    let r = integrated_gradients_adaptive(&m, &x, &targets, &cfg).unwrap();
    let xs = rows_f64(&x);
    let zero = vec![0.0; 4];
    let mut worst: f64 = 0.0;
    for i in 0..4 {
        let oracle = midpoint_ig(&net, &xs[i], &zero, targets[i], 20_000);
        worst = worst.max(max_diff(&r.attributions, i, &oracle));
        assert!(r.converged[i]);
        assert!(r.convergence_delta[i].abs() < 1e-5);
    }
    eprintln!(
        "tanh oracle: max |attr − midpoint| {worst:.2e}, evaluations {:?}",
        r.evaluations
    );
    assert!(worst < 1e-4, "max |attr − midpoint| {worst}");
    assert!(
        r.evaluations.iter().all(|&e| e > 4),
        "refinement must have run"
    );
}

#[test]
fn equals_plain_ig_when_the_start_rule_meets_the_tolerance() {
    // A linear model: Gauss–Legendre is exact, so the start rule is returned as is.
    let mut rng = Rng::new(1);
    let lin = Linear::new(3, 2, true, &mut rng).unwrap();
    let m = GradModel::new(&lin);
    let x = Tensor::rand_normal(&[3, 3], 0.0, 1.0, &mut rng);
    let r = integrated_gradients_adaptive(&m, &x, &[1], &AdaptiveIgConfig::default()).unwrap();
    let plain = integrated_gradients(
        &m,
        &x,
        &[1],
        &IgConfig {
            steps: 64,
            ..IgConfig::default()
        },
    )
    .unwrap();
    assert_eq!(r.evaluations, vec![66; 3]);
    assert_eq!(r.converged, vec![true; 3]);
    for (a, b) in r.attributions.iter().zip(plain.attributions.iter()) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
}

#[test]
fn budget_stops_refinement_and_is_reported() {
    let (seq, _) = random_net(7, &[6, 16, 16, 2], false);
    let m = GradModel::new(&seq);
    let x = Tensor::rand_normal(&[3, 6], 0.0, 3.0, &mut Rng::new(2));
    let cfg = AdaptiveIgConfig {
        steps: 2,
        tolerance: 1e-9,
        budget: 7,
        ..AdaptiveIgConfig::default()
    };
    let r = integrated_gradients_adaptive(&m, &x, &[0], &cfg).unwrap();
    assert!(r.evaluations.iter().all(|&e| (4..=7).contains(&e)));
    assert!(r.converged.iter().any(|c| !c));
    // The delta is the model's own completeness error, whatever the internal state.
    let full = integrated_gradients_adaptive(
        &m,
        &x,
        &[0],
        &AdaptiveIgConfig {
            budget: 4096,
            ..cfg
        },
    )
    .unwrap();
    let worst = |d: &Array1<f64>| d.iter().fold(0f64, |a, v| a.max(v.abs()));
    assert!(worst(&full.convergence_delta) <= worst(&r.convergence_delta));
}

#[test]
fn batching_does_not_change_the_result() {
    let (seq, _) = random_net(8, &[5, 10, 4], false);
    let m = GradModel::new(&seq);
    let x = Tensor::rand_normal(&[4, 5], 0.0, 2.0, &mut Rng::new(5));
    let run = |cap| {
        let cfg = AdaptiveIgConfig {
            steps: 3,
            tolerance: 1e-6,
            cap,
            ..AdaptiveIgConfig::default()
        };
        integrated_gradients_adaptive(&m, &x, &[1], &cfg).unwrap()
    };
    let (a, b) = (run(BatchCap::Rows(5)), run(BatchCap::Unlimited));
    for (u, v) in a.attributions.iter().zip(b.attributions.iter()) {
        assert!((u - v).abs() < 1e-5, "{u} vs {v}");
    }
}

#[test]
fn bad_settings_are_typed_errors_naming_the_field() {
    let (seq, _) = random_net(1, &[3, 4, 2], false);
    let m = GradModel::new(&seq);
    let x = Tensor::zeros(&[2, 3]);
    let field = |cfg: AdaptiveIgConfig, targets: &[usize]| match integrated_gradients_adaptive(
        &m, &x, targets, &cfg,
    )
    .unwrap_err()
    {
        GradientError::InvalidArgument { field, .. } => field,
        e => panic!("unexpected error {e}"),
    };
    let cfg = AdaptiveIgConfig::default;
    for tolerance in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let c = AdaptiveIgConfig { tolerance, ..cfg() };
        assert_eq!(field(c, &[0]), "tolerance");
    }
    for resolution in [0.0, -0.5, 1.5, f64::NAN] {
        let c = AdaptiveIgConfig {
            resolution,
            ..cfg()
        };
        assert_eq!(field(c, &[0]), "resolution");
    }
    assert_eq!(
        field(AdaptiveIgConfig { budget: 0, ..cfg() }, &[0]),
        "budget"
    );
    assert_eq!(
        field(
            AdaptiveIgConfig {
                budget: 65,
                ..cfg()
            },
            &[0]
        ),
        "budget"
    );
    assert_eq!(field(AdaptiveIgConfig { steps: 0, ..cfg() }, &[0]), "steps");
    assert_eq!(field(cfg(), &[0, 1, 0]), "targets");
    let c = AdaptiveIgConfig {
        cap: BatchCap::Rows(0),
        ..cfg()
    };
    assert_eq!(field(c, &[0]), "batch cap");
    let c = AdaptiveIgConfig {
        baseline: Baseline::Tensor(Tensor::zeros(&[4])),
        ..cfg()
    };
    assert!(matches!(
        integrated_gradients_adaptive(&m, &x, &[0], &c),
        Err(GradientError::Shape {
            what: "baseline",
            ..
        })
    ));
    assert!(matches!(
        integrated_gradients_adaptive(&m, &x, &[5], &cfg()),
        Err(GradientError::Target { target: 5, .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random ReLU MLPs, inputs and baselines: the adaptive rule agrees with the exact
    /// region walk and is complete within its tolerance.
    #[test]
    fn random_relu_mlps_match_the_exact_integral(
        seed in 0u64..1_000_000,
        d in 1usize..6,
        h1 in 2usize..12,
        h2 in 0usize..8,
        k in 1usize..4,
        scale in 0.5f32..4.0,
    ) {
        let sizes: Vec<usize> = if h2 == 0 { vec![d, h1, k] } else { vec![d, h1, h2, k] };
        let (seq, net) = random_net(seed, &sizes, false);
        let m = GradModel::new(&seq);
        let mut rng = Rng::new(seed ^ 0x5eed);
        let x = Tensor::rand_normal(&[2, d], 0.0, scale, &mut rng);
        let base = Tensor::rand_normal(&[2, d], 0.0, 1.0, &mut rng);
        let targets = [rng.below(k), rng.below(k)];
        let (xs, bs) = (rows_f64(&x), rows_f64(&base));
        // Refinement forced (2 start nodes, tight tolerance): agreement with the oracle.
        let tight = AdaptiveIgConfig {
            baseline: Baseline::Tensor(base.clone()),
            steps: 2,
            tolerance: 1e-6,
            resolution: 1.0 / 256.0,
            ..AdaptiveIgConfig::default()
        };
        let r = integrated_gradients_adaptive(&m, &x, &targets, &tight).unwrap();
        for i in 0..2 {
            let (oracle, _) = exact_path_integral(&net, &xs[i], &bs[i], targets[i]);
            let size = oracle.iter().fold(1f64, |a, v| a.max(v.abs()));
            let diff = max_diff(&r.attributions, i, &oracle);
            prop_assert!(diff < 1e-4 * size, "row {}: max diff {} (size {})", i, diff, size);
        }
        // Default settings: complete within the tolerance.
        let default = AdaptiveIgConfig {
            baseline: Baseline::Tensor(base),
            ..AdaptiveIgConfig::default()
        };
        let r = integrated_gradients_adaptive(&m, &x, &targets, &default).unwrap();
        let fx = m.predict(&x).unwrap().to_vec();
        for i in 0..2 {
            let (oracle, _) = exact_path_integral(&net, &xs[i], &bs[i], targets[i]);
            let total: f64 = oracle.iter().sum();
            let delta = r.convergence_delta[i].abs();
            prop_assert!(delta < 1e-4 * (1.0 + total.abs()), "row {}: delta {} (F(x) = {})", i, delta, fx[i * k + targets[i]]);
        }
    }
}
