//! Explanation sections: image attributions, feature-importance charts, extracted rules and
//! explanation checks.

use super::widgets::{card, chart, fraction_bar, notice};
use super::Section;
use crate::base64::data_uri;
use crate::escape::{escape_html, fmt_num, fmt_pct};
use crate::model::{CurveKind, ImageExplanation, Report};
use crate::png_image::{grayscale_png, heatmap_overlay_png, MAX_UPSCALE};
use crate::svg::bars::{Bar, BarChart};
use crate::svg::colorbar::colorbar_svg;
use crate::svg::line::{LineChart, Series};
use crate::svg::PALETTE;
use crate::validate::MAX_IMAGE_SIDE;

/// Target displayed size of each picture's longer side, in CSS pixels.
const PICTURE_PX: usize = 168;
/// Largest displayed width of a picture, in CSS pixels.
const MAX_DISPLAY_PX: usize = 256;

/// The integer upscale that brings an image's longer side closest to [`PICTURE_PX`]
/// (at least 1, at most [`MAX_UPSCALE`], never beyond [`MAX_IMAGE_SIDE`] pixels).
pub(crate) fn upscale_for(width: usize, height: usize) -> u32 {
    let side = width.max(height).max(1);
    let s = ((PICTURE_PX as f64 / side as f64).round() as usize).clamp(1, MAX_UPSCALE as usize);
    s.min((MAX_IMAGE_SIDE / side).max(1)) as u32
}

/// Displayed width of a picture of `width` image pixels at upscale `s`: the PNG's own width
/// (so upscaled pixels stay square and even), capped at [`MAX_DISPLAY_PX`].
pub(crate) fn display_width(width: usize, s: u32) -> usize {
    (width * s as usize).min(MAX_DISPLAY_PX)
}

/// Input images with their attribution overlays; `None` without samples.
pub(crate) fn images(r: &Report) -> Option<Section> {
    if r.image_explanations.is_empty() {
        return None;
    }
    let mut methods: Vec<&str> = Vec::new();
    for m in r
        .image_explanations
        .iter()
        .flat_map(|e| e.attributions.iter())
    {
        if !methods.contains(&m.method.as_str()) {
            methods.push(&m.method);
        }
    }
    let mut body = String::from("<div class=\"samples\">");
    for ex in &r.image_explanations {
        body.push_str(&sample(ex));
    }
    body.push_str("</div><p class=\"legend-note\">Signed attributions use a diverging scale (red raises the predicted \
                   class score, blue lowers it); non-negative maps such as Grad-CAM use a sequential scale. Colours are \
                   clipped at the 99th percentile of |attribution| of each map.</p>");
    let lead = if methods.is_empty() {
        "Input samples and the model's predictions.".to_string()
    } else {
        format!(
            "Each sample's input next to its attribution maps ({}).",
            escape_html(&methods.join(", "))
        )
    };
    Some(Section {
        id: "image-explanations",
        title: "Image explanations",
        lead,
        body,
    })
}

fn sample(ex: &ImageExplanation) -> String {
    let mut s = String::from("<article class=\"sample\"><div class=\"sample-meta\">");
    s.push_str(&format!("<strong>{}</strong>", escape_html(&ex.label)));
    let conf = ex
        .confidence
        .map_or(String::new(), |c| format!(" ({})", fmt_pct(c, 1)));
    s.push_str(&format!(
        "<span class=\"tag\">predicted <b>{}</b>{conf}</span>",
        escape_html(&ex.predicted)
    ));
    if let Some(actual) = &ex.actual {
        let ok = *actual == ex.predicted;
        s.push_str(&format!(
            "<span class=\"tag {}\">true <b>{}</b> {}</span>",
            if ok { "ok" } else { "no" },
            escape_html(actual),
            if ok { "✓ correct" } else { "✗ wrong" }
        ));
    }
    s.push_str("</div><div class=\"strip\">");
    let scale = upscale_for(ex.image.width, ex.image.height);
    let px = display_width(ex.image.width, scale);
    match grayscale_png(&ex.image, scale) {
        Ok(png) => s.push_str(&format!(
            "<figure style=\"width:{px}px\"><div class=\"method\">Input</div><img src=\"{}\" alt=\"input image\" width=\"{px}\"><figcaption>{}×{} pixels</figcaption></figure>",
            data_uri("image/png", &png),
            ex.image.width,
            ex.image.height
        )),
        Err(e) => {
            s.push_str(&notice(&e.to_string()));
            s.push_str("</div></article>");
            return s;
        }
    }
    for map in &ex.attributions {
        match heatmap_overlay_png(&ex.image, map, scale) {
            Ok(png) => {
                let cmap = map.effective_colormap();
                let mut small = Vec::new();
                if (map.width, map.height) != (ex.image.width, ex.image.height) {
                    small.push(format!("{}×{} map, upsampled", map.width, map.height));
                }
                if let Some(n) = &map.note {
                    small.push(escape_html(n));
                }
                s.push_str(&format!(
                    "<figure style=\"width:{px}px\"><div class=\"method\">{method}</div><img src=\"{}\" alt=\"{method} attribution overlay\" width=\"{px}\">{}<figcaption>{}</figcaption></figure>",
                    data_uri("image/png", &png),
                    colorbar_svg(cmap, map.color_limit(), px.max(120) as f64),
                    small.join("<br>"),
                    method = escape_html(&map.method),
                ));
            }
            Err(e) => s.push_str(&notice(&e.to_string())),
        }
    }
    s.push_str("</div></article>");
    s
}

/// Feature-importance bar charts; `None` without charts.
pub(crate) fn features(r: &Report) -> Option<Section> {
    if r.tabular_attributions.is_empty() {
        return None;
    }
    let mut blocks = Vec::new();
    for (i, fc) in r.tabular_attributions.iter().enumerate() {
        let mut feats: Vec<_> = fc.features.iter().collect();
        feats.sort_by(|a, b| b.value.total_cmp(&a.value));
        if let Some(k) = fc.max_features {
            feats.truncate(k);
        }
        let mut bc = BarChart::new(&fc.title, &fc.value_label);
        bc.color = PALETTE[i % 3].to_string();
        bc.bars = feats
            .iter()
            .map(|f| Bar {
                label: f.name.clone(),
                value: f.value,
                error: f.error,
            })
            .collect();
        let desc = fc.description.as_ref().map_or(String::new(), |d| {
            format!("<p class=\"legend-note\">{}</p>", escape_html(d))
        });
        let hidden = fc.features.len() - feats.len();
        let more = if hidden > 0 {
            format!("<p class=\"legend-note\">{hidden} smaller features not shown.</p>")
        } else {
            String::new()
        };
        blocks.push(format!("<div>{}{desc}{more}</div>", chart(&bc.render())));
    }
    Some(Section {
        id: "feature-importance",
        title: "Feature importance",
        lead: "Global feature importance of the tabular model, largest first; error bars show ± one standard deviation.".into(),
        body: format!("<div class=\"grid cols-2\">{}</div>", blocks.join("")),
    })
}

/// Extracted rules and surrogate fidelity; `None` without a rule set.
pub(crate) fn rules(r: &Report) -> Option<Section> {
    let rs = r.rules.as_ref()?;
    let mut body = String::from("<div class=\"cards\">");
    body.push_str(&card("Surrogate fidelity", &fmt_pct(rs.fidelity, 1), true));
    body.push_str(&card("Rules", &rs.rules.len().to_string(), false));
    body.push_str("</div>");
    let mut t = String::from(
        "<table class=\"rules\"><thead><tr><th>#</th><th style=\"text-align:left\">Rule</th><th>Coverage</th><th>Accuracy</th></tr></thead><tbody>",
    );
    for (i, rule) in rs.rules.iter().enumerate() {
        t.push_str(&format!(
            "<tr><td>{}</td><td class=\"text\">{}</td><td>{}{}</td><td>{}</td></tr>",
            i + 1,
            escape_html(&rule.text),
            fmt_pct(rule.coverage, 1),
            fraction_bar(rule.coverage),
            fmt_pct(rule.accuracy, 1)
        ));
    }
    t.push_str("</tbody></table>");
    body.push_str(&t);
    let mut lead = String::from("Human-readable rules from a surrogate trained to mimic the model");
    if let Some(s) = &rs.surrogate {
        lead.push_str(&format!(" ({s})"));
    }
    lead.push_str(". Fidelity is the share of samples on which surrogate and model agree");
    if let Some(d) = &rs.fidelity_data {
        lead.push_str(&format!(", measured on {d}"));
    }
    lead.push_str("; coverage is the share of samples a rule applies to, accuracy how often its conclusion matches the model there.");
    Some(Section {
        id: "rules",
        title: "Extracted rules",
        lead: escape_html(&lead),
        body,
    })
}

/// Sanity checks and deletion/insertion curves; `None` when both are empty.
pub(crate) fn checks(r: &Report) -> Option<Section> {
    let c = r.checks.as_ref()?;
    if c.sanity.is_empty() && c.curves.is_empty() {
        return None;
    }
    let mut body = String::new();
    if !c.sanity.is_empty() {
        body.push_str("<h3>Model-randomisation sanity check</h3><table><thead><tr><th>Method</th><th>Spearman ρ</th><th>Pass if |ρ| &lt;</th><th>Result</th><th style=\"text-align:left\">Detail</th></tr></thead><tbody>");
        for s in &c.sanity {
            body.push_str(&format!(
                "<tr><td class=\"text\">{}</td><td>{}</td><td>{}</td><td><span class=\"badge {}\">{}</span></td><td class=\"text\">{}</td></tr>",
                escape_html(&s.method),
                fmt_num(s.spearman, 3),
                fmt_num(s.threshold, 2),
                if s.passed { "pass" } else { "fail" },
                if s.passed { "PASS" } else { "FAIL" },
                escape_html(s.detail.as_deref().unwrap_or(""))
            ));
        }
        body.push_str("</tbody></table><p class=\"legend-note\">ρ is the rank correlation between the attributions of \
                       the trained model and of the same model with randomly re-initialised weights. A faithful method's attributions \
                       must change when the weights do (Adebayo et al., 2018), so a low |ρ| passes.</p>");
    }
    if !c.curves.is_empty() {
        let mut charts = Vec::new();
        for curve in &c.curves {
            let mut lc = LineChart::new(
                &format!("{} curve", curve.kind.title()),
                &format!(
                    "fraction of features {}",
                    if curve.kind == CurveKind::Deletion {
                        "deleted"
                    } else {
                        "inserted"
                    }
                ),
                if curve.score_label.is_empty() {
                    "model score"
                } else {
                    &curve.score_label
                },
            );
            lc.x_range = Some((0.0, 1.0));
            for (i, s) in curve.series.iter().enumerate() {
                let random = s.name.to_lowercase().contains("random");
                lc.series.push(Series {
                    name: format!("{} (AUC {})", s.name, fmt_num(s.area(), 3)),
                    points: s
                        .fractions
                        .iter()
                        .copied()
                        .zip(s.scores.iter().copied())
                        .collect(),
                    color: Some(if random {
                        "#7b8494".to_string()
                    } else {
                        PALETTE[i % PALETTE.len()].to_string()
                    }),
                    dashed: random,
                });
            }
            let better = if curve.kind == CurveKind::Deletion {
                "lower AUC is better"
            } else {
                "higher AUC is better"
            };
            charts.push(format!(
                "<div>{}<p class=\"legend-note\">{}: {better}.</p></div>",
                chart(&lc.render()),
                curve.kind.title()
            ));
        }
        body.push_str(&format!(
            "<h3>Faithfulness: deletion and insertion</h3><div class=\"grid cols-2\">{}</div>",
            charts.join("")
        ));
    }
    Some(Section {
        id: "checks",
        title: "Explanation checks",
        lead: "Do the explanations reflect what the model actually computes?".into(),
        body,
    })
}
