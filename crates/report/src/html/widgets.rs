//! Small HTML building blocks shared by the sections.

use crate::escape::escape_html;

/// Escapes `text`, rendering spans between backticks as `<code>`.
pub(crate) fn inline_code(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<code>{}</code>", escape_html(part)));
        } else {
            out.push_str(&escape_html(part));
        }
    }
    out
}

/// A metric card: big value, small label; long values get a double-width card.
pub(crate) fn card(label: &str, value: &str, hero: bool) -> String {
    format!(
        "<div class=\"card{}{}\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
        if hero { " hero" } else { "" },
        if value.chars().count() > 9 {
            " wide"
        } else {
            ""
        },
        escape_html(value),
        escape_html(label)
    )
}

/// A `<dl>` of label/value pairs (values already escaped HTML).
pub(crate) fn key_values(rows: &[(String, String)]) -> String {
    let mut s = String::from("<dl class=\"kv\">");
    for (k, v) in rows {
        s.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape_html(k), v));
    }
    s.push_str("</dl>");
    s
}

/// An inline horizontal bar showing a fraction in `[0, 1]`.
pub(crate) fn fraction_bar(frac: f64) -> String {
    let pct = if frac.is_finite() {
        (frac.clamp(0.0, 1.0) * 100.0).round()
    } else {
        0.0
    };
    format!("<span class=\"bar\" aria-hidden=\"true\"><i style=\"width:{pct}%\"></i></span>")
}

/// A visible notice for a part that could not be rendered.
pub(crate) fn notice(message: &str) -> String {
    format!(
        "<div class=\"notice\" role=\"alert\">{}</div>",
        escape_html(message)
    )
}

/// Wraps an SVG in a scrollable chart container.
pub(crate) fn chart(svg: &str) -> String {
    format!("<div class=\"chart\">{svg}</div>")
}
