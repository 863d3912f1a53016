//! A small horizontal colour bar with tick labels, drawn as SVG rectangles.

use super::{open, text, AXIS};
use crate::colormap::Colormap;
use crate::escape::coord;

/// Number of colour steps in the bar.
const STEPS: usize = 40;

/// A colour bar `width` pixels wide for `cmap` with colour limit `limit`: labelled
/// `−limit, 0, +limit` for a diverging map and `0, limit` for a sequential one.
pub fn colorbar_svg(cmap: Colormap, limit: f64, width: f64) -> String {
    let h = 30.0;
    let bar_h = 9.0;
    let (x0, x1) = (4.0, width - 4.0);
    let step_w = (x1 - x0) / STEPS as f64;
    let mut s = open(width, h, &format!("{} colour scale", cmap.name()));
    for i in 0..STEPS {
        let t = (i as f64 + 0.5) / STEPS as f64;
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"2\" width=\"{}\" height=\"{bar_h}\" fill=\"{}\"/>",
            coord(x0 + i as f64 * step_w),
            coord(step_w + 0.3),
            cmap.hex(t)
        ));
    }
    s.push_str(&format!(
        "<rect x=\"{}\" y=\"2\" width=\"{}\" height=\"{bar_h}\" fill=\"none\" stroke=\"#c3c9d2\" stroke-width=\"0.6\"/>",
        coord(x0),
        coord(x1 - x0)
    ));
    let lab = format_limit(limit);
    let y = 2.0 + bar_h + 12.0;
    match cmap {
        Colormap::Diverging => {
            s.push_str(&text(x0, y, "start", 10.0, AXIS, "", &format!("−{lab}")));
            s.push_str(&text((x0 + x1) / 2.0, y, "middle", 10.0, AXIS, "", "0"));
            s.push_str(&text(x1, y, "end", 10.0, AXIS, "", &format!("+{lab}")));
        }
        Colormap::Sequential => {
            s.push_str(&text(x0, y, "start", 10.0, AXIS, "", "0"));
            s.push_str(&text(x1, y, "end", 10.0, AXIS, "", &lab));
        }
    }
    s.push_str("</svg>");
    s
}

/// Three significant digits, scientific for very small or large limits.
fn format_limit(limit: f64) -> String {
    if !limit.is_finite() {
        return "–".into();
    }
    let a = limit.abs();
    if a != 0.0 && !(1e-3..1e4).contains(&a) {
        format!("{limit:.2e}")
    } else {
        let decimals = if a == 0.0 {
            0
        } else {
            (2 - a.log10().floor() as i32).clamp(0, 6) as usize
        };
        format!("{limit:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_bar_is_labelled_symmetrically() {
        let svg = colorbar_svg(Colormap::Diverging, 0.0123, 150.0);
        assert!(svg.contains(">−0.0123<") && svg.contains(">+0.0123<") && svg.contains(">0<"));
        assert_eq!(svg.matches("<rect").count(), STEPS + 1);
        // Left end is blue, right end red.
        assert!(svg.contains(&Colormap::Diverging.hex(0.5 / STEPS as f64)));
    }

    #[test]
    fn sequential_bar_runs_from_zero() {
        let svg = colorbar_svg(Colormap::Sequential, 2.5, 150.0);
        assert!(svg.contains(">0<") && svg.contains(">2.50<"));
        assert_eq!(format_limit(12345.0), "1.23e4");
    }
}
