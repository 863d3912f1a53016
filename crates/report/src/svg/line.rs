//! Line charts with axes, ticks, grid lines and a legend (training curves,
//! deletion/insertion curves).

use super::axis::{nice_ticks, tick_label, Scale};
use super::{line, open, text, text_width, AXIS, GRID, INK, PALETTE};
use crate::escape::{coord, escape_html, fmt_num};

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// `(x, y)` points in drawing order; a non-finite `y` breaks the line.
    pub points: Vec<(f64, f64)>,
    /// Stroke colour; `None` takes the next [`PALETTE`] colour.
    pub color: Option<String>,
    /// Dashed stroke (e.g. for a baseline such as a random ranking).
    pub dashed: bool,
}

/// A line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title drawn above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Fixed y interval (e.g. `(0, 1)` for accuracy); `None` fits the data.
    pub y_range: Option<(f64, f64)>,
    /// Fixed x interval; `None` fits the data.
    pub x_range: Option<(f64, f64)>,
    /// Only integer x ticks (epochs).
    pub integer_x: bool,
    /// Total width in pixels.
    pub width: f64,
    /// Total height in pixels.
    pub height: f64,
}

impl LineChart {
    /// A chart of the default size (480 × 300) with no series.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        LineChart {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            series: Vec::new(),
            y_range: None,
            x_range: None,
            integer_x: false,
            width: 480.0,
            height: 300.0,
        }
    }

    /// The axis intervals and ticks the chart will use: `((x_lo, x_hi, x_ticks), (y_lo, y_hi, y_ticks))`.
    #[allow(clippy::type_complexity)]
    pub fn axes(&self) -> ((f64, f64, Vec<f64>), (f64, f64, Vec<f64>)) {
        let finite = |f: fn(&(f64, f64)) -> f64| {
            self.series
                .iter()
                .flat_map(|s| s.points.iter())
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .map(f)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                })
        };
        let (xl, xh) = self.x_range.unwrap_or_else(|| finite(|p| p.0));
        let (yl, yh) = self.y_range.unwrap_or_else(|| finite(|p| p.1));
        let x_axis = if self.integer_x && xh.is_finite() && xl.is_finite() {
            integer_ticks(xl, xh)
        } else if self.x_range.is_some() {
            fixed_ticks(xl, xh)
        } else {
            nice_ticks(xl, xh, 6)
        };
        let y_axis = if self.y_range.is_some() {
            fixed_ticks(yl, yh)
        } else {
            nice_ticks(yl, yh, 5)
        };
        (x_axis, y_axis)
    }

    /// Renders the chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let ((x0, x1, xt), (y0, y1, yt)) = self.axes();
        let y_step = step_of(&yt);
        let x_step = step_of(&xt);
        let y_label_w = yt
            .iter()
            .map(|v| text_width(&tick_label(*v, y_step), 11.0))
            .fold(0.0, f64::max);
        let legend_rows = self.legend_rows();
        let left = 30.0 + y_label_w + 8.0;
        let top = 30.0 + legend_rows as f64 * 18.0 + 6.0;
        let right = self.width - 16.0;
        let bottom = self.height - 44.0;
        let xs = Scale {
            domain: (x0, x1),
            range: (left, right),
        };
        let ys = Scale {
            domain: (y0, y1),
            range: (bottom, top),
        };
        let mut s = open(self.width, self.height, &self.title);
        s.push_str(&text(left, 18.0, "start", 13.0, INK, "600", &self.title));
        for &v in &yt {
            let y = ys.map(v);
            s.push_str(&line(left, y, right, y, GRID, 1.0));
            s.push_str(&text(
                left - 6.0,
                y + 4.0,
                "end",
                11.0,
                AXIS,
                "",
                &tick_label(v, y_step),
            ));
        }
        for &v in &xt {
            let x = xs.map(v);
            s.push_str(&line(x, bottom, x, bottom + 5.0, AXIS, 1.0));
            s.push_str(&text(
                x,
                bottom + 18.0,
                "middle",
                11.0,
                AXIS,
                "",
                &tick_label(v, x_step),
            ));
        }
        s.push_str(&line(left, bottom, right, bottom, AXIS, 1.0));
        s.push_str(&line(left, top, left, bottom, AXIS, 1.0));
        s.push_str(&text(
            (left + right) / 2.0,
            self.height - 8.0,
            "middle",
            12.0,
            INK,
            "",
            &self.x_label,
        ));
        let cy = (top + bottom) / 2.0;
        s.push_str(&format!(
            "<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\" fill=\"{INK}\">{}</text>",
            coord(cy),
            escape_html(&self.y_label)
        ));
        s.push_str(&format!(
            "<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>",
            self.clip_id(),
            coord(left - 4.0),
            coord(top - 4.0),
            coord(right - left + 8.0),
            coord(bottom - top + 8.0)
        ));
        s.push_str(&format!("<g clip-path=\"url(#{})\">", self.clip_id()));
        for (i, series) in self.series.iter().enumerate() {
            s.push_str(&self.render_series(series, i, &xs, &ys));
        }
        s.push_str("</g>");
        s.push_str(&self.render_legend(left, right));
        s.push_str("</svg>");
        s
    }

    fn clip_id(&self) -> String {
        // Unique enough within one page: derived from the chart's content.
        let mut h: u64 = 1469598103934665603;
        for b in self.title.bytes().chain(self.y_label.bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(1099511628211);
        }
        for s in &self.series {
            for p in &s.points {
                h = (h ^ p.1.to_bits()).wrapping_mul(1099511628211);
            }
        }
        format!("clip{h:016x}")
    }

    fn color(&self, series: &Series, i: usize) -> String {
        series
            .color
            .clone()
            .unwrap_or_else(|| PALETTE[i % PALETTE.len()].to_string())
    }

    fn render_series(&self, series: &Series, i: usize, xs: &Scale, ys: &Scale) -> String {
        let color = self.color(series, i);
        let mut d = String::new();
        let mut pen_down = false;
        for &(x, y) in &series.points {
            if x.is_finite() && y.is_finite() {
                d.push_str(if pen_down { " L" } else { " M" });
                d.push_str(&format!("{} {}", coord(xs.map(x)), coord(ys.map(y))));
                pen_down = true;
            } else {
                pen_down = false;
            }
        }
        let dash = if series.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let mut s = format!(
            "<path d=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\"{dash}/>",
            d.trim_start()
        );
        let finite: Vec<_> = series
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        if finite.len() <= 40 {
            for &&(x, y) in &finite {
                s.push_str(&format!(
                    "<circle cx=\"{}\" cy=\"{}\" r=\"2.6\" fill=\"#fff\" stroke=\"{color}\" stroke-width=\"1.6\"><title>{}: ({}, {})</title></circle>",
                    coord(xs.map(x)),
                    coord(ys.map(y)),
                    escape_html(&series.name),
                    fmt_num(x, if self.integer_x { 0 } else { 3 }),
                    fmt_num(y, 4)
                ));
            }
        }
        s
    }

    /// Number of legend rows needed at the chart's width.
    fn legend_rows(&self) -> usize {
        if self.series.is_empty() {
            return 0;
        }
        let mut rows = 1;
        let mut x = 0.0;
        let avail = self.width - 60.0;
        for s in &self.series {
            let w = legend_entry_width(&s.name);
            if x > 0.0 && x + w > avail {
                rows += 1;
                x = 0.0;
            }
            x += w;
        }
        rows
    }

    fn render_legend(&self, left: f64, right: f64) -> String {
        let mut s = String::new();
        let mut x = left;
        let mut y = 38.0;
        for (i, series) in self.series.iter().enumerate() {
            let w = legend_entry_width(&series.name);
            if x > left && x + w > right {
                x = left;
                y += 18.0;
            }
            let color = self.color(series, i);
            let dash = if series.dashed {
                " stroke-dasharray=\"5 3\""
            } else {
                ""
            };
            s.push_str(&format!(
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"2.5\"{dash}/>",
                coord(x),
                coord(y - 4.0),
                coord(x + 20.0),
                coord(y - 4.0)
            ));
            s.push_str(&text(x + 26.0, y, "start", 11.5, INK, "", &series.name));
            x += w;
        }
        s
    }
}

fn legend_entry_width(name: &str) -> f64 {
    26.0 + text_width(name, 11.5) + 18.0
}

fn step_of(ticks: &[f64]) -> f64 {
    if ticks.len() >= 2 {
        ticks[1] - ticks[0]
    } else {
        1.0
    }
}

/// Ticks for a fixed interval: five evenly spaced values from `lo` to `hi`.
fn fixed_ticks(lo: f64, hi: f64) -> (f64, f64, Vec<f64>) {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return nice_ticks(lo, hi, 5);
    }
    let (_, _, nice) = nice_ticks(lo, hi, 5);
    let inside: Vec<f64> = nice
        .into_iter()
        .filter(|v| *v >= lo - 1e-12 && *v <= hi + 1e-12)
        .collect();
    (lo, hi, inside)
}

/// Integer ticks (at most ~8) covering `[lo, hi]`.
fn integer_ticks(lo: f64, hi: f64) -> (f64, f64, Vec<f64>) {
    let lo = lo.floor();
    let hi = hi.ceil().max(lo + 1.0);
    let span = hi - lo;
    let step = [
        1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
    ]
    .into_iter()
    .find(|s| span / s <= 8.0)
    .unwrap_or_else(|| (span / 8.0).ceil());
    let first = (lo / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut v = first;
    while v <= hi + 1e-9 {
        ticks.push(v);
        v += step;
    }
    (lo, hi, ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> LineChart {
        let mut c = LineChart::new("Loss <per epoch>", "epoch", "loss");
        c.integer_x = true;
        c.series.push(Series {
            name: "train".into(),
            points: vec![(1.0, 2.3), (2.0, 1.1), (3.0, 0.4)],
            color: None,
            dashed: false,
        });
        c.series.push(Series {
            name: "val & test".into(),
            points: vec![(1.0, 2.5), (2.0, f64::NAN), (3.0, 0.6)],
            color: None,
            dashed: true,
        });
        c
    }

    #[test]
    fn axes_cover_all_finite_points() {
        let ((x0, x1, xt), (y0, y1, yt)) = chart().axes();
        assert_eq!((x0, x1), (1.0, 3.0));
        assert_eq!(xt, vec![1.0, 2.0, 3.0]);
        assert!(y0 <= 0.4 && y1 >= 2.5, "y axis [{y0}, {y1}]");
        assert_eq!(yt.first().copied(), Some(y0));
        assert_eq!(yt.last().copied(), Some(y1));
    }

    #[test]
    fn fixed_range_is_respected() {
        let mut c = chart();
        c.y_range = Some((0.0, 1.0));
        let (_, (y0, y1, yt)) = c.axes();
        assert_eq!((y0, y1), (0.0, 1.0));
        assert!(yt.iter().all(|v| (0.0..=1.0).contains(v)) && yt.len() >= 3);
    }

    #[test]
    fn render_escapes_and_breaks_lines_at_gaps() {
        let svg = chart().render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Loss &lt;per epoch&gt;"));
        assert!(svg.contains("val &amp; test"));
        assert!(!svg.contains("NaN"));
        // The second series restarts its path after the NaN: two move-to commands.
        let paths: Vec<&str> = svg
            .match_indices("<path d=\"")
            .map(|(i, _)| &svg[i..])
            .collect();
        assert_eq!(paths.len(), 2);
        assert_eq!(paths[1].split('"').nth(1).unwrap().matches('M').count(), 2);
        assert!(svg.contains("stroke-dasharray"));
        // Five circles: three train points and two finite val points.
        assert_eq!(svg.matches("<circle").count(), 5);
    }

    #[test]
    fn empty_chart_still_renders_axes() {
        let svg = LineChart::new("t", "x", "y").render();
        assert!(svg.contains("<line") && !svg.contains("<path"));
    }

    #[test]
    fn integer_ticks_thin_out_for_long_runs() {
        let (_, _, t) = integer_ticks(1.0, 100.0);
        assert!(t.len() <= 9 && t.len() >= 4, "{t:?}");
        assert!(t.iter().all(|v| v.fract() == 0.0));
    }
}
