//! HTML/XML text escaping and number formatting shared by the HTML and SVG writers.

/// Escapes `text` for use in HTML/SVG element content and in double- or single-quoted
/// attribute values: `& < > " '` become entities. Control characters other than tab and
/// newline, which are not allowed in HTML text, are dropped.
///
/// ```
/// assert_eq!(glassbox_report::escape_html("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Formats a number for display with `digits` decimals, `"–"` for NaN/infinite values.
pub(crate) fn fmt_num(value: f64, digits: usize) -> String {
    if value.is_finite() {
        let s = format!("{value:.digits$}");
        // Avoid "-0.000".
        if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
            s[1..].to_string()
        } else {
            s
        }
    } else {
        "–".to_string()
    }
}

/// Formats a fraction in `[0, 1]` as a percentage with `digits` decimals.
pub(crate) fn fmt_pct(value: f64, digits: usize) -> String {
    if value.is_finite() {
        format!("{}%", fmt_num(value * 100.0, digits))
    } else {
        "–".to_string()
    }
}

/// Formats a coordinate for SVG output (two decimals, trailing zeros trimmed).
pub(crate) fn coord(value: f64) -> String {
    if !value.is_finite() {
        return "0".to_string();
    }
    let s = format!("{value:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Formats an integer with thin thousands separators (`1 234 567`).
pub(crate) fn fmt_int(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// Formats a duration in seconds as `"1 min 23.4 s"`, `"12.3 s"` or `"450 ms"`.
pub(crate) fn fmt_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "–".to_string();
    }
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if seconds < 3600.0 {
        let m = (seconds / 60.0).floor();
        format!("{m:.0} min {:.0} s", seconds - m * 60.0)
    } else {
        let h = (seconds / 3600.0).floor();
        format!("{h:.0} h {:.0} min", (seconds - h * 3600.0) / 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape_html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape_html("plain é ✓"), "plain é ✓");
        assert_eq!(escape_html("a\u{0}b\u{7}c\nd"), "abc\nd");
    }

    #[test]
    fn number_formats() {
        assert_eq!(fmt_num(0.98765, 3), "0.988");
        assert_eq!(fmt_num(-0.0001, 2), "0.00");
        assert_eq!(fmt_num(f64::NAN, 2), "–");
        assert_eq!(fmt_pct(0.975, 1), "97.5%");
        assert_eq!(coord(1.50), "1.5");
        assert_eq!(coord(-0.001), "0");
        assert_eq!(coord(12.0), "12");
        assert_eq!(fmt_int(1234567), "1\u{2009}234\u{2009}567");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_duration(0.25), "250 ms");
        assert_eq!(fmt_duration(83.4), "1 min 23 s");
    }
}
