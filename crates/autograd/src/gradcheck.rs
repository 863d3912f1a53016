//! Central finite-difference gradient checking.

use std::fmt;

use glassbox_tensor::{rng::Rng, Tensor};

use crate::error::{AutogradError, Result};
use crate::no_grad::no_grad;
use crate::var::Var;

/// Inputs with at most this many elements are checked element by element; larger ones
/// along [`DIRECTIONS`] random directions.
pub const MAX_ELEMENTWISE: usize = 512;

/// Number of random directions checked for an input with more than [`MAX_ELEMENTWISE`]
/// elements.
pub const DIRECTIONS: usize = 8;

/// One comparison between a finite difference and the gradient computed by backward.
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckEntry {
    /// Which input (position in the `inputs` slice).
    pub input: usize,
    /// Flat element index, or `None` for a random-direction check.
    pub index: Option<usize>,
    /// Central finite difference (f64).
    pub numeric: f64,
    /// Gradient from backward, projected the same way (f64).
    pub analytic: f64,
}

impl GradcheckEntry {
    /// `|numeric - analytic|`.
    pub fn abs_error(&self) -> f64 {
        (self.numeric - self.analytic).abs()
    }
}

/// Outcome of [`gradcheck`].
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckReport {
    /// Number of comparisons made.
    pub checks: usize,
    /// Tolerance used: a check passes if `|num - ana| <= tol * (1 + |num|)`.
    pub tol: f64,
    /// The comparison with the largest error relative to its allowance.
    pub worst: Option<GradcheckEntry>,
    /// Up to 10 failing comparisons.
    pub failures: Vec<GradcheckEntry>,
    /// Total number of failing comparisons.
    pub n_failures: usize,
}

impl GradcheckReport {
    /// Whether every comparison was within tolerance.
    pub fn passed(&self) -> bool {
        self.n_failures == 0
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradcheck: {} checks, {} failed (tol {})",
            self.checks, self.n_failures, self.tol
        )?;
        if let Some(w) = &self.worst {
            write!(
                f,
                "; worst: input {} index {:?}: numeric {:.6e} vs analytic {:.6e}",
                w.input, w.index, w.numeric, w.analytic
            )?;
        }
        for e in &self.failures {
            write!(
                f,
                "\n  input {} index {:?}: numeric {:.6e} vs analytic {:.6e}",
                e.input, e.index, e.numeric, e.analytic
            )?;
        }
        Ok(())
    }
}

/// The fixed seed of gradcheck's output weights `u`, so gradcheck needs no seed argument.
const WEIGHT_SEED: u64 = 0x005E_ED0F_6A4D;

fn weighted_sum(out: &Tensor, u: &[f32]) -> f64 {
    out.to_vec()
        .iter()
        .zip(u)
        .map(|(&o, &w)| f64::from(o) * f64::from(w))
        .sum()
}

/// Checks the gradients of `f` at `inputs` against central finite differences.
///
/// `f` maps leaf `Var`s (one per input tensor) to an output of any shape. The output is
/// reduced to a scalar `L = Σ out · u` with a fixed pseudo-random `u` in `[-1, 1)` (so
/// every output element matters), differentiated once by backward, and compared with
/// `(L(x + h) − L(x − h)) / (2h)` evaluated in f64 for every element of every input (or,
/// for inputs larger than [`MAX_ELEMENTWISE`], along [`DIRECTIONS`] random directions).
/// The step `eps` is applied in f32, and the true step after rounding is used in the
/// quotient. A comparison passes if `|num − ana| ≤ tol · (1 + |num|)`; with f32
/// arithmetic `eps ≈ 1e-3` and `tol ≈ 1e-2` are typical (use `eps ≈ 1e-2` when the output
/// sums many elements: the f32 rounding of `L` is divided by `2h`). Keep inputs away from kinks
/// (ReLU at 0, ties of max) by more than `eps`.
///
/// Returns an error only if `f` itself fails; check [`GradcheckReport::passed`].
pub fn gradcheck<F>(f: F, inputs: &[Tensor], eps: f64, tol: f64) -> Result<GradcheckReport>
where
    F: Fn(&[Var]) -> Result<Var>,
{
    let valid = eps > 0.0 && eps.is_finite() && tol >= 0.0;
    if !valid {
        return Err(AutogradError::invalid(
            "gradcheck",
            format!("eps must be positive and finite and tol non-negative (eps {eps}, tol {tol})"),
        ));
    }
    let eps32 = eps as f32;
    let vars: Vec<Var> = inputs.iter().map(|t| Var::leaf(t.clone(), true)).collect();
    let out = f(&vars)?;
    let out_shape = out.shape();
    let n_out: usize = out_shape.iter().product();
    let mut rng = Rng::new(WEIGHT_SEED);
    let u: Vec<f32> = if n_out == 1 {
        vec![1.0]
    } else {
        (0..n_out)
            .map(|_| rng.uniform_range(-1.0, 1.0) as f32)
            .collect()
    };
    if out.requires_grad() {
        out.backward_with(&Tensor::from_vec(u.clone(), &out_shape)?)?;
    }
    let analytic: Vec<Vec<f32>> = vars
        .iter()
        .zip(inputs)
        .map(|(v, t)| v.grad().map(|g| g.to_vec()).unwrap_or(vec![0.0; t.len()]))
        .collect();

    let loss_at = |xs: &[Tensor]| -> Result<f64> {
        no_grad(|| {
            let vs: Vec<Var> = xs.iter().map(|t| Var::constant(t.clone())).collect();
            let o = f(&vs)?;
            Ok(weighted_sum(&o.value(), &u))
        })
    };

    let mut report = GradcheckReport {
        checks: 0,
        tol,
        worst: None,
        failures: Vec::new(),
        n_failures: 0,
    };
    let mut worst_ratio = -1.0f64;
    let mut record = |entry: GradcheckEntry, report: &mut GradcheckReport| {
        report.checks += 1;
        let allowance = tol * (1.0 + entry.numeric.abs());
        let ratio = entry.abs_error() / allowance.max(f64::MIN_POSITIVE);
        // NaN errors fail too
        let failed = entry.abs_error().partial_cmp(&allowance) != Some(std::cmp::Ordering::Less)
            && entry.abs_error() != allowance;
        if ratio > worst_ratio || (failed && !ratio.is_finite()) {
            worst_ratio = ratio;
            report.worst = Some(entry.clone());
        }
        if failed {
            report.n_failures += 1;
            if report.failures.len() < 10 {
                report.failures.push(entry);
            }
        }
    };

    let mut xs: Vec<Tensor> = inputs.to_vec();
    for (i, input) in inputs.iter().enumerate() {
        let shape = input.shape().to_vec();
        let base = input.to_vec();
        if base.len() <= MAX_ELEMENTWISE {
            for j in 0..base.len() {
                let mut plus = base.clone();
                let mut minus = base.clone();
                plus[j] += eps32;
                minus[j] -= eps32;
                let h = f64::from(plus[j]) - f64::from(minus[j]);
                xs[i] = Tensor::from_vec(plus, &shape)?;
                let lp = loss_at(&xs)?;
                xs[i] = Tensor::from_vec(minus, &shape)?;
                let lm = loss_at(&xs)?;
                record(
                    GradcheckEntry {
                        input: i,
                        index: Some(j),
                        numeric: (lp - lm) / h,
                        analytic: f64::from(analytic[i][j]),
                    },
                    &mut report,
                );
            }
        } else {
            for _ in 0..DIRECTIONS {
                let dir: Vec<f32> = (0..base.len())
                    .map(|_| rng.uniform_range(-1.0, 1.0) as f32)
                    .collect();
                let plus: Vec<f32> = base.iter().zip(&dir).map(|(x, d)| x + eps32 * d).collect();
                let minus: Vec<f32> = base.iter().zip(&dir).map(|(x, d)| x - eps32 * d).collect();
                let projected: f64 = analytic[i]
                    .iter()
                    .zip(plus.iter().zip(&minus))
                    .map(|(&g, (&p, &m))| f64::from(g) * (f64::from(p) - f64::from(m)))
                    .sum();
                xs[i] = Tensor::from_vec(plus, &shape)?;
                let lp = loss_at(&xs)?;
                xs[i] = Tensor::from_vec(minus, &shape)?;
                let lm = loss_at(&xs)?;
                record(
                    GradcheckEntry {
                        input: i,
                        index: None,
                        numeric: (lp - lm) / (2.0 * eps),
                        analytic: projected / (2.0 * eps),
                    },
                    &mut report,
                );
            }
        }
        xs[i] = input.clone();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::BackwardOp;

    /// y = x² with a deliberately wrong backward (returns x instead of 2x).
    struct WrongSquare(Tensor);
    impl BackwardOp for WrongSquare {
        fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
            Ok(vec![Some(g.try_mul(&self.0)?)])
        }
        fn name(&self) -> &'static str {
            "wrong_square"
        }
    }

    fn wrong_square(x: &Var) -> Var {
        let v = x.value();
        Var::from_op(
            v.square(),
            std::slice::from_ref(x),
            Box::new(WrongSquare(v)),
        )
    }

    #[test]
    fn detects_a_wrong_backward() {
        let x = Tensor::from_vec(vec![1.0, -2.0, 3.0], &[3]).unwrap();
        let report = gradcheck(
            |v: &[Var]| Ok(wrong_square(&v[0])),
            std::slice::from_ref(&x),
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(!report.passed());
        assert_eq!(report.n_failures, 3);
        assert!(report.to_string().contains("3 failed"), "{report}");
        let ok = gradcheck(|v: &[Var]| Ok(v[0].square()), &[x], 1e-3, 1e-2).unwrap();
        assert!(ok.passed(), "{ok}");
        assert_eq!(ok.checks, 3);
    }

    #[test]
    fn large_inputs_use_random_directions() {
        let x =
            Tensor::from_vec((0..600).map(|i| (i as f32 * 0.01).sin()).collect(), &[600]).unwrap();
        let report = gradcheck(
            |v: &[Var]| Ok(v[0].tanh().sum_all()),
            std::slice::from_ref(&x),
            1e-2,
            1e-2,
        )
        .unwrap();
        assert!(report.passed(), "{report}");
        assert_eq!(report.checks, DIRECTIONS);
        assert!(report.worst.as_ref().unwrap().index.is_none());
        let bad = gradcheck(
            |v: &[Var]| Ok(wrong_square(&v[0]).sum_all()),
            &[x],
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(!bad.passed());
    }

    #[test]
    fn rejects_bad_settings() {
        let x = Tensor::ones(&[1]);
        assert!(gradcheck(
            |v: &[Var]| Ok(v[0].clone()),
            std::slice::from_ref(&x),
            0.0,
            1e-2
        )
        .is_err());
        assert!(gradcheck(|v: &[Var]| Ok(v[0].clone()), &[x], 1e-3, f64::NAN).is_err());
    }
}
