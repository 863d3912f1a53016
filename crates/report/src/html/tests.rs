//! Tests of the whole-document rendering: sections appear exactly when they have data,
//! text is escaped everywhere, images are embedded.

use crate::model::*;
use crate::SECTION_IDS;

fn section_present(html: &str, id: &str) -> bool {
    html.contains(&format!("<section id=\"{id}\">"))
}

/// A report with every section filled.
pub(crate) fn full_report() -> Report {
    let image = GrayImage {
        width: 4,
        height: 4,
        pixels: (0..16).map(|i| i as f32).collect(),
        value_range: None,
        invert: false,
    };
    Report {
        title: "Full <report>".into(),
        subtitle: Some("`glassbox demo`".into()),
        footer: Some("footer".into()),
        dataset: Some(DatasetSummary {
            name: "toy".into(),
            input_shape: vec![1, 4, 4],
            classes: vec!["a".into(), "b".into()],
            n_train: Some(10),
            n_val: None,
            n_test: Some(4),
            extra: vec![],
        }),
        model: Some(ModelSummary {
            architecture: "Linear(16→2)".into(),
            n_parameters: 34,
            training_time_secs: Some(1.5),
            optimizer: None,
            extra: vec![],
        }),
        history: Some(TrainingHistory {
            epochs: vec![EpochRecord {
                epoch: 1,
                train_loss: Some(0.5),
                val_loss: Some(0.6),
                train_accuracy: Some(0.8),
                val_accuracy: Some(0.7),
                learning_rate: Some(0.1),
            }],
        }),
        test_metrics: Some(TestMetrics {
            n_samples: Some(4),
            accuracy: Some(0.75),
            ..Default::default()
        }),
        confusion: Some(ConfusionMatrix {
            classes: vec!["a".into(), "b".into()],
            counts: vec![vec![2, 0], vec![1, 1]],
        }),
        per_class: vec![ClassMetrics {
            class: "a".into(),
            precision: 0.667,
            recall: 1.0,
            f1: 0.8,
            support: 2,
        }],
        cross_validation: Some(CrossValidation {
            description: None,
            metrics: vec![CvMetric {
                name: "accuracy".into(),
                fold_scores: vec![0.5, 1.0],
            }],
        }),
        image_explanations: vec![ImageExplanation {
            label: "sample 0".into(),
            image,
            predicted: "a".into(),
            actual: Some("b".into()),
            confidence: Some(0.6),
            attributions: vec![
                AttributionMap {
                    method: "IG".into(),
                    width: 4,
                    height: 4,
                    values: (0..16).map(|i| i as f32 - 8.0).collect(),
                    ..Default::default()
                },
                AttributionMap {
                    method: "Grad-CAM".into(),
                    width: 2,
                    height: 2,
                    values: vec![0.0, 1.0, 2.0, 3.0],
                    ..Default::default()
                },
            ],
        }],
        tabular_attributions: vec![FeatureChart {
            title: "SHAP".into(),
            description: None,
            value_label: "v".into(),
            features: vec![FeatureValue {
                name: "f".into(),
                value: 1.0,
                error: Some(0.1),
            }],
            max_features: None,
        }],
        rules: Some(RuleSet {
            surrogate: None,
            fidelity: 0.9,
            fidelity_data: None,
            rules: vec![Rule {
                text: "IF x <= 1 THEN a".into(),
                coverage: 0.5,
                accuracy: 1.0,
            }],
        }),
        checks: Some(ExplanationChecks {
            sanity: vec![SanityCheck {
                method: "IG".into(),
                spearman: 0.1,
                threshold: 0.5,
                passed: true,
                detail: None,
            }],
            curves: vec![PerturbationCurve {
                kind: CurveKind::Deletion,
                score_label: "p".into(),
                series: vec![CurveSeries {
                    name: "IG".into(),
                    fractions: vec![0.0, 1.0],
                    scores: vec![1.0, 0.0],
                    auc: None,
                }],
            }],
        }),
        ..Default::default()
    }
}

#[test]
fn every_section_appears_with_data_in_order() {
    let html = full_report().render_html();
    let mut last = 0;
    for id in SECTION_IDS {
        let pos = html
            .find(&format!("<section id=\"{id}\">"))
            .unwrap_or_else(|| panic!("section {id} missing"));
        assert!(pos > last, "section {id} out of order");
        last = pos;
        assert!(
            html.contains(&format!("<a href=\"#{id}\">")),
            "nav link to {id} missing"
        );
    }
}

#[test]
fn empty_report_has_no_sections() {
    let html = Report::default().render_html();
    for id in SECTION_IDS {
        assert!(!section_present(&html, id), "section {id} should be absent");
    }
    assert!(html.contains("no data yet"));
    assert!(!html.contains("<img"));
}

#[test]
fn each_section_alone_appears_alone() {
    let full = full_report();
    let only = |f: &dyn Fn(&mut Report, &Report)| {
        let mut r = Report {
            title: "t".into(),
            ..Default::default()
        };
        f(&mut r, &full);
        r.render_html()
    };
    type Fill<'a> = &'a dyn Fn(&mut Report, &Report);
    let cases: [(&str, Fill); 8] = [
        ("overview", &|r, f| r.model = f.model.clone()),
        ("training", &|r, f| r.history = f.history.clone()),
        ("evaluation", &|r, f| r.per_class = f.per_class.clone()),
        ("cross-validation", &|r, f| {
            r.cross_validation = f.cross_validation.clone()
        }),
        ("image-explanations", &|r, f| {
            r.image_explanations = f.image_explanations.clone()
        }),
        ("feature-importance", &|r, f| {
            r.tabular_attributions = f.tabular_attributions.clone()
        }),
        ("rules", &|r, f| r.rules = f.rules.clone()),
        ("checks", &|r, f| r.checks = f.checks.clone()),
    ];
    for (id, fill) in cases {
        let html = only(fill);
        for other in SECTION_IDS {
            assert_eq!(
                section_present(&html, other),
                other == id,
                "with only {id}: section {other}"
            );
        }
    }
}

#[test]
fn empty_containers_do_not_create_sections() {
    let r = Report {
        history: Some(TrainingHistory::default()),
        cross_validation: Some(CrossValidation {
            description: None,
            metrics: vec![],
        }),
        checks: Some(ExplanationChecks::default()),
        ..Default::default()
    };
    let html = r.render_html();
    for id in SECTION_IDS {
        assert!(!section_present(&html, id), "section {id} should be absent");
    }
}

#[test]
fn user_text_is_escaped_everywhere() {
    let evil = "<script>alert(1)</script>\"'&";
    let mut r = full_report();
    r.title = evil.into();
    r.subtitle = Some(evil.into());
    r.footer = Some(evil.into());
    r.dataset.as_mut().unwrap().name = evil.into();
    r.dataset
        .as_mut()
        .unwrap()
        .extra
        .push((evil.into(), evil.into()));
    r.model.as_mut().unwrap().architecture = evil.into();
    r.confusion.as_mut().unwrap().classes[0] = evil.into();
    r.per_class[0].class = evil.into();
    r.cross_validation.as_mut().unwrap().metrics[0].name = evil.into();
    r.cross_validation.as_mut().unwrap().description = Some(evil.into());
    r.image_explanations[0].label = evil.into();
    r.image_explanations[0].predicted = evil.into();
    r.image_explanations[0].attributions[0].method = evil.into();
    r.image_explanations[0].attributions[0].note = Some(evil.into());
    r.tabular_attributions[0].title = evil.into();
    r.tabular_attributions[0].features[0].name = evil.into();
    r.rules.as_mut().unwrap().rules[0].text = evil.into();
    r.rules.as_mut().unwrap().surrogate = Some(evil.into());
    r.checks.as_mut().unwrap().sanity[0].method = evil.into();
    r.checks.as_mut().unwrap().curves[0].series[0].name = evil.into();
    let html = r.render_html();
    assert!(!html.contains("<script>alert"), "unescaped script tag");
    assert!(!html.contains("alert(1)</script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Exactly one <script> element: the page's own self-check.
    assert_eq!(html.matches("<script>").count(), 1);
}

#[test]
fn images_are_embedded_as_png_data_uris_with_colour_bars() {
    let html = full_report().render_html();
    // Input + two overlays.
    assert_eq!(
        html.matches("<img src=\"data:image/png;base64,iVBORw0KGgo")
            .count(),
        3
    );
    assert!(html.contains("2×2 map, upsampled"));
    assert!(html.contains("diverging colour scale") && html.contains("sequential colour scale"));
    assert!(html.contains("✗ wrong"));
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no external resources"
    );
}

#[test]
fn invalid_parts_render_as_notices_and_write_refuses() {
    let mut r = full_report();
    r.image_explanations[0].image.pixels.pop();
    r.confusion.as_mut().unwrap().counts.pop();
    let html = r.render_html();
    assert_eq!(html.matches("class=\"notice\"").count(), 2);
    let err = r.validate().unwrap_err().to_string();
    assert!(
        err.contains("confusion matrix") && err.contains("rows"),
        "{err}"
    );
    r.confusion = None;
    let err = r.validate().unwrap_err().to_string();
    assert!(
        err.contains("image explanations[0]") && err.contains("16") && err.contains("15"),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("glassbox-report-invalid-{}", std::process::id()));
    assert!(r.write_html(dir.join("r.html")).is_err());
    assert!(!dir.join("r.html").exists());
}

#[test]
fn cv_mean_and_std_are_shown() {
    let html = full_report().render_html();
    // folds 0.5 and 1.0: mean 0.75, population std 0.25.
    assert!(html.contains("0.7500 ± 0.2500"), "cv summary missing");
}

#[test]
fn report_roundtrips_through_json() {
    let r = full_report();
    let json = serde_json::to_string(&r).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    // Missing fields default, so producers can send partial reports.
    let partial: Report = serde_json::from_str(r#"{"title":"x"}"#).unwrap();
    assert_eq!(partial.title, "x");
}

#[test]
fn pictures_are_upscaled_by_whole_factors_near_168_px() {
    use super::explain::{display_width, upscale_for};
    assert_eq!(upscale_for(8, 8), 21);
    assert_eq!(display_width(8, 21), 168);
    assert_eq!(upscale_for(28, 28), 6);
    assert_eq!(upscale_for(32, 16), 5);
    assert_eq!(upscale_for(224, 224), 1);
    assert_eq!(display_width(1000, 1), 256);
    assert_eq!(upscale_for(0, 0), crate::MAX_UPSCALE);
}
