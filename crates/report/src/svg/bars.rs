//! Horizontal bar charts with optional ± error bars (feature importances).

use super::axis::{nice_ticks, tick_label, Scale};
use super::{line, open, text, text_width, truncate, AXIS, GRID, INK, PALETTE};
use crate::escape::{coord, escape_html, fmt_num};

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Label drawn left of the bar.
    pub label: String,
    /// Bar length (may be negative).
    pub value: f64,
    /// Half-width of the error bar.
    pub error: Option<f64>,
}

/// A horizontal bar chart; bars are drawn in the given order, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title drawn above the chart.
    pub title: String,
    /// Label of the value axis.
    pub value_label: String,
    /// The bars.
    pub bars: Vec<Bar>,
    /// Bar colour.
    pub color: String,
    /// Total width in pixels.
    pub width: f64,
}

/// Longest label drawn in full; longer ones are cut with an ellipsis (full text in a tooltip).
const MAX_LABEL_CHARS: usize = 28;
const ROW: f64 = 22.0;

impl BarChart {
    /// An empty chart of the default width.
    pub fn new(title: &str, value_label: &str) -> Self {
        BarChart {
            title: title.to_string(),
            value_label: value_label.to_string(),
            bars: Vec::new(),
            color: PALETTE[0].to_string(),
            width: 520.0,
        }
    }

    /// The value axis `(lo, hi, ticks)`: always includes 0 and every bar end and error bar.
    pub fn axis(&self) -> (f64, f64, Vec<f64>) {
        let mut lo: f64 = 0.0;
        let mut hi: f64 = 0.0;
        for b in self.bars.iter().filter(|b| b.value.is_finite()) {
            let e = b.error.filter(|e| e.is_finite()).map_or(0.0, f64::abs);
            lo = lo.min(b.value - e);
            hi = hi.max(b.value + e);
        }
        if hi - lo <= 0.0 {
            hi = 1.0;
        }
        nice_ticks(lo, hi, 5)
    }

    /// Renders the chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let (lo, hi, ticks) = self.axis();
        let step = if ticks.len() >= 2 {
            ticks[1] - ticks[0]
        } else {
            1.0
        };
        let label_w = self
            .bars
            .iter()
            .map(|b| text_width(&truncate(&b.label, MAX_LABEL_CHARS), 11.5))
            .fold(40.0, f64::max);
        let left = label_w + 16.0;
        let right = self.width - 56.0;
        let top = 30.0;
        let bottom = top + self.bars.len().max(1) as f64 * ROW + 6.0;
        let height = bottom + 42.0;
        let xs = Scale {
            domain: (lo, hi),
            range: (left, right),
        };
        let mut s = open(self.width, height, &self.title);
        s.push_str(&text(8.0, 18.0, "start", 13.0, INK, "600", &self.title));
        for &v in &ticks {
            let x = xs.map(v);
            s.push_str(&line(x, top, x, bottom, GRID, 1.0));
            s.push_str(&line(x, bottom, x, bottom + 4.0, AXIS, 1.0));
            s.push_str(&text(
                x,
                bottom + 16.0,
                "middle",
                11.0,
                AXIS,
                "",
                &tick_label(v, step),
            ));
        }
        s.push_str(&line(left, bottom, right, bottom, AXIS, 1.0));
        s.push_str(&text(
            (left + right) / 2.0,
            height - 8.0,
            "middle",
            12.0,
            INK,
            "",
            &self.value_label,
        ));
        let zero = xs.map(0.0);
        for (i, b) in self.bars.iter().enumerate() {
            let yc = top + (i as f64 + 0.5) * ROW;
            let shown = truncate(&b.label, MAX_LABEL_CHARS);
            s.push_str(&format!(
                "<g><title>{}: {}{}</title>",
                escape_html(&b.label),
                fmt_num(b.value, 4),
                b.error
                    .map_or(String::new(), |e| format!(" ± {}", fmt_num(e, 4)))
            ));
            s.push_str(&text(left - 8.0, yc + 4.0, "end", 11.5, INK, "", &shown));
            if b.value.is_finite() {
                let x = xs.map(b.value);
                let (x0, w) = if x >= zero {
                    (zero, x - zero)
                } else {
                    (x, zero - x)
                };
                s.push_str(&format!(
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"{}\" fill-opacity=\"0.85\"/>",
                    coord(x0),
                    coord(yc - ROW * 0.32),
                    coord(w.max(0.5)),
                    coord(ROW * 0.64),
                    self.color
                ));
                let mut end = x;
                if let Some(e) = b.error.filter(|e| e.is_finite() && *e > 0.0) {
                    let (ea, eb) = (xs.map(b.value - e), xs.map(b.value + e));
                    s.push_str(&line(ea, yc, eb, yc, INK, 1.2));
                    s.push_str(&line(ea, yc - 5.0, ea, yc + 5.0, INK, 1.2));
                    s.push_str(&line(eb, yc - 5.0, eb, yc + 5.0, INK, 1.2));
                    end = if b.value >= 0.0 { eb } else { ea };
                }
                let (tx, anchor) = if b.value >= 0.0 {
                    (end + 5.0, "start")
                } else {
                    (end - 5.0, "end")
                };
                s.push_str(&text(
                    tx,
                    yc + 4.0,
                    anchor,
                    10.5,
                    AXIS,
                    "",
                    &fmt_num(b.value, value_digits(step)),
                ));
            } else {
                s.push_str(&text(zero + 5.0, yc + 4.0, "start", 10.5, AXIS, "", "n/a"));
            }
            s.push_str("</g>");
        }
        if lo < 0.0 {
            s.push_str(&line(zero, top, zero, bottom, AXIS, 1.0));
        }
        s.push_str("</svg>");
        s
    }
}

/// Decimals for bar value labels: two more than the tick step's.
fn value_digits(step: f64) -> usize {
    if step > 0.0 && step.is_finite() {
        ((-step.log10().floor()).max(0.0) as usize + 2).min(6)
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_includes_zero_and_error_bars() {
        let mut c = BarChart::new("perm", "drop");
        c.bars.push(Bar {
            label: "a".into(),
            value: 0.3,
            error: Some(0.05),
        });
        c.bars.push(Bar {
            label: "b".into(),
            value: -0.02,
            error: Some(0.04),
        });
        let (lo, hi, ticks) = c.axis();
        assert!(lo <= -0.06 && hi >= 0.35, "[{lo}, {hi}]");
        assert!(ticks.contains(&0.0));
    }

    #[test]
    fn renders_one_bar_and_three_whisker_lines_per_error() {
        let mut c = BarChart::new("SHAP <mean>", "value");
        c.bars.push(Bar {
            label: "petal width (cm)".into(),
            value: 1.5,
            error: Some(0.2),
        });
        c.bars.push(Bar {
            label: "x".repeat(60),
            value: 0.5,
            error: None,
        });
        let svg = c.render();
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("SHAP &lt;mean&gt;"));
        // Long labels are truncated in the text but complete in the tooltip.
        assert!(svg.contains('…'));
        assert!(svg.contains(&"x".repeat(60)));
        assert!(svg.contains("1.5"));
    }

    #[test]
    fn empty_and_nan_bars_do_not_break_the_axis() {
        let mut c = BarChart::new("t", "v");
        assert_eq!(c.axis().0, 0.0);
        c.bars.push(Bar {
            label: "nan".into(),
            value: f64::NAN,
            error: None,
        });
        let svg = c.render();
        assert!(svg.contains("n/a") && !svg.contains("NaN"));
    }
}
