//! Explanation budgets: the limits the server puts on one explain request
//! ([`ExplainLimits`]) and the cancellation token a model polls while it works
//! ([`Cancel`]).
//!
//! An explanation costs many model evaluations per row, so the server bounds it in four
//! ways: rows per request, evaluations and samples per row (checked against the request's
//! options before any work starts), and time (a deadline after which the model stops
//! working, not only the client waiting). Exceeding a limit is a 4xx naming the limit, the
//! value asked for and the server flag that sets it. Explanations run on their own compute
//! pool behind an admission limit, so they never queue in front of inference.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Result, ServeError};

/// Limits on explain requests (see the module docs). Every field is a server setting
/// (`glassbox serve --explain-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainLimits {
    /// Most rows (batch size) per explain request. Default 64.
    pub max_rows: usize,
    /// Most model evaluations per row a method may spend (Integrated Gradients' gradient
    /// evaluations, occlusion windows, …). Default 4096.
    pub max_evaluations: usize,
    /// Most coalition samples per row of sampling methods (Kernel SHAP). Default 4096.
    pub max_samples: usize,
    /// Time one explanation may compute before it is stopped (503). Default 10 s; the
    /// request timeout still applies on top.
    pub deadline: Duration,
    /// Explanations computing at once; more are refused with 503 at once. Default 2.
    pub max_concurrent: usize,
}

impl Default for ExplainLimits {
    fn default() -> Self {
        ExplainLimits {
            max_rows: 64,
            max_evaluations: 4096,
            max_samples: 4096,
            deadline: Duration::from_secs(10),
            max_concurrent: 2,
        }
    }
}

/// The server flags of the limits, named in error messages.
pub(crate) const FLAG_ROWS: &str = "--explain-max-rows";
pub(crate) const FLAG_EVALUATIONS: &str = "--explain-max-evaluations";
pub(crate) const FLAG_SAMPLES: &str = "--explain-max-samples";
pub(crate) const FLAG_DEADLINE: &str = "--explain-deadline";
pub(crate) const FLAG_CONCURRENT: &str = "--explain-concurrency";

impl ExplainLimits {
    /// Checks that every limit is positive (a zero limit would refuse every request).
    pub fn validate(&self) -> Result<()> {
        let zero = [
            (self.max_rows, FLAG_ROWS),
            (self.max_evaluations, FLAG_EVALUATIONS),
            (self.max_samples, FLAG_SAMPLES),
            (self.max_concurrent, FLAG_CONCURRENT),
        ]
        .into_iter()
        .find(|(v, _)| *v == 0);
        if let Some((_, flag)) = zero {
            return Err(ServeError::InvalidRequest(format!(
                "server setting {flag} must be at least 1"
            )));
        }
        if self.deadline.is_zero() {
            return Err(ServeError::InvalidRequest(format!(
                "server setting {FLAG_DEADLINE} must be positive"
            )));
        }
        Ok(())
    }

    /// `Err(LimitExceeded)` when a request's `rows` exceed [`ExplainLimits::max_rows`].
    pub fn check_rows(&self, rows: usize) -> Result<()> {
        check("rows", rows, self.max_rows, FLAG_ROWS)
    }

    /// `Err(LimitExceeded)` naming option `what` when `value` exceeds
    /// [`ExplainLimits::max_evaluations`].
    pub fn check_evaluations(&self, what: &str, value: usize) -> Result<()> {
        check(what, value, self.max_evaluations, FLAG_EVALUATIONS)
    }

    /// `Err(LimitExceeded)` naming option `what` when `value` exceeds
    /// [`ExplainLimits::max_samples`].
    pub fn check_samples(&self, what: &str, value: usize) -> Result<()> {
        check(what, value, self.max_samples, FLAG_SAMPLES)
    }
}

fn check(what: &str, value: usize, limit: usize, flag: &'static str) -> Result<()> {
    if value > limit {
        return Err(ServeError::LimitExceeded {
            what: what.to_string(),
            value,
            limit,
            flag,
        });
    }
    Ok(())
}

/// Cooperative cancellation of one explanation: cancelled once its deadline passes or
/// [`Cancel::cancel`] is called (the server does so when the request ends early: the
/// client went away or the request timed out). Models ask [`Cancel::is_cancelled`]
/// between units of work and return [`Cancel::error`] when it says so.
#[derive(Debug, Clone)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    deadline: Option<Instant>,
    budget: Duration,
}

impl Default for Cancel {
    /// A token that is never cancelled unless [`Cancel::cancel`] is called.
    fn default() -> Self {
        Cancel {
            flag: Arc::new(AtomicBool::new(false)),
            deadline: None,
            budget: Duration::ZERO,
        }
    }
}

impl PartialEq for Cancel {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.flag, &other.flag) && self.deadline == other.deadline
    }
}

impl Cancel {
    /// A token cancelled `budget` from now.
    pub fn with_deadline(budget: Duration) -> Self {
        Cancel {
            flag: Arc::new(AtomicBool::new(false)),
            deadline: Instant::now().checked_add(budget),
            budget,
        }
    }

    /// Cancels now (every clone sees it).
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// Whether the work should stop: cancelled, or past the deadline.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The error a model returns when it stops because of this token.
    pub fn error(&self) -> ServeError {
        ServeError::ExplainStopped {
            millis: self.budget.as_millis(),
            flag: FLAG_DEADLINE,
        }
    }

    /// `Err(`[`Cancel::error`]`)` when cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(self.error())
        } else {
            Ok(())
        }
    }

    /// A guard that cancels the token when dropped (unless [`CancelOnDrop::disarm`]ed):
    /// the request handler holds it, so a dropped request stops its explanation.
    pub(crate) fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(Some(self.clone()))
    }
}

/// See [`Cancel::on_drop`].
#[derive(Debug)]
pub(crate) struct CancelOnDrop(Option<Cancel>);

impl CancelOnDrop {
    /// The request finished normally: do not cancel.
    pub(crate) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_value_the_limit_and_the_flag() {
        let l = ExplainLimits {
            max_rows: 4,
            ..ExplainLimits::default()
        };
        assert!(l.check_rows(4).is_ok());
        let e = l.check_rows(5).unwrap_err();
        assert_eq!(e.status().as_u16(), 400);
        let msg = e.to_string();
        assert!(
            msg.contains("rows")
                && msg.contains('5')
                && msg.contains('4')
                && msg.contains(FLAG_ROWS),
            "{msg}"
        );
        let e = l.check_samples("n_samples", 5000).unwrap_err().to_string();
        assert!(e.contains("n_samples") && e.contains(FLAG_SAMPLES), "{e}");
        assert!(ExplainLimits {
            max_concurrent: 0,
            ..l
        }
        .validate()
        .is_err());
    }

    #[test]
    fn cancel_by_flag_deadline_and_drop() {
        let c = Cancel::with_deadline(Duration::from_secs(60));
        assert!(!c.is_cancelled() && c.check().is_ok());
        drop(c.on_drop());
        assert!(c.is_cancelled());
        let e = c.check().unwrap_err();
        assert_eq!(e.status().as_u16(), 503);
        assert!(e.to_string().contains(FLAG_DEADLINE), "{e}");
        let d = Cancel::with_deadline(Duration::ZERO);
        assert!(d.is_cancelled());
        let kept = Cancel::default();
        kept.on_drop().disarm();
        assert!(!kept.is_cancelled());
    }
}
