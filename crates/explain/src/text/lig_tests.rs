//! The adaptive rules of [`layer_integrated_gradients`] on toy models whose exact
//! attributions are known in closed form: separable models `f = Σ_{t,j} g(e_tj)`, for
//! which the attribution of coordinate `(t, j)` is `g(x_tj) − g(b_tj)`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use glassbox_autograd::Var;
use glassbox_tensor::Tensor;

use super::*;
use crate::error::PredictError;
use crate::gradient::{gauss_kronrod, gauss_legendre};

/// The separable function of a [`Toy`].
#[derive(Clone, Copy)]
enum Kind {
    /// `g(e) = e³`: the integrand along a path is a quadratic in `α`, so Gauss–Legendre
    /// rules of 2 or more points are exact and the 1-point rule is not.
    Cubic,
    /// `g(e) = tanh(e) + e`.
    TanhPlusLinear,
}

impl Kind {
    fn g(self, e: f64) -> f64 {
        match self {
            Kind::Cubic => e * e * e,
            Kind::TanhPlusLinear => e.tanh() + e,
        }
    }

    fn dg(self, e: f64) -> f64 {
        match self {
            Kind::Cubic => 3.0 * e * e,
            Kind::TanhPlusLinear => 2.0 - e.tanh().powi(2),
        }
    }
}

/// Embeddings `table[id]`; one output `Σ_{t,j} g(e_tj)`; counts forward passes and rows.
struct Toy {
    table: Vec<Vec<f32>>,
    kind: Kind,
    passes: AtomicUsize,
    rows: AtomicUsize,
}

impl Toy {
    fn new(kind: Kind, table: Vec<Vec<f32>>) -> Self {
        Toy {
            table,
            kind,
            passes: AtomicUsize::new(0),
            rows: AtomicUsize::new(0),
        }
    }

    /// The exact attributions `g(x_tj) − g(b_tj)`, `[tokens][hidden]`.
    fn exact(&self, ids: &[u32], base: &[u32]) -> Vec<Vec<f64>> {
        ids.iter()
            .zip(base)
            .map(|(&i, &b)| {
                self.table[i as usize]
                    .iter()
                    .zip(&self.table[b as usize])
                    .map(|(&x, &b)| self.kind.g(x as f64) - self.kind.g(b as f64))
                    .collect()
            })
            .collect()
    }

    /// Token scores of the rule with `nodes` and `weights` on `[-1, 1]`, in f64 from the
    /// closed-form gradient: what the rule computes, without the f32 model's rounding.
    fn rule_scores(&self, ids: &[u32], base: &[u32], nodes: &[f64], weights: &[f64]) -> Vec<f64> {
        ids.iter()
            .zip(base)
            .map(|(&i, &b)| {
                let (x, b) = (&self.table[i as usize], &self.table[b as usize]);
                x.iter()
                    .zip(b)
                    .map(|(&x, &b)| {
                        let (x, b) = (x as f64, b as f64);
                        let integral: f64 = nodes
                            .iter()
                            .zip(weights)
                            .map(|(&u, &w)| 0.5 * w * self.kind.dg(b + 0.5 * (u + 1.0) * (x - b)))
                            .sum();
                        integral * (x - b)
                    })
                    .sum()
            })
            .collect()
    }

    /// Token scores of the `n`-point Gauss–Legendre rule (f64, closed form).
    fn gl_scores(&self, ids: &[u32], base: &[u32], n: usize) -> Vec<f64> {
        let (nodes, weights) = gauss_legendre(n);
        self.rule_scores(ids, base, &nodes, &weights)
    }

    /// Token scores of `G_n` and `K_{2n+1}` (f64, closed form).
    fn gk_scores(&self, ids: &[u32], base: &[u32], n: usize) -> (Vec<f64>, Vec<f64>) {
        let gk = gauss_kronrod(n).unwrap();
        (
            self.rule_scores(ids, base, &gk.nodes, &gk.gauss_weights),
            self.rule_scores(ids, base, &gk.nodes, &gk.kronrod_weights),
        )
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.passes.load(Ordering::Relaxed),
            self.rows.load(Ordering::Relaxed),
        )
    }
}

impl EmbeddingModel for Toy {
    fn layer_name(&self) -> &str {
        "embeddings"
    }
    fn hidden_size(&self) -> usize {
        self.table[0].len()
    }
    fn embed(&self, ids: &[u32]) -> std::result::Result<Tensor, PredictError> {
        let v = ids
            .iter()
            .flat_map(|&i| self.table[i as usize].clone())
            .collect();
        Ok(Tensor::from_vec(v, &[ids.len(), self.hidden_size()])?)
    }
    fn forward_from_embeddings(
        &self,
        e: &Var,
        _ids: &[u32],
    ) -> std::result::Result<Var, PredictError> {
        self.passes.fetch_add(1, Ordering::Relaxed);
        self.rows.fetch_add(e.shape()[0], Ordering::Relaxed);
        let g = match self.kind {
            Kind::Cubic => e.mul(e)?.mul(e)?,
            Kind::TanhPlusLinear => e.tanh().add(e)?,
        };
        Ok(g.sum_axes(&[1, 2], false)?.unsqueeze(1)?)
    }
}

fn config(rule: LigRule) -> TextLigConfig {
    TextLigConfig {
        rule,
        cap: BatchCap::Rows(4),
        parallel: false,
        stop: StopCheck::never(),
    }
}

fn doubling(start: usize, relative_tolerance: f64, budget: usize) -> LigRule {
    LigRule::GaussLegendreDoubling {
        start,
        relative_tolerance,
        budget,
    }
}

fn kronrod(gauss_points: usize, relative_tolerance: f64, budget: usize) -> LigRule {
    LigRule::GaussKronrod {
        gauss_points,
        relative_tolerance,
        budget,
    }
}

/// Whether a pair of token-score vectors passes both tests within `tau`, and how far the
/// closer of the two tests is from its threshold (relative to `tau`).
fn passes(coarse: &[f64], fine: &[f64], df: f64, tau: f64) -> (bool, f64) {
    let agree = coarse.iter().zip(fine).map(|(a, b)| (a - b).abs());
    let complete = (fine.iter().sum::<f64>() - df).abs();
    let ok = agree.clone().all(|d| d <= tau) && complete <= tau;
    let margin = agree
        .chain([complete])
        .map(|d| (d - tau).abs() / tau)
        .fold(f64::INFINITY, f64::min);
    (ok, margin)
}

/// Token 0 and token 1 run the same path in opposite directions (their errors cancel
/// under every symmetric rule); token 2 moves a little, near zero, where `tanh` is almost
/// linear, and gives `f(x) − f(b)` its size.
fn mirrored() -> (Toy, Vec<u32>, Vec<u32>) {
    let table = vec![
        vec![0.0, 0.0, 0.0],
        vec![1.5, -2.0, 0.8],
        vec![-0.5, 0.7, -1.9],
        vec![0.05, 0.04, -0.03],
    ];
    (
        Toy::new(Kind::TanhPlusLinear, table),
        vec![1, 2, 3],
        vec![2, 1, 0],
    )
}

/// The largest gap between the token scores of `r` and the exact ones.
fn token_error(r: &TokenAttributions, exact: &[Vec<f64>]) -> f64 {
    r.token_scores
        .iter()
        .zip(exact)
        .map(|(s, e)| (s - e.iter().sum::<f64>()).abs())
        .fold(0.0, f64::max)
}

/// On `Σ e³` the 2-point rule is the first exact one, so the 1- and 2-point rules
/// disagree and the 2- and 4-point rules agree: the doubling rule from 1 point stops after
/// 1 + 2 + 4 = 7 evaluations (and spends no more rows than it reports), with the exact
/// attributions.
#[test]
fn doubling_stops_at_the_first_exact_pair_on_a_cubic() {
    let table = vec![
        vec![0.0, 0.0],
        vec![1.2, -0.7],
        vec![0.9, 1.4],
        vec![-1.1, 0.6],
    ];
    let toy = Toy::new(Kind::Cubic, table);
    let (ids, base) = (vec![1, 2, 3], vec![0, 0, 0]);
    let r = layer_integrated_gradients(&toy, &ids, &base, Some(0), &config(doubling(1, 1e-5, 64)))
        .unwrap();
    assert_eq!(r.converged, Some(true));
    assert_eq!(r.evaluations, 7);
    // Two passes of the ends, then the path points themselves.
    assert_eq!(toy.counts().1, 2 + 7);
    let exact = toy.exact(&ids, &base);
    let tau = 1e-5 * r.output_difference.abs();
    for (t, row) in exact.iter().enumerate() {
        for (j, e) in row.iter().enumerate() {
            let a = r.attributions[[t, j]];
            assert!((a - e).abs() <= tau, "({t}, {j}): {a} vs exact {e}");
        }
    }
    assert!(r.convergence_delta.abs() <= tau, "{}", r.convergence_delta);
    // The 1-point rule is wrong on every token by far more than the tolerance: the first
    // pair could not have been accepted.
    let one = toy.gl_scores(&ids, &base, 1);
    let exact_scores: Vec<f64> = exact.iter().map(|r| r.iter().sum()).collect();
    assert!(one
        .iter()
        .zip(&exact_scores)
        .all(|(a, e)| (a - e).abs() > 100.0 * tau));
}

/// Gauss–Kronrod on `Σ e³`: `G_1` is wrong and `K_3` exact, so the first pair (3 points)
/// disagrees; `G_3` and `K_7` are both exact and agree: 3 + 7 = 10 evaluations.
#[test]
fn gauss_kronrod_stops_at_the_first_exact_pair_on_a_cubic() {
    let table = vec![
        vec![0.0, 0.0],
        vec![1.2, -0.7],
        vec![0.9, 1.4],
        vec![-1.1, 0.6],
    ];
    let toy = Toy::new(Kind::Cubic, table);
    let (ids, base) = (vec![1, 2, 3], vec![0, 0, 0]);
    let r = layer_integrated_gradients(&toy, &ids, &base, Some(0), &config(kronrod(1, 1e-5, 64)))
        .unwrap();
    assert_eq!((r.evaluations, r.converged), (10, Some(true)));
    assert_eq!(toy.counts().1, 2 + 10);
    let tau = 1e-5 * r.output_difference.abs();
    for (t, row) in toy.exact(&ids, &base).iter().enumerate() {
        for (j, e) in row.iter().enumerate() {
            assert!((r.attributions[[t, j]] - e).abs() <= tau, "({t}, {j})");
        }
    }
}

/// Why the rules check agreement too: with mirrored tokens the 1-point rule is complete
/// to 1e-3 of `|f(x) − f(b)|` while its token scores are off by far more. The doubling and
/// the Gauss–Kronrod rule go on until the token scores agree, stop where the same rules
/// run in f64 on the closed-form gradient stop, and end within the tolerance of the exact
/// scores.
#[test]
fn doubling_does_not_stop_on_completeness_reached_by_cancellation() {
    let (toy, ids, base) = mirrored();
    let exact = toy.exact(&ids, &base);
    let tol = 1e-3;
    let one = config(LigRule::Fixed {
        steps: 1,
        method: Approximation::GaussLegendre,
    });
    let r1 = layer_integrated_gradients(&toy, &ids, &base, Some(0), &one).unwrap();
    let tau = tol * r1.output_difference.abs();
    assert!(
        r1.convergence_delta.abs() <= tau,
        "{}",
        r1.convergence_delta
    );
    assert!(token_error(&r1, &exact) > 10.0 * tau);

    // The rules run in f64: the first pair that passes both tests. Decisions must not sit
    // on a threshold, where f32 rounding could flip them.
    let df: f64 = exact.iter().flatten().sum();
    let (mut n, mut spent, mut prev) = (1, 1, toy.gl_scores(&ids, &base, 1));
    let expected = loop {
        n *= 2;
        spent += n;
        let s = toy.gl_scores(&ids, &base, n);
        let (ok, margin) = passes(&prev, &s, df, tol * df.abs());
        assert!(margin > 1e-3, "n = {n}: margin {margin}");
        if ok {
            break spent;
        }
        prev = s;
    };
    assert!(
        expected > 3,
        "the derivation should need more than one pair"
    );
    let (mut n, mut spent) = (1, 0);
    let expected_kronrod = loop {
        spent += 2 * n + 1;
        let (g, k) = toy.gk_scores(&ids, &base, n);
        let (ok, margin) = passes(&g, &k, df, tol * df.abs());
        assert!(margin > 1e-3, "n = {n}: margin {margin}");
        if ok {
            break spent;
        }
        n = 2 * n + 1;
    };
    assert!(
        expected_kronrod > 3,
        "the derivation should need more than one pair"
    );

    let r = layer_integrated_gradients(&toy, &ids, &base, Some(0), &config(kronrod(1, tol, 1024)))
        .unwrap();
    assert_eq!(r.converged, Some(true));
    assert_eq!(r.evaluations, expected_kronrod);
    assert!(r.convergence_delta.abs() <= tau);
    assert!(token_error(&r, &exact) <= tau);

    let r = layer_integrated_gradients(&toy, &ids, &base, Some(0), &config(doubling(1, tol, 1024)))
        .unwrap();
    assert_eq!(r.converged, Some(true));
    assert_eq!(r.evaluations, expected);
    assert!(r.convergence_delta.abs() <= tau);
    assert!(
        token_error(&r, &exact) <= tau,
        "{} > {tau}",
        token_error(&r, &exact)
    );
}

/// A tolerance the f32 model cannot meet spends the budget: rules of 2, 4 and 8 points
/// (14 evaluations) run, 16 more would pass the budget of 20, so the 8-point rule's
/// attributions are returned (bit for bit the fixed 8-point rule's) with
/// `converged: Some(false)`, and no more path points than the budget were evaluated.
#[test]
fn doubling_returns_unconverged_when_the_budget_is_spent() {
    let (toy, ids, base) = mirrored();
    let r = layer_integrated_gradients(&toy, &ids, &base, Some(0), &config(doubling(2, 1e-13, 20)))
        .unwrap();
    assert_eq!(r.converged, Some(false));
    assert_eq!(r.evaluations, 14);
    let (_, rows) = toy.counts();
    assert_eq!(rows - 2, 14);
    assert!(rows - 2 <= 20);
    let eight = config(LigRule::Fixed {
        steps: 8,
        method: Approximation::GaussLegendre,
    });
    let f = layer_integrated_gradients(&toy, &ids, &base, Some(0), &eight).unwrap();
    assert_eq!(r.attributions, f.attributions);
    // A budget of exactly the first rule: that rule, unconverged.
    let r = layer_integrated_gradients(&toy, &ids, &base, Some(0), &config(doubling(4, 1e-3, 4)))
        .unwrap();
    assert_eq!((r.evaluations, r.converged), (4, Some(false)));
    // Gauss–Kronrod: passes of 3 and 7 points (10), 15 more would pass the budget of 20.
    let (toy, ids, base) = mirrored();
    let r = layer_integrated_gradients(&toy, &ids, &base, Some(0), &config(kronrod(1, 1e-13, 20)))
        .unwrap();
    assert_eq!((r.evaluations, r.converged), (10, Some(false)));
    assert_eq!(toy.counts().1, 2 + 10);
}

/// The stop check is asked before every pass, as with the fixed rule: once it fires
/// (here at its 4th ask: the ends' pass, then the 4-point rule's two passes of 2 rows) the
/// method returns `Stopped` and runs no further pass.
#[test]
fn doubling_stops_when_the_check_fires() {
    let (toy, ids, base) = mirrored();
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    let config = TextLigConfig {
        rule: doubling(4, 1e-9, 1024),
        cap: BatchCap::Rows(2),
        parallel: false,
        stop: StopCheck::new(move || a.fetch_add(1, Ordering::Relaxed) >= 3),
    };
    let err = layer_integrated_gradients(&toy, &ids, &base, Some(0), &config).unwrap_err();
    assert!(matches!(err, ExplainError::Stopped { .. }), "{err}");
    assert_eq!(asked.load(Ordering::Relaxed), 4);
    assert_eq!(toy.counts(), (3, 2 + 4));
}

/// Row cap and `parallel` change how the points are batched, not the result: the same
/// attributions bit for bit, and the same evaluations.
#[test]
fn doubling_is_the_same_for_any_cap_and_parallel() {
    let (toy, ids, base) = mirrored();
    let run = |cap, parallel| {
        let c = TextLigConfig {
            rule: doubling(2, 1e-4, 1024),
            cap,
            parallel,
            stop: StopCheck::never(),
        };
        layer_integrated_gradients(&toy, &ids, &base, Some(0), &c).unwrap()
    };
    let a = run(BatchCap::Rows(3), false);
    let b = run(BatchCap::Rows(3), true);
    assert_eq!(a, b);
    let c = run(BatchCap::Unlimited, false);
    assert_eq!(a.evaluations, c.evaluations);
    let gap = a
        .attributions
        .iter()
        .zip(&c.attributions)
        .fold(0f64, |m, (p, q)| m.max((p - q).abs()));
    assert!(gap <= 1e-6, "{gap}");
}

/// `LigRule::adaptive` is the Gauss–Kronrod rule from 31 points; bad settings are refused naming the field;
/// the kink rule stays reachable under its own name and still meets its tolerance.
#[test]
fn rule_constructors_and_validation() {
    assert!(matches!(
        LigRule::adaptive(1e-3),
        LigRule::GaussKronrod {
            gauss_points: 31,
            budget: 1024,
            ..
        }
    ));
    assert!(matches!(
        LigRule::kink_refinement(1e-3),
        LigRule::KinkRefinement { steps: 16, .. }
    ));
    let (toy, ids, base) = mirrored();
    let field = |rule| match layer_integrated_gradients(&toy, &ids, &base, Some(0), &config(rule)) {
        Err(ExplainError::InvalidArgument { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field(doubling(0, 1e-3, 64)), "start");
    assert_eq!(field(doubling(8, 1e-3, 7)), "budget");
    assert_eq!(field(doubling(8, 0.0, 64)), "relative_tolerance");
    assert_eq!(field(doubling(8, f64::NAN, 64)), "relative_tolerance");
    assert_eq!(field(kronrod(0, 1e-3, 64)), "gauss_points");
    assert_eq!(field(kronrod(7, 1e-3, 14)), "budget");

    let r = layer_integrated_gradients(
        &toy,
        &ids,
        &base,
        Some(0),
        &config(LigRule::kink_refinement(1e-3)),
    )
    .unwrap();
    assert!(r.convergence_delta.abs() <= 1e-3 * r.output_difference.abs());
    assert_eq!(r.converged, Some(true));
}
