//! Test-set metrics, confusion matrix, per-class table and cross-validation sections.

use super::widgets::{card, chart, fraction_bar, notice};
use super::Section;
use crate::escape::{escape_html, fmt_int, fmt_num, fmt_pct};
use crate::model::Report;
use crate::svg::confusion::confusion_svg;

/// Metric cards, confusion matrix and per-class metrics; `None` when all are absent.
pub(crate) fn evaluation(r: &Report) -> Option<Section> {
    if r.test_metrics.is_none() && r.confusion.is_none() && r.per_class.is_empty() {
        return None;
    }
    let mut body = String::new();
    let mut lead = "Metrics on held-out test data".to_string();
    if let Some(m) = &r.test_metrics {
        if let Some(n) = m.n_samples {
            lead.push_str(&format!(" ({} samples)", fmt_int(n)));
        }
        let cards: Vec<String> = [
            ("Accuracy", m.accuracy, true, true),
            ("Balanced accuracy", m.balanced_accuracy, true, false),
            ("Macro precision", m.precision_macro, false, false),
            ("Macro recall", m.recall_macro, false, false),
            ("Macro F1", m.f1_macro, false, false),
            ("ROC-AUC", m.roc_auc, false, false),
            ("Log loss", m.log_loss, false, false),
        ]
        .iter()
        .filter_map(|(k, v, pct, hero)| {
            v.map(|v| card(k, &if *pct { fmt_pct(v, 2) } else { fmt_num(v, 4) }, *hero))
        })
        .collect();
        if !cards.is_empty() {
            body.push_str(&format!("<div class=\"cards\">{}</div>", cards.join("")));
        }
    }
    lead.push('.');
    let mut grid = Vec::new();
    if let Some(cm) = &r.confusion {
        let n = cm.classes.len();
        let ok = cm.counts.len() == n && cm.counts.iter().all(|row| row.len() == n) && n > 0;
        let inner = if ok {
            chart(&confusion_svg(&cm.classes, &cm.counts))
        } else {
            notice(&format!(
                "confusion matrix not shown: {n} class names but counts of shape {}×{}",
                cm.counts.len(),
                cm.counts.first().map_or(0, Vec::len)
            ))
        };
        grid.push(format!(
            "<div><h3>Confusion matrix</h3>{inner}<p class=\"legend-note\">Rows are true classes, columns predictions. \
             Blue: share of the class predicted correctly; orange: share sent to the wrong class.</p></div>"
        ));
    }
    if !r.per_class.is_empty() {
        let mut t = String::from(
            "<h3>Per-class metrics</h3><table><thead><tr><th>Class</th><th>Precision</th><th>Recall</th><th>F1</th><th>Support</th></tr></thead><tbody>",
        );
        for c in &r.per_class {
            t.push_str(&format!(
                "<tr><td class=\"text\">{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                escape_html(&c.class),
                fmt_num(c.precision, 3),
                fmt_num(c.recall, 3),
                fmt_num(c.f1, 3),
                fraction_bar(c.f1),
                fmt_int(c.support)
            ));
        }
        let n = r.per_class.len() as f64;
        let mean =
            |f: fn(&crate::model::ClassMetrics) -> f64| r.per_class.iter().map(f).sum::<f64>() / n;
        let total: u64 = r.per_class.iter().map(|c| c.support).sum();
        t.push_str(&format!(
            "<tr class=\"summary\"><td class=\"text\">macro average</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr></tbody></table>",
            fmt_num(mean(|c| c.precision), 3),
            fmt_num(mean(|c| c.recall), 3),
            fmt_num(mean(|c| c.f1), 3),
            fraction_bar(mean(|c| c.f1)),
            fmt_int(total)
        ));
        grid.push(format!("<div>{t}</div>"));
    }
    if !grid.is_empty() {
        body.push_str(&format!(
            "<div class=\"grid cols-2\">{}</div>",
            grid.join("")
        ));
    }
    Some(Section {
        id: "evaluation",
        title: "Evaluation",
        lead: escape_html(&lead),
        body,
    })
}

/// Per-fold scores with mean ± std; `None` without metrics.
pub(crate) fn cross_validation(r: &Report) -> Option<Section> {
    let cv = r.cross_validation.as_ref()?;
    if cv.metrics.is_empty() {
        return None;
    }
    let k = cv
        .metrics
        .iter()
        .map(|m| m.fold_scores.len())
        .max()
        .unwrap_or(0);
    let mut cards = String::from("<div class=\"cards\">");
    for (i, m) in cv.metrics.iter().enumerate() {
        cards.push_str(&card(
            &format!("{} (mean ± std)", m.name),
            &format!("{} ± {}", fmt_num(m.mean(), 4), fmt_num(m.std(), 4)),
            i == 0,
        ));
    }
    cards.push_str("</div>");
    let mut t = String::from("<table><thead><tr><th>Metric</th>");
    for f in 1..=k {
        t.push_str(&format!("<th>Fold {f}</th>"));
    }
    t.push_str("<th>Mean</th><th>Std</th></tr></thead><tbody>");
    for m in &cv.metrics {
        t.push_str(&format!(
            "<tr><td class=\"text\">{}</td>",
            escape_html(&m.name)
        ));
        for f in 0..k {
            t.push_str(&format!(
                "<td>{}</td>",
                m.fold_scores
                    .get(f)
                    .map_or("–".to_string(), |v| fmt_num(*v, 4))
            ));
        }
        t.push_str(&format!(
            "<td><strong>{}</strong></td><td>{}</td></tr>",
            fmt_num(m.mean(), 4),
            fmt_num(m.std(), 4)
        ));
    }
    t.push_str("</tbody></table>");
    let lead = match &cv.description {
        Some(d) => format!(
            "{}. Standard deviation is over folds (ddof = 0).",
            escape_html(d)
        ),
        None => format!("{k}-fold cross-validation. Standard deviation is over folds (ddof = 0)."),
    };
    Some(Section {
        id: "cross-validation",
        title: "Cross-validation",
        lead,
        body: format!("{cards}{t}"),
    })
}
