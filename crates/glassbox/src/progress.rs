//! A small live progress bar on stderr (loss, accuracy, samples/s, ETA), as a
//! [`Callback`](crate::Callback).

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::history::{EpochMetrics, History};
use crate::trainer::{BatchProgress, Callback};

/// Draws one bar per epoch on stderr. On a terminal the bar redraws in place at most ten
/// times a second; otherwise one summary line per epoch is printed.
#[derive(Debug)]
pub struct ProgressBar {
    width: usize,
    tty: bool,
    last_draw: Option<Instant>,
    started: Option<Instant>,
    quiet: bool,
}

impl Default for ProgressBar {
    fn default() -> Self {
        ProgressBar::new()
    }
}

impl ProgressBar {
    /// A 30-character bar on stderr.
    pub fn new() -> ProgressBar {
        ProgressBar {
            width: 30,
            tty: std::io::stderr().is_terminal(),
            last_draw: None,
            started: None,
            quiet: false,
        }
    }

    /// A bar that prints nothing (for tests and `--quiet`).
    pub fn quiet() -> ProgressBar {
        ProgressBar {
            quiet: true,
            ..ProgressBar::new()
        }
    }

    /// The bar text for `p` (without the leading carriage return).
    pub fn render(&self, p: &BatchProgress) -> String {
        let frac = if p.total == 0 {
            1.0
        } else {
            p.seen as f64 / p.total as f64
        };
        let filled = ((frac * self.width as f64).round() as usize).min(self.width);
        let rate = if p.elapsed > 0.0 {
            p.seen as f64 / p.elapsed
        } else {
            0.0
        };
        let eta = if rate > 0.0 {
            (p.total - p.seen.min(p.total)) as f64 / rate
        } else {
            0.0
        };
        let acc = p
            .accuracy
            .map(|a| format!(" acc {:5.1}%", 100.0 * a))
            .unwrap_or_default();
        format!(
            "epoch {:>2}/{} [{}{}] {:>5}/{} loss {:.4}{acc} {:>6.0} samples/s ETA {:>4.1}s",
            p.epoch,
            p.epochs,
            "█".repeat(filled),
            "·".repeat(self.width - filled),
            p.seen,
            p.total,
            p.loss,
            rate,
            eta
        )
    }
}

impl Callback for ProgressBar {
    fn on_train_begin(&mut self, _n_train: usize, _epochs: usize) {
        self.started = Some(Instant::now());
    }

    fn on_batch_end(&mut self, p: &BatchProgress) {
        if self.quiet || !self.tty {
            return;
        }
        let due = self
            .last_draw
            .is_none_or(|t| t.elapsed().as_millis() >= 100 || p.seen == p.total);
        if due {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\x1b[K", self.render(p));
            let _ = err.flush();
            self.last_draw = Some(Instant::now());
        }
    }

    fn on_epoch_end(&mut self, m: &EpochMetrics) {
        if self.quiet {
            return;
        }
        let mut line = format!("epoch {:>2}: loss {:.4}", m.epoch, m.train_loss);
        if let Some(a) = m.train_accuracy {
            line += &format!(" acc {:.2}%", 100.0 * a);
        }
        if let Some(v) = m.val_loss {
            line += &format!(" | val loss {v:.4}");
        }
        if let Some(a) = m.val_accuracy {
            line += &format!(" val acc {:.2}%", 100.0 * a);
        }
        line += &format!(" | lr {:.2e} | {:.1}s", m.learning_rate, m.seconds);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = writeln!(err, "\r{line}\x1b[K");
        } else {
            let _ = writeln!(err, "{line}");
        }
    }

    fn on_train_end(&mut self, h: &History) {
        if self.quiet {
            return;
        }
        let secs = self.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "trained {} epochs in {secs:.1}s (kept epoch {}{})",
            h.epochs.len(),
            h.best_epoch,
            if h.stopped_early {
                ", stopped early"
            } else {
                ""
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_shows_progress_rate_and_eta() {
        let bar = ProgressBar::quiet();
        let s = bar.render(&BatchProgress {
            epoch: 2,
            epochs: 5,
            seen: 500,
            total: 1000,
            loss: 0.25,
            accuracy: Some(0.9),
            elapsed: 2.0,
        });
        assert!(s.contains("epoch  2/5"), "{s}");
        assert!(s.contains("loss 0.2500") && s.contains("acc  90.0%"), "{s}");
        assert!(
            s.contains("250 samples/s") && s.contains("ETA  2.0s"),
            "{s}"
        );
        assert_eq!(s.matches('█').count(), 15);
    }
}
