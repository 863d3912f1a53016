//! The confusion matrix as a coloured grid of counts.

use super::{open, text, text_width, truncate, AXIS, INK};
use crate::escape::{coord, escape_html, fmt_int, fmt_pct};

/// Renders `counts` (row = true class, column = predicted class) as an `<svg>` grid.
///
/// Cells are shaded by the row-normalised fraction (the share of each true class that went
/// to each prediction), so classes of different sizes are comparable; each cell shows its
/// count. Diagonal cells use a blue scale, off-diagonal (error) cells an orange one.
/// The caller must pass a square matrix matching `classes` (see `Report::validate`);
/// missing cells are drawn as zero.
pub fn confusion_svg(classes: &[String], counts: &[Vec<u64>]) -> String {
    let n = classes.len();
    let cell = (460.0 / n.max(1) as f64).clamp(18.0, 46.0);
    let font = (cell * 0.3).clamp(8.0, 13.0);
    let labels: Vec<String> = classes.iter().map(|c| truncate(c, 16)).collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l, 11.5))
        .fold(12.0, f64::max);
    let rotate = labels.iter().any(|l| text_width(l, 11.5) > cell - 4.0);
    let left = 26.0 + label_w + 10.0;
    let top = 26.0 + if rotate { label_w * 0.75 + 10.0 } else { 22.0 };
    let grid = cell * n as f64;
    let width = left + grid + 20.0;
    let height = top + grid + 30.0;
    let mut s = open(width, height, "Confusion matrix");
    // Column (predicted) labels and axis title.
    s.push_str(&text(
        left + grid / 2.0,
        14.0,
        "middle",
        12.0,
        INK,
        "600",
        "Predicted class",
    ));
    for (j, l) in labels.iter().enumerate() {
        let x = left + (j as f64 + 0.5) * cell;
        if rotate {
            s.push_str(&format!(
                "<text transform=\"translate({} {}) rotate(-45)\" text-anchor=\"start\" font-size=\"11.5\" fill=\"{AXIS}\">{}</text>",
                coord(x - 2.0),
                coord(top - 6.0),
                escape_html(l)
            ));
        } else {
            s.push_str(&text(x, top - 8.0, "middle", 11.5, AXIS, "", l));
        }
    }
    s.push_str(&format!(
        "<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"600\" fill=\"{INK}\">True class</text>",
        coord(top + grid / 2.0)
    ));
    for (i, l) in labels.iter().enumerate() {
        s.push_str(&text(
            left - 8.0,
            top + (i as f64 + 0.5) * cell + 4.0,
            "end",
            11.5,
            AXIS,
            "",
            l,
        ));
    }
    for i in 0..n {
        let row = counts.get(i);
        let total: u64 = row.map_or(0, |r| r.iter().sum());
        for j in 0..n {
            let c = row.and_then(|r| r.get(j)).copied().unwrap_or(0);
            let frac = if total > 0 {
                c as f64 / total as f64
            } else {
                0.0
            };
            let (fill, dark) = cell_color(frac, i == j);
            let (x, y) = (left + j as f64 * cell, top + i as f64 * cell);
            s.push_str(&format!(
                "<g><title>true {} → predicted {}: {} ({} of the true class)</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"1\"/>",
                escape_html(&classes[i]),
                escape_html(&classes[j]),
                c,
                fmt_pct(frac, 1),
                coord(x),
                coord(y),
                coord(cell),
                coord(cell)
            ));
            if c > 0 || n <= 12 {
                let color = if dark {
                    "#ffffff"
                } else if c == 0 {
                    "#9aa3af"
                } else {
                    INK
                };
                s.push_str(&text(
                    x + cell / 2.0,
                    y + cell / 2.0 + font * 0.36,
                    "middle",
                    font,
                    color,
                    if i == j { "600" } else { "" },
                    &fmt_int(c),
                ));
            }
            s.push_str("</g>");
        }
    }
    s.push_str(&format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{AXIS}\" stroke-width=\"1\"/>",
        coord(left),
        coord(top),
        coord(grid),
        coord(grid)
    ));
    s.push_str("</svg>");
    s
}

/// Fill colour for a cell holding fraction `frac` of its row, and whether text on it must be
/// white. Diagonal: white → deep blue; off-diagonal: white → orange-red, saturating at 30%.
fn cell_color(frac: f64, diagonal: bool) -> (String, bool) {
    let (t, hi) = if diagonal {
        (frac, [0x1d, 0x4e, 0x89])
    } else {
        ((frac / 0.3).min(1.0), [0xd9, 0x48, 0x1c])
    };
    if frac == 0.0 {
        return ("#f8fafc".to_string(), false);
    }
    let t = 0.12 + 0.88 * t;
    let lo = [0xf8u8, 0xfa, 0xfc];
    let mix =
        |k: usize| (f64::from(lo[k]) + (f64::from(hi[k]) - f64::from(lo[k])) * t).round() as u8;
    let rgb = [mix(0), mix(1), mix(2)];
    let lum = 0.2126 * f64::from(rgb[0]) + 0.7152 * f64::from(rgb[1]) + 0.0722 * f64::from(rgb[2]);
    (
        format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]),
        lum < 140.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_has_a_rect_and_its_count() {
        let classes = vec!["cat".to_string(), "dog".to_string(), "<b>".to_string()];
        let counts = vec![vec![5, 1, 0], vec![2, 7, 1], vec![0, 0, 9]];
        let svg = confusion_svg(&classes, &counts);
        // 9 cells + the outline.
        assert_eq!(svg.matches("<rect").count(), 10);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        for c in ["5", "7", "9", "2"] {
            assert!(svg.contains(&format!(">{c}</text>")), "count {c} missing");
        }
        assert!(svg.contains("true dog → predicted cat: 2 (20.0% of the true class)"));
    }

    #[test]
    fn cell_colours_get_darker_with_the_fraction() {
        let (light, _) = cell_color(0.1, true);
        let (dark, white_text) = cell_color(1.0, true);
        assert_ne!(light, dark);
        assert!(white_text);
        assert_eq!(cell_color(0.0, false).0, "#f8fafc");
    }
}
