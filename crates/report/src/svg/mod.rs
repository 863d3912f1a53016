//! Hand-written inline SVG charts. Every chart is a standalone `<svg>` element using
//! presentation attributes only (no CSS classes), so it renders the same inline in the
//! report or saved as an `.svg` file.

pub mod axis;
pub mod bars;
pub mod colorbar;
pub mod confusion;
pub mod line;

use crate::escape::{coord, escape_html};

/// Colour-blind-safe categorical palette (Okabe–Ito, reordered for contrast on white).
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// Colour of axis lines and tick labels.
pub(crate) const AXIS: &str = "#5b6472";
/// Colour of grid lines.
pub(crate) const GRID: &str = "#e6e9ef";
/// Colour of titles and labels.
pub(crate) const INK: &str = "#1f2937";
/// Font stack used inside SVGs.
pub(crate) const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/// Opens an `<svg>` element with a viewBox of `width × height` that scales to its container.
pub(crate) fn open(width: f64, height: f64, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         role=\"img\" aria-label=\"{label}\" font-family=\"{FONT}\">",
        w = coord(width),
        h = coord(height),
        label = escape_html(label),
    )
}

/// A `<text>` element with escaped content.
pub(crate) fn text(
    x: f64,
    y: f64,
    anchor: &str,
    size: f64,
    fill: &str,
    weight: &str,
    content: &str,
) -> String {
    format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"{}\" fill=\"{fill}\"{}>{}</text>",
        coord(x),
        coord(y),
        coord(size),
        if weight.is_empty() { String::new() } else { format!(" font-weight=\"{weight}\"") },
        escape_html(content)
    )
}

/// A `<line>` element.
pub(crate) fn line(x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) -> String {
    format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
        coord(x1),
        coord(y1),
        coord(x2),
        coord(y2),
        coord(width)
    )
}

/// Rough width in pixels of `text` at font size `size` (proportional sans-serif average).
pub(crate) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

/// `text` cut to at most `max_chars` characters, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}
