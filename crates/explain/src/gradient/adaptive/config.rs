//! The settings of adaptive Integrated Gradients and their validation.

use super::OP;
use crate::gradient::core::{Baseline, BatchCap};
use crate::gradient::error::{GradientError, Result};

/// Settings of [`integrated_gradients_adaptive`].
///
/// [`integrated_gradients_adaptive`]: super::integrated_gradients_adaptive
#[derive(Debug, Clone)]
pub struct AdaptiveIgConfig {
    /// Reference input.
    pub baseline: Baseline,
    /// Gauss–Legendre nodes of the start rule (at least 1).
    pub steps: usize,
    /// Absolute completeness tolerance per input: refinement stops once the residuals of
    /// all pieces of the path add up to at most half of it (must be positive and finite).
    pub tolerance: f64,
    /// Most gradient evaluations per input, start rule included (at least `steps + 2`).
    pub budget: usize,
    /// Widest piece of the path (in `α`, within `(0, 1]`) that may be accepted without
    /// looking inside. Two points with equal gradients and consistent outputs can still
    /// enclose structure, e.g. a unit of a ReLU network that switches on and off again
    /// between them (both ends in a region where the target output is dead); no rule that
    /// samples the path sees structure narrower than its sampling, so this sets the
    /// resolution. The default, `1/32`, accepts the gaps of the 64-node start rule.
    pub resolution: f64,
    /// Cap on the rows of one forward/backward pass.
    pub cap: BatchCap,
}

impl Default for AdaptiveIgConfig {
    fn default() -> Self {
        AdaptiveIgConfig {
            baseline: Baseline::Zeros,
            steps: 64,
            tolerance: 1e-4,
            budget: 4096,
            resolution: 1.0 / 32.0,
            cap: BatchCap::default(),
        }
    }
}

/// The refinement settings of [`AdaptiveIgConfig`] (everything but the baseline and the
/// batch cap), shared by every model the adaptive rule runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefineRule {
    /// Gauss–Legendre nodes of the start rule.
    pub steps: usize,
    /// Absolute completeness tolerance.
    pub tolerance: f64,
    /// Most gradient evaluations, start rule included.
    pub budget: usize,
    /// Widest piece accepted without a look inside.
    pub resolution: f64,
}

impl AdaptiveIgConfig {
    pub(super) fn rule(&self) -> RefineRule {
        RefineRule {
            steps: self.steps,
            tolerance: self.tolerance,
            budget: self.budget,
            resolution: self.resolution,
        }
    }
}

pub(super) fn validate(config: &RefineRule) -> Result<()> {
    let bad = |field, reason: String| {
        Err(GradientError::InvalidArgument {
            op: OP,
            field,
            reason,
        })
    };
    if config.steps == 0 {
        return bad("steps", "the start rule needs at least 1 node".into());
    }
    if !(config.tolerance > 0.0 && config.tolerance.is_finite()) {
        return bad(
            "tolerance",
            format!("must be positive and finite, got {}", config.tolerance),
        );
    }
    if !(config.resolution > 0.0 && config.resolution <= 1.0) {
        return bad(
            "resolution",
            format!("must be within (0, 1], got {}", config.resolution),
        );
    }
    if config.budget < config.steps + 2 {
        return bad(
            "budget",
            format!(
                "{} gradient evaluations cannot cover the start rule ({} nodes + 2 ends)",
                config.budget, config.steps
            ),
        );
    }
    Ok(())
}
