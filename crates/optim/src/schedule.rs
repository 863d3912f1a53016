//! Epoch-indexed learning-rate schedules: step, multi-step, exponential, cosine annealing,
//! linear warm-up and warm-up followed by cosine decay.
//!
//! Each schedule is a closed-form function of the epoch counter, so an [`LrScheduler`]'s
//! whole state is `(schedule, base_lr, epoch)`; it serialises with serde and resumes
//! exactly. The formulas are PyTorch's (`StepLR`, `MultiStepLR`, `ExponentialLR`,
//! `CosineAnnealingLR`, `LinearLR`).

use serde::{Deserialize, Serialize};

use crate::error::{OptimError, Result};

/// The shape of a learning-rate schedule. `lr(e)` below is the rate after `e` calls to
/// [`LrScheduler::step`]; `base` is the optimizer's initial learning rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// `lr(e) = base`.
    Constant,
    /// `lr(e) = base * gamma^(e / step_size)` (integer division), as `StepLR`.
    Step {
        /// Epochs between decays.
        step_size: u64,
        /// Multiplicative decay.
        gamma: f64,
    },
    /// `lr(e) = base * gamma^(number of milestones <= e)`, as `MultiStepLR`.
    MultiStep {
        /// Epochs at which the rate decays (sorted).
        milestones: Vec<u64>,
        /// Multiplicative decay.
        gamma: f64,
    },
    /// `lr(e) = base * gamma^e`, as `ExponentialLR`.
    Exponential {
        /// Multiplicative decay per epoch.
        gamma: f64,
    },
    /// `lr(e) = eta_min + (base - eta_min) (1 + cos(pi e / t_max)) / 2`, as
    /// `CosineAnnealingLR` (which continues the cosine past `t_max`).
    CosineAnnealing {
        /// Half period in epochs.
        t_max: u64,
        /// Minimum learning rate.
        eta_min: f64,
    },
    /// `lr(e) = base * (start_factor + (1 - start_factor) min(e, warmup_steps) / warmup_steps)`,
    /// as `LinearLR(start_factor, end_factor=1, total_iters=warmup_steps)`.
    LinearWarmup {
        /// Number of epochs over which the factor rises to 1.
        warmup_steps: u64,
        /// Factor applied at epoch 0.
        start_factor: f64,
    },
    /// Linear warm-up from `start_factor * base` to `base` over `warmup_steps`, then cosine
    /// decay to `eta_min` over the remaining `total_steps - warmup_steps`.
    WarmupCosine {
        /// Warm-up length in epochs.
        warmup_steps: u64,
        /// Total schedule length in epochs.
        total_steps: u64,
        /// Factor applied at epoch 0.
        start_factor: f64,
        /// Final learning rate.
        eta_min: f64,
    },
}

impl Schedule {
    /// Checks the schedule's parameters.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, value: f64, reason: &'static str| {
            Err(OptimError::InvalidHyperparameter {
                optimizer: "LrScheduler",
                name,
                value,
                reason,
            })
        };
        match self {
            Schedule::Constant => Ok(()),
            Schedule::Step { step_size, gamma } => {
                if *step_size == 0 {
                    return bad("step_size", 0.0, "must be >= 1");
                }
                positive("gamma", *gamma)
            }
            Schedule::MultiStep { milestones, gamma } => {
                if milestones.windows(2).any(|w| w[0] > w[1]) {
                    return bad("milestones", f64::NAN, "must be sorted ascending");
                }
                positive("gamma", *gamma)
            }
            Schedule::Exponential { gamma } => positive("gamma", *gamma),
            Schedule::CosineAnnealing { t_max, eta_min } => {
                if *t_max == 0 {
                    return bad("t_max", 0.0, "must be >= 1");
                }
                non_negative("eta_min", *eta_min)
            }
            Schedule::LinearWarmup {
                warmup_steps,
                start_factor,
            } => {
                if *warmup_steps == 0 {
                    return bad("warmup_steps", 0.0, "must be >= 1");
                }
                if !(*start_factor > 0.0 && *start_factor <= 1.0) {
                    return bad("start_factor", *start_factor, "must be in (0, 1]");
                }
                Ok(())
            }
            Schedule::WarmupCosine {
                warmup_steps,
                total_steps,
                start_factor,
                eta_min,
            } => {
                if *total_steps <= *warmup_steps {
                    return bad(
                        "total_steps",
                        *total_steps as f64,
                        "must be greater than warmup_steps",
                    );
                }
                if !(*start_factor > 0.0 && *start_factor <= 1.0) {
                    return bad("start_factor", *start_factor, "must be in (0, 1]");
                }
                non_negative("eta_min", *eta_min)
            }
        }
    }

    /// The learning rate after `epoch` scheduler steps, starting from `base`.
    pub fn lr_at(&self, base: f64, epoch: u64) -> f64 {
        use std::f64::consts::PI;
        match self {
            Schedule::Constant => base,
            Schedule::Step { step_size, gamma } => base * gamma.powi((epoch / step_size) as i32),
            Schedule::MultiStep { milestones, gamma } => {
                let n = milestones.iter().filter(|&&m| m <= epoch).count();
                base * gamma.powi(n as i32)
            }
            Schedule::Exponential { gamma } => base * gamma.powi(epoch as i32),
            Schedule::CosineAnnealing { t_max, eta_min } => {
                eta_min + (base - eta_min) * (1.0 + (PI * epoch as f64 / *t_max as f64).cos()) / 2.0
            }
            Schedule::LinearWarmup {
                warmup_steps,
                start_factor,
            } => {
                let frac = epoch.min(*warmup_steps) as f64 / *warmup_steps as f64;
                base * (start_factor + (1.0 - start_factor) * frac)
            }
            Schedule::WarmupCosine {
                warmup_steps,
                total_steps,
                start_factor,
                eta_min,
            } => {
                if epoch < *warmup_steps {
                    let frac = epoch as f64 / *warmup_steps as f64;
                    base * (start_factor + (1.0 - start_factor) * frac)
                } else {
                    let t = (epoch - warmup_steps).min(total_steps - warmup_steps) as f64;
                    let span = (total_steps - warmup_steps) as f64;
                    eta_min + (base - eta_min) * (1.0 + (PI * t / span).cos()) / 2.0
                }
            }
        }
    }
}

fn positive(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperparameter {
            optimizer: "LrScheduler",
            name,
            value: v,
            reason: "must be finite and > 0",
        })
    }
}

fn non_negative(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperparameter {
            optimizer: "LrScheduler",
            name,
            value: v,
            reason: "must be finite and >= 0",
        })
    }
}

/// A [`Schedule`] with its base rate and epoch counter: call [`step`](Self::step) once per
/// epoch (or per iteration, for warm-up) and give the returned rate to the optimizer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrScheduler {
    schedule: Schedule,
    base_lr: f64,
    epoch: u64,
}

impl LrScheduler {
    /// A scheduler starting at `base_lr` (normally the optimizer's initial rate).
    pub fn new(schedule: Schedule, base_lr: f64) -> Result<Self> {
        schedule.validate()?;
        positive("base_lr", base_lr).or_else(|e| if base_lr == 0.0 { Ok(()) } else { Err(e) })?;
        Ok(LrScheduler {
            schedule,
            base_lr,
            epoch: 0,
        })
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Number of steps taken so far.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The base learning rate.
    pub fn base_lr(&self) -> f64 {
        self.base_lr
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.schedule.lr_at(self.base_lr, self.epoch)
    }

    /// Advances one epoch and returns the new learning rate.
    pub fn step(&mut self) -> f64 {
        self.epoch += 1;
        self.lr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_schedule_decays_every_step_size() {
        // StepLR(step_size=2, gamma=0.5) from 1.0: 1, 1, .5, .5, .25
        let mut s = LrScheduler::new(
            Schedule::Step {
                step_size: 2,
                gamma: 0.5,
            },
            1.0,
        )
        .unwrap();
        let lrs: Vec<f64> = (0..4).map(|_| s.step()).collect();
        assert_eq!(lrs, vec![1.0, 0.5, 0.5, 0.25]);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(LrScheduler::new(Schedule::Exponential { gamma: -1.0 }, 0.1).is_err());
        let err = LrScheduler::new(
            Schedule::CosineAnnealing {
                t_max: 0,
                eta_min: 0.0,
            },
            0.1,
        )
        .unwrap_err();
        assert!(err.to_string().contains("t_max"), "{err}");
    }
}
