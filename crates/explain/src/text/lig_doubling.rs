//! The adaptive rule of Layer Integrated Gradients for smooth models (Transformers):
//! Gauss–Legendre rules of `start`, `2·start`, `4·start`, … points until two successive
//! rules agree on every token and the finer one is complete, within a tolerance. See
//! [`LigRule::GaussLegendreDoubling`](super::LigRule::GaussLegendreDoubling).

use crate::error::{ExplainError, Result};

const OP: &str = "text layer_integrated_gradients";

/// Settings of the doubling rule, the tolerance already absolute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doubling {
    /// Points of the first rule (at least 1).
    pub start: usize,
    /// Absolute tolerance of both tests (`relative_tolerance · |f(x) − f(b)|`).
    pub tolerance: f64,
    /// Most path points, over all rules run (at least `start`).
    pub budget: usize,
}

/// What the doubling rule returns.
#[derive(Debug, Clone)]
pub(crate) struct Doubled {
    /// `[tokens · hidden]` attributions of the last (finest) rule run.
    pub attributions: Vec<f64>,
    /// Path points spent over all rules run.
    pub evaluations: usize,
    /// Whether the last rule passed both tests (false when the budget ran out first).
    pub converged: bool,
}

impl Doubling {
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
                "start",
                "the first Gauss–Legendre rule needs at least 1 point",
            ));
        }
        if self.budget < self.start {
            return Err(ExplainError::invalid(
                OP,
                "budget",
                format!(
                    "must cover the first rule's {} points, got {} (a converged result needs \
                     at least start + 2·start = {})",
                    self.start,
                    self.budget,
                    3 * self.start
                ),
            ));
        }
        Ok(())
    }

    /// Runs the rules: `integrate(n)` returns the `[tokens · hidden]` attributions of the
    /// `n`-point Gauss–Legendre rule (`n` path points); `output_difference` is
    /// `f(x) − f(b)`.
    pub fn run(
        &self,
        hidden: usize,
        output_difference: f64,
        mut integrate: impl FnMut(usize) -> Result<Vec<f64>>,
    ) -> Result<Doubled> {
        let mut n = self.start;
        let mut attributions = integrate(n)?;
        let mut evaluations = n;
        loop {
            let next = 2 * n;
            if evaluations + next > self.budget {
                return Ok(Doubled {
                    attributions,
                    evaluations,
                    converged: false,
                });
            }
            let finer = integrate(next)?;
            evaluations += next;
            let accepted = self.agree(&attributions, &finer, hidden)
                && self.complete(&finer, output_difference);
            attributions = finer;
            n = next;
            if accepted {
                return Ok(Doubled {
                    attributions,
                    evaluations,
                    converged: true,
                });
            }
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
