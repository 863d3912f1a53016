//! Linear scales and "nice" tick positions for chart axes.

/// A linear map from a data interval (`domain`) to a pixel interval (`range`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Data interval `(lo, hi)`, `lo < hi`.
    pub domain: (f64, f64),
    /// Pixel interval the domain maps to (may be reversed, as for a y axis).
    pub range: (f64, f64),
}

impl Scale {
    /// Pixel position of `value`.
    pub fn map(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        r0 + (value - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// Heckbert's "nice number": a number of the form {1, 2, 5, 10}·10^k close to `x`
/// (rounded if `round`, otherwise the smallest such number ≥ `x`).
fn nice_number(x: f64, round: bool) -> f64 {
    let exp = x.log10().floor();
    let f = x / 10f64.powf(exp);
    let nf = if round {
        if f < 1.5 {
            1.0
        } else if f < 3.0 {
            2.0
        } else if f < 7.0 {
            5.0
        } else {
            10.0
        }
    } else if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nf * 10f64.powf(exp)
}

/// Ticks for an axis covering the data interval `[lo, hi]` with about `target` ticks.
///
/// Returns `(axis_lo, axis_hi, ticks)`: the axis extends to the ticks just outside the data,
/// so `axis_lo <= lo`, `axis_hi >= hi`, and ticks are evenly spaced nice numbers from
/// `axis_lo` to `axis_hi`. Non-finite or empty inputs give the axis `[0, 1]`; a zero-width
/// interval is widened around its value.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (f64, f64, Vec<f64>) {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo <= f64::EPSILON * lo.abs().max(hi.abs()).max(1e-300) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
    }
    let target = target.max(2);
    let range = nice_number(hi - lo, false);
    let step = nice_number(range / (target - 1) as f64, true);
    let axis_lo = (lo / step).floor() * step;
    let axis_hi = (hi / step).ceil() * step;
    let n = ((axis_hi - axis_lo) / step).round() as usize;
    let ticks = (0..=n)
        .map(|i| clean(axis_lo + i as f64 * step, step))
        .collect();
    (clean(axis_lo, step), clean(axis_hi, step), ticks)
}

/// Rounds away floating-point noise relative to the tick step (0.30000000000000004 → 0.3).
fn clean(v: f64, step: f64) -> f64 {
    let digits = (-step.log10().floor()).max(0.0) as i32 + 2;
    let m = 10f64.powi(digits);
    let r = (v * m).round() / m;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// Formats a tick label with just enough decimals for the tick step.
pub fn tick_label(v: f64, step: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        return format!("{v:.1e}");
    }
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).max(0.0) as usize
    } else {
        2
    };
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_cover_the_data_with_nice_steps() {
        let (lo, hi, ticks) = nice_ticks(0.13, 2.71, 5);
        assert_eq!((lo, hi), (0.0, 3.0));
        // Heckbert: range nice(2.58) = 5, step nice(5 / 4) = 1.
        assert_eq!(ticks, vec![0.0, 1.0, 2.0, 3.0]);
        let (lo, hi, ticks) = nice_ticks(0.912, 0.987, 5);
        assert!(lo <= 0.912 && hi >= 0.987, "{lo} {hi}");
        assert_eq!(ticks, vec![0.9, 0.92, 0.94, 0.96, 0.98, 1.0]);
    }

    #[test]
    fn degenerate_intervals_are_widened() {
        let (lo, hi, ticks) = nice_ticks(5.0, 5.0, 5);
        assert!(lo < 5.0 && hi > 5.0 && ticks.len() >= 2);
        let (lo, hi, _) = nice_ticks(0.0, 0.0, 5);
        assert!(lo < 0.0 && hi > 0.0);
        assert_eq!(nice_ticks(f64::NAN, 1.0, 5).0, 0.0);
    }

    #[test]
    fn scale_maps_endpoints_and_reverses() {
        let s = Scale {
            domain: (0.0, 10.0),
            range: (300.0, 100.0),
        };
        assert_eq!(s.map(0.0), 300.0);
        assert_eq!(s.map(10.0), 100.0);
        assert_eq!(s.map(5.0), 200.0);
    }

    #[test]
    fn labels_use_step_precision() {
        assert_eq!(tick_label(0.5, 0.5), "0.5");
        assert_eq!(tick_label(0.92, 0.02), "0.92");
        assert_eq!(tick_label(20.0, 10.0), "20");
        assert_eq!(tick_label(0.0001, 0.0001), "1.0e-4");
    }
}
