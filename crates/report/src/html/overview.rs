//! The overview (data set and model) and training-history sections.

use super::widgets::{chart, key_values};
use super::Section;
use crate::escape::{escape_html, fmt_duration, fmt_int, fmt_num};
use crate::model::{EpochRecord, Report};
use crate::svg::line::{LineChart, Series};
use crate::svg::PALETTE;

/// Data set and model summary; `None` when neither is present.
pub(crate) fn overview(r: &Report) -> Option<Section> {
    if r.dataset.is_none() && r.model.is_none() {
        return None;
    }
    let mut body = String::from("<div class=\"facts\">");
    if let Some(d) = &r.dataset {
        let mut rows = vec![("Data set".to_string(), escape_html(&d.name))];
        if !d.input_shape.is_empty() {
            let shape: Vec<String> = d.input_shape.iter().map(|x| x.to_string()).collect();
            rows.push((
                "Input shape".into(),
                format!("<code>[{}]</code>", shape.join(", ")),
            ));
        }
        if !d.classes.is_empty() {
            let names: Vec<String> = d.classes.iter().take(12).map(|c| escape_html(c)).collect();
            let more = if d.classes.len() > 12 {
                format!(", … ({} total)", d.classes.len())
            } else {
                String::new()
            };
            rows.push((
                format!("Classes ({})", d.classes.len()),
                format!("{}{more}", names.join(", ")),
            ));
        }
        let split: Vec<String> = [
            ("train", d.n_train),
            ("validation", d.n_val),
            ("test", d.n_test),
        ]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{} {k}", fmt_int(v))))
        .collect();
        if !split.is_empty() {
            rows.push(("Samples".into(), split.join(" · ")));
        }
        rows.extend(d.extra.iter().map(|(k, v)| (k.clone(), escape_html(v))));
        body.push_str(&format!("<div><h3>Data</h3>{}</div>", key_values(&rows)));
    }
    if let Some(m) = &r.model {
        let mut rows = vec![("Parameters".to_string(), fmt_int(m.n_parameters))];
        if let Some(t) = m.training_time_secs {
            rows.push(("Training time".into(), escape_html(&fmt_duration(t))));
        }
        if let Some(o) = &m.optimizer {
            rows.push(("Optimizer".into(), escape_html(o)));
        }
        if let Some(h) = &r.history {
            if !h.epochs.is_empty() {
                rows.push(("Epochs".into(), h.epochs.len().to_string()));
            }
        }
        rows.extend(m.extra.iter().map(|(k, v)| (k.clone(), escape_html(v))));
        body.push_str(&format!(
            "<div><h3>Model</h3>{}<h3>Architecture</h3><div class=\"arch mono\">{}</div></div>",
            key_values(&rows),
            escape_html(&m.architecture)
        ));
    }
    body.push_str("</div>");
    Some(Section {
        id: "overview",
        title: "Overview",
        lead: String::new(),
        body,
    })
}

/// Loss, accuracy and learning-rate curves; `None` without epochs.
pub(crate) fn training(r: &Report) -> Option<Section> {
    let history = r.history.as_ref()?;
    let epochs = &history.epochs;
    if epochs.is_empty() {
        return None;
    }
    let pts = |f: fn(&EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        epochs
            .iter()
            .map(|e| (e.epoch as f64, f(e).unwrap_or(f64::NAN)))
            .collect()
    };
    let has = |f: fn(&EpochRecord) -> Option<f64>| {
        epochs.iter().any(|e| f(e).is_some_and(f64::is_finite))
    };
    let series = |name: &str, f: fn(&EpochRecord) -> Option<f64>, color: usize| Series {
        name: name.to_string(),
        points: pts(f),
        color: Some(PALETTE[color].to_string()),
        dashed: false,
    };
    let mut charts = Vec::new();
    let mut loss = LineChart::new("Loss", "epoch", "loss");
    loss.integer_x = true;
    if has(|e| e.train_loss) {
        loss.series.push(series("train", |e| e.train_loss, 0));
    }
    if has(|e| e.val_loss) {
        loss.series.push(series("validation", |e| e.val_loss, 1));
    }
    if !loss.series.is_empty() {
        charts.push(loss.render());
    }
    let mut acc = LineChart::new("Accuracy", "epoch", "accuracy");
    acc.integer_x = true;
    if has(|e| e.train_accuracy) {
        acc.series.push(series("train", |e| e.train_accuracy, 0));
    }
    if has(|e| e.val_accuracy) {
        acc.series.push(series("validation", |e| e.val_accuracy, 1));
    }
    if !acc.series.is_empty() {
        charts.push(acc.render());
    }
    let lrs: Vec<f64> = epochs
        .iter()
        .filter_map(|e| e.learning_rate)
        .filter(|v| v.is_finite())
        .collect();
    let lr_varies = lrs
        .windows(2)
        .any(|w| (w[0] - w[1]).abs() > 1e-15 * w[0].abs().max(1e-300));
    if lr_varies {
        let mut lr = LineChart::new("Learning rate", "epoch", "learning rate");
        lr.integer_x = true;
        lr.height = 230.0;
        lr.series
            .push(series("learning rate", |e| e.learning_rate, 2));
        charts.push(lr.render());
    }
    let mut body = format!(
        "<div class=\"grid cols-2\">{}</div>",
        charts.iter().map(|c| chart(c)).collect::<String>()
    );
    body.push_str(&best_epoch_note(epochs, &lrs, lr_varies));
    Some(Section {
        id: "training",
        title: "Training",
        lead: "Per-epoch metrics on the training and validation data.".into(),
        body,
    })
}

fn best_epoch_note(epochs: &[EpochRecord], lrs: &[f64], lr_varies: bool) -> String {
    let mut parts = Vec::new();
    let best = epochs
        .iter()
        .filter_map(|e| e.val_loss.filter(|v| v.is_finite()).map(|v| (e, v)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((e, v)) = best {
        let acc = e.val_accuracy.map_or(String::new(), |a| {
            format!(", validation accuracy {}", fmt_num(a, 4))
        });
        parts.push(format!(
            "Lowest validation loss {} at epoch {}{acc}.",
            fmt_num(v, 4),
            e.epoch
        ));
    }
    if !lr_varies {
        if let Some(lr) = lrs.first() {
            parts.push(format!("Constant learning rate {lr}."));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"legend-note\">{}</p>",
            escape_html(&parts.join(" "))
        )
    }
}
