//! The text page: tokens highlighted by attribution with the report's diverging colormap
//! (the score in each token's `title`), a method switcher per text, and the faithfulness
//! table.

use super::widgets::{chart, notice};
use super::Section;
use crate::colormap::Colormap;
use crate::escape::{escape_html, fmt_num};
use crate::model::Report;
use crate::model_text::{FaithfulnessTable, TextAttribution, TextSample, TokenScore};
use crate::svg::colorbar::colorbar_svg;

/// Width of each method's colour bar, in CSS pixels.
const COLORBAR_PX: f64 = 260.0;

/// The switcher's script: a click on a method button shows that method's panel of the same
/// text and hides the others (`hidden`), and marks the button `aria-selected`.
pub(crate) const SWITCH_JS: &str = r#"
document.addEventListener("click", function (ev) {
  var b = ev.target.closest ? ev.target.closest("button[data-tx-method]") : null;
  if (!b) { return; }
  var sample = b.closest(".tx-sample");
  var m = b.getAttribute("data-tx-method");
  sample.querySelectorAll("button[data-tx-method]").forEach(function (o) {
    o.setAttribute("aria-selected", o === b ? "true" : "false");
  });
  sample.querySelectorAll(".tx-panel").forEach(function (p) {
    p.hidden = p.getAttribute("data-tx-method") !== m;
  });
});
"#;

/// Token attributions of texts; `None` without samples.
pub(crate) fn attributions(r: &Report) -> Option<Section> {
    let t = r.text_explanations.as_ref()?;
    if t.samples.is_empty() {
        return None;
    }
    let mut body = String::new();
    if let Err(e) = t.validate() {
        body.push_str(&notice(&e.to_string()));
    } else {
        for (i, s) in t.samples.iter().enumerate() {
            body.push_str(&sample(i, s));
        }
    }
    body.push_str(
        "<p class=\"legend-note\">Red tokens raise the explained output, blue tokens lower it \
         (the report's diverging scale, limited at each method's largest |score|); hover a \
         token for its score. Attention rollout is a heuristic over attention weights, shown \
         beside the gradient and perturbation methods, not an explanation.</p>",
    );
    let lead = match &t.note {
        Some(n) => escape_html(n),
        None => "Token attributions of each text, one method at a time.".to_string(),
    };
    Some(Section {
        id: "text-attributions",
        title: "Text attributions",
        lead,
        body,
    })
}

fn sample(i: usize, s: &TextSample) -> String {
    let mut h = format!(
        "<div class=\"tx-sample\" id=\"tx-{i}\"><p class=\"tx-target\">{}</p>",
        escape_html(&s.target)
    );
    h.push_str("<div class=\"tx-switch\" role=\"tablist\" aria-label=\"Method\">");
    let mut family = "";
    for (k, m) in s.methods.iter().enumerate() {
        if m.family != family {
            family = &m.family;
            h.push_str(&format!(
                "<span class=\"tx-family\">{}</span>",
                escape_html(family)
            ));
        }
        h.push_str(&format!(
            "<button type=\"button\" role=\"tab\" data-tx-method=\"{0}\" aria-selected=\"{1}\">{0}</button>",
            escape_html(&m.method),
            k == 0
        ));
    }
    h.push_str("</div>");
    for (k, m) in s.methods.iter().enumerate() {
        h.push_str(&panel(&s.text, m, k == 0));
    }
    h.push_str("</div>");
    h
}

/// The colour limit of a method: its largest |score| (1 when all are zero).
fn limit(m: &TextAttribution) -> f64 {
    let l = m.tokens.iter().fold(0f64, |a, t| a.max(t.score.abs()));
    if l > 0.0 {
        l
    } else {
        1.0
    }
}

fn token_span(text: &str, tokens: &[&TokenScore], lim: f64, class: &str) -> String {
    let score: f64 = tokens.iter().map(|t| t.score).sum();
    let cmap = Colormap::Diverging;
    let pos = cmap.position(score, lim);
    let ink = if (pos - 0.5).abs() > 0.3 {
        "#fff"
    } else {
        "#111"
    };
    let title: Vec<String> = tokens
        .iter()
        .map(|t| {
            if t.special {
                format!("{} · score {:+.4e}", t.token, t.score)
            } else {
                format!(
                    "{} · chars {}..{} · score {:+.4e}",
                    t.token, t.start, t.end, t.score
                )
            }
        })
        .collect();
    format!(
        "<span class=\"{class}\" style=\"background:{};color:{ink}\" title=\"{}\" data-score=\"{score}\">{}</span>",
        cmap.hex(pos),
        escape_html(&title.join("\n")),
        escape_html(text)
    )
}

/// One method's highlighted text: special tokens as chips before and after, the text's
/// characters between tokens as they are, and tokens sharing characters in one span.
fn panel(text: &str, m: &TextAttribution, shown: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lim = limit(m);
    let first_real = m.tokens.iter().position(|t| !t.special);
    let mut lead = String::new();
    let mut tail = String::new();
    // Runs of non-special tokens whose spans overlap: (start, end, tokens).
    let mut runs: Vec<(usize, usize, Vec<&TokenScore>)> = Vec::new();
    for (k, t) in m.tokens.iter().enumerate() {
        if t.special {
            let chip = token_span(&t.token, &[t], lim, "tok special");
            if first_real.is_none_or(|f| k < f) {
                lead.push_str(&chip);
            } else {
                tail.push_str(&chip);
            }
            continue;
        }
        match runs.last_mut() {
            Some(r) if t.start < r.1 => {
                r.1 = r.1.max(t.end);
                r.2.push(t);
            }
            _ => runs.push((t.start, t.end, vec![t])),
        }
    }
    let mut body = String::new();
    let mut cursor = 0;
    for (s, e, toks) in &runs {
        let s = (*s).max(cursor);
        body.push_str(&escape_html(&chars[cursor..s].iter().collect::<String>()));
        body.push_str(&token_span(
            &chars[s..*e].iter().collect::<String>(),
            toks,
            lim,
            "tok",
        ));
        cursor = *e;
    }
    body.push_str(&escape_html(&chars[cursor..].iter().collect::<String>()));
    let mut facts = format!("colour limit ±{}", fmt_num(lim, 4));
    if let Some(d) = &m.delta {
        facts.push_str(&format!(
            " · {} {:+.2e}",
            escape_html(&d.name.replace('_', " ")),
            d.value
        ));
    }
    if let Some(sec) = m.seconds {
        facts.push_str(&format!(" · {} s", fmt_num(sec, 3)));
    }
    format!(
        "<div class=\"tx-panel\" role=\"tabpanel\" data-tx-method=\"{}\"{}>\
         <p class=\"tx-text\">{lead}{body}{tail}</p>\
         <div class=\"tx-legend\">{}<span>{facts}</span></div></div>",
        escape_html(&m.method),
        if shown { "" } else { " hidden" },
        chart(&colorbar_svg(Colormap::Diverging, lim, COLORBAR_PX)),
    )
}

/// The faithfulness table; `None` without rows.
pub(crate) fn faithfulness(r: &Report) -> Option<Section> {
    let t: &FaithfulnessTable = r.faithfulness.as_ref()?;
    if t.rows.is_empty() {
        return None;
    }
    let with_time = t.rows.iter().any(|r| r.seconds_per_text.is_some());
    let mut h = String::from(
        "<table class=\"tx-faith\"><thead><tr><th>method</th><th>comprehensiveness ↑</th>\
         <th>sufficiency ↓</th><th>deletion AUC ↓</th><th>insertion AUC ↑</th><th>texts</th>",
    );
    if with_time {
        h.push_str("<th>s / text</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        let baseline = row.method == "random";
        h.push_str(&format!(
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            if baseline { " class=\"baseline\"" } else { "" },
            escape_html(&row.method),
            fmt_num(row.comprehensiveness, 4),
            fmt_num(row.sufficiency, 4),
            fmt_num(row.deletion_auc, 4),
            fmt_num(row.insertion_auc, 4),
            row.texts
        ));
        if with_time {
            h.push_str(&format!(
                "<td>{}</td>",
                row.seconds_per_text.map_or("–".into(), |s| fmt_num(s, 4))
            ));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h.push_str(
        "<p class=\"legend-note\">ERASER (DeYoung et al. 2020): comprehensiveness is the mean \
         drop of the explained probability when the top 1, 5, 10, 20 and 50% of the features \
         by score are removed; sufficiency the drop when only they are kept. Deletion and \
         insertion AUC: area under the probability as features are removed from (added to) \
         the text in score order. The random row ranks features at random: a method is \
         faithful as far as it beats it.</p>",
    );
    let lead = match &t.note {
        Some(n) => escape_html(n),
        None => "Faithfulness of each method, next to random rankings.".to_string(),
    };
    Some(Section {
        id: "faithfulness",
        title: "Faithfulness",
        lead,
        body: h,
    })
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
