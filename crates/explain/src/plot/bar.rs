//! Horizontal bar charts of tabular attributions as SVG.

use glassbox_report::Colormap;

use crate::error::{ExplainError, Result};

/// Settings of [`bar_chart_svg`].
#[derive(Debug, Clone, PartialEq)]
pub struct BarChartConfig {
    /// Title drawn above the bars (empty for none).
    pub title: String,
    /// Show only the `k` largest |values| (`None` shows all).
    pub top_k: Option<usize>,
    /// Total width in pixels.
    pub width: usize,
    /// Height of one bar row in pixels.
    pub row_height: usize,
}

impl Default for BarChartConfig {
    fn default() -> Self {
        BarChartConfig {
            title: String::new(),
            top_k: Some(20),
            width: 640,
            row_height: 22,
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart of `values` labelled by `names`, sorted by |value| (largest on
/// top), red for positive and blue for negative bars around a zero line, each bar labelled
/// with its value. Returns the SVG document.
pub fn bar_chart_svg(values: &[f64], names: &[String], config: &BarChartConfig) -> Result<String> {
    const OP: &str = "bar_chart_svg";
    if values.len() != names.len() {
        return Err(ExplainError::ShapeMismatch {
            op: OP,
            what: "names",
            expected: vec![values.len()],
            found: vec![names.len()],
        });
    }
    if values.is_empty() {
        return Err(ExplainError::Empty {
            op: OP,
            what: "values",
        });
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(ExplainError::NonFinite {
            op: OP,
            what: "values",
            row: 0,
            column: i,
        });
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].abs().total_cmp(&values[a].abs()));
    order.truncate(config.top_k.unwrap_or(values.len()).max(1));
    let vmax = order.iter().fold(0.0f64, |m, &i| m.max(values[i].abs()));
    let vmax = if vmax > 0.0 { vmax } else { 1.0 };
    let any_neg = order.iter().any(|&i| values[i] < 0.0);
    let any_pos = order.iter().any(|&i| values[i] > 0.0);
    let label_w = 180.0;
    let value_w = 70.0;
    let plot_w = (config.width as f64 - label_w - 2.0 * value_w).max(50.0);
    let (zero_x, half) = match (any_neg, any_pos) {
        (true, true) => (label_w + value_w + plot_w / 2.0, plot_w / 2.0),
        (true, false) => (label_w + value_w + plot_w, plot_w),
        _ => (label_w + value_w, plot_w),
    };
    let rh = config.row_height as f64;
    let top = if config.title.is_empty() { 10.0 } else { 34.0 };
    let height = top + rh * order.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n",
        config.width
    );
    if !config.title.is_empty() {
        svg += &format!(
            "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
            config.width / 2,
            escape(&config.title)
        );
    }
    for (row, &i) in order.iter().enumerate() {
        let v = values[i];
        let y = top + rh * row as f64;
        let len = v.abs() / vmax * half;
        let x = if v >= 0.0 { zero_x } else { zero_x - len };
        let color = Colormap::Diverging.hex(if v >= 0.0 { 0.9 } else { 0.1 });
        svg += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            label_w - 6.0,
            y + rh * 0.7,
            escape(&names[i])
        );
        svg += &format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{len:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\n",
            y + 2.0,
            rh - 4.0
        );
        let (tx, anchor) = if v >= 0.0 {
            (zero_x + len + 4.0, "start")
        } else {
            (zero_x - len - 4.0, "end")
        };
        svg += &format!(
            "<text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{v:.4}</text>\n",
            y + rh * 0.7
        );
    }
    svg += &format!(
        "<line x1=\"{zero_x:.1}\" y1=\"{top:.1}\" x2=\"{zero_x:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\n</svg>\n",
        top + rh * order.len() as f64
    );
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_sorted_coloured_and_escaped() {
        let names: Vec<String> = vec!["a<b".into(), "big".into(), "neg".into()];
        let svg = bar_chart_svg(&[0.1, 2.0, -1.0], &names, &BarChartConfig::default()).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let big = svg.find(">big<").unwrap();
        let neg = svg.find(">neg<").unwrap();
        let ab = svg.find(">a&lt;b<").unwrap();
        assert!(big < neg && neg < ab);
        assert_eq!(svg.matches("#b2182b").count(), 2);
        assert_eq!(svg.matches("#2166ac").count(), 1);
        let top1 = bar_chart_svg(
            &[0.1, 2.0, -1.0],
            &names,
            &BarChartConfig {
                top_k: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(top1.matches("<rect").count(), 1);
    }
}
