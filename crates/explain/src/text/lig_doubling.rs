//! The adaptive rules of Layer Integrated Gradients for smooth models (Transformers):
//! pairs of quadrature rules of growing size until the two rules of a pair agree on every
//! token and the finer one is complete, within a tolerance. See
//! [`LigRule::GaussLegendreDoubling`](super::LigRule::GaussLegendreDoubling) and
//! [`LigRule::GaussKronrod`](super::LigRule::GaussKronrod).

use crate::error::{ExplainError, Result};
use crate::gradient::{gauss_kronrod, Approximation};

const OP: &str = "text layer_integrated_gradients";

/// The pairs of rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Gauss–Legendre rules of `n`, `2n`, `4n`, … points; a pair is two successive rules
    /// (the finer one a new pass of `2n` points).
    GaussLegendre,
    /// Gauss–Kronrod pairs `G_n`/`K_{2n+1}` (one pass of `2n + 1` points), `n` growing as
    /// `n → 2n + 1`.
    GaussKronrod,
}

/// Settings of the rule, the tolerance already absolute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doubling {
    pub family: Family,
    /// Points of the first Gauss rule (at least 1).
    pub start: usize,
    /// Absolute tolerance of both tests (`relative_tolerance · |f(x) − f(b)|`).
    pub tolerance: f64,
    /// Most path points over all passes (at least the first pass).
    pub budget: usize,
}

/// What the rule returns.
#[derive(Debug, Clone)]
pub(crate) struct Doubled {
    /// `[tokens · hidden]` attributions of the finest rule run.
    pub attributions: Vec<f64>,
    /// Path points spent over all passes.
    pub evaluations: usize,
    /// Whether the last pair passed both tests (false when the budget ran out first).
    pub converged: bool,
}

/// One pass: points `α` on `[0, 1]` and one weight set per estimate (coarse first).
struct Pass {
    alphas: Vec<f64>,
    weights: Vec<Vec<f64>>,
}

impl Doubling {
    /// The user's name of [`Doubling::start`].
    fn start_field(&self) -> &'static str {
        match self.family {
            Family::GaussLegendre => "start",
            Family::GaussKronrod => "gauss_points",
        }
    }

    /// Checks the settings; `relative_tolerance` is named for the user's field.
    pub fn validate(&self, relative_tolerance: f64) -> Result<()> {
        if !(relative_tolerance > 0.0 && relative_tolerance.is_finite()) {
            return Err(ExplainError::invalid(
                OP,
                "relative_tolerance",
                format!("must be positive and finite, got {relative_tolerance}"),
            ));
        }
        if self.start == 0 {
            return Err(ExplainError::invalid(
                OP,
                self.start_field(),
                "the first Gauss rule needs at least 1 point",
            ));
        }
        let (first, pair) = match self.family {
            Family::GaussLegendre => (self.start, 3 * self.start),
            Family::GaussKronrod => (2 * self.start + 1, 2 * self.start + 1),
        };
        if self.budget < first {
            return Err(ExplainError::invalid(
                OP,
                "budget",
                format!(
                    "must cover the first pass's {first} points, got {} (a converged result \
                     needs at least {pair})",
                    self.budget
                ),
            ));
        }
        Ok(())
    }

    /// The pass with Gauss rule size `n`.
    fn pass(&self, n: usize) -> Result<Pass> {
        match self.family {
            Family::GaussLegendre => {
                let (alphas, weights) = Approximation::GaussLegendre.alphas_and_weights(n)?;
                Ok(Pass {
                    alphas,
                    weights: vec![weights],
                })
            }
            Family::GaussKronrod => {
                let gk = gauss_kronrod(n).ok_or_else(|| {
                    ExplainError::invalid(
                        OP,
                        "budget",
                        format!(
                            "no Gauss–Kronrod rule extending {n} points could be computed \
                             (reached by doubling within the budget)"
                        ),
                    )
                })?;
                let half = |w: &[f64]| w.iter().map(|w| 0.5 * w).collect::<Vec<f64>>();
                Ok(Pass {
                    alphas: gk.nodes.iter().map(|x| 0.5 * (x + 1.0)).collect(),
                    weights: vec![half(&gk.gauss_weights), half(&gk.kronrod_weights)],
                })
            }
        }
    }

    /// Runs the rules: `integrate(alphas, weight_sets)` evaluates the path at `alphas`
    /// (one pass, `alphas.len()` points) and returns the `[tokens · hidden]` attributions of
    /// every weight set; `output_difference` is `f(x) − f(b)`.
    pub fn run(
        &self,
        hidden: usize,
        output_difference: f64,
        mut integrate: impl FnMut(&[f64], &[&[f64]]) -> Result<Vec<Vec<f64>>>,
    ) -> Result<Doubled> {
        let mut run = |pass: &Pass| -> Result<Vec<Vec<f64>>> {
            let sets: Vec<&[f64]> = pass.weights.iter().map(|w| w.as_slice()).collect();
            integrate(&pass.alphas, &sets)
        };
        let mut n = self.start;
        let mut evaluations = 0;
        // The finest estimate so far.
        let mut last: Option<Vec<f64>> = None;
        loop {
            // The Gauss rule size of this pass and its path points.
            let (gauss, size) = match (self.family, &last) {
                (Family::GaussLegendre, None) => (n, n),
                (Family::GaussLegendre, Some(_)) => (2 * n, 2 * n),
                (Family::GaussKronrod, _) => (n, 2 * n + 1),
            };
            if evaluations + size > self.budget {
                return Ok(Doubled {
                    attributions: last.expect("validated: the budget covers the first pass"),
                    evaluations,
                    converged: false,
                });
            }
            let mut sets = run(&self.pass(gauss)?)?;
            evaluations += size;
            let fine = sets.pop().expect("one weight set at least");
            let coarse = match self.family {
                Family::GaussLegendre => last.take(),
                Family::GaussKronrod => sets.pop(),
            };
            let accepted = coarse
                .as_ref()
                .is_some_and(|c| self.agree(c, &fine, hidden))
                && self.complete(&fine, output_difference);
            if accepted {
                return Ok(Doubled {
                    attributions: fine,
                    evaluations,
                    converged: true,
                });
            }
            last = Some(fine);
            n = match self.family {
                Family::GaussLegendre => gauss,
                Family::GaussKronrod => 2 * n + 1,
            };
        }
    }

    /// `max_t |s_t(coarse) − s_t(fine)| ≤ tolerance` over the token scores `s_t` (row sums).
    fn agree(&self, coarse: &[f64], fine: &[f64], hidden: usize) -> bool {
        coarse
            .chunks(hidden.max(1))
            .zip(fine.chunks(hidden.max(1)))
            .all(|(c, f)| (c.iter().sum::<f64>() - f.iter().sum::<f64>()).abs() <= self.tolerance)
    }

    /// `|Σ attributions − (f(x) − f(b))| ≤ tolerance`.
    fn complete(&self, attributions: &[f64], output_difference: f64) -> bool {
        (attributions.iter().sum::<f64>() - output_difference).abs() <= self.tolerance
    }
}
