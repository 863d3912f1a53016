//! Property tests of the report's building blocks against independent oracles.

use glassbox_report::svg::axis::nice_ticks;
use glassbox_report::svg::bars::{Bar, BarChart};
use glassbox_report::*;
use proptest::prelude::*;

/// Naive base64 decoder (the oracle for the encoder).
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            other => panic!("invalid base64 byte {other}"),
        }
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let mut n = 0u32;
        for &c in chunk {
            n = (n << 6) | if c == b'=' { 0 } else { val(c) };
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}

/// Undoes the five entities `escape_html` produces.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn decode_png(bytes: &[u8]) -> (u32, u32, usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    (info.width, info.height, info.buffer_size())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn base64_roundtrips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let enc = base64_encode(&bytes);
        prop_assert_eq!(enc.len() % 4, 0);
        prop_assert_eq!(base64_decode(&enc), bytes);
    }

    #[test]
    fn escaping_is_safe_and_reversible(text in "\\PC*") {
        let esc = escape_html(&text);
        prop_assert!(!esc.contains('<') && !esc.contains('>') && !esc.contains('"') && !esc.contains('\''));
        let expected: String = text.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect();
        prop_assert_eq!(unescape(&esc), expected);
    }

    #[test]
    fn ticks_cover_data_evenly(a in -1e6f64..1e6, span in 1e-6f64..1e6) {
        let (lo, hi) = (a, a + span);
        let (alo, ahi, ticks) = nice_ticks(lo, hi, 5);
        prop_assert!(alo <= lo && ahi >= hi, "axis [{alo}, {ahi}] misses [{lo}, {hi}]");
        prop_assert!(ticks.len() >= 2 && ticks.len() <= 12, "{} ticks", ticks.len());
        let step = ticks[1] - ticks[0];
        for w in ticks.windows(2) {
            prop_assert!(((w[1] - w[0]) - step).abs() <= 1e-6 * step.abs().max(1e-12) + 1e-9 * hi.abs().max(1.0));
        }
        // The axis does not waste more than one step on either side.
        prop_assert!(lo - alo < step * 1.0001 && ahi - hi < step * 1.0001);
    }

    #[test]
    fn png_dimensions_match_shape_times_scale(w in 1usize..20, h in 1usize..20, s in 1u32..6, seed in any::<u64>()) {
        let pixels: Vec<f32> = (0..w * h).map(|i| ((seed.wrapping_mul(i as u64 + 1) >> 40) % 256) as f32).collect();
        let image = GrayImage { width: w, height: h, pixels, value_range: None, invert: false };
        let (pw, ph, len) = decode_png(&grayscale_png(&image, s).unwrap());
        prop_assert_eq!((pw as usize, ph as usize, len), (w * s as usize, h * s as usize, w * h * (s * s) as usize));
        let map = AttributionMap {
            method: "m".into(),
            width: w.div_ceil(2),
            height: h.div_ceil(2),
            values: (0..w.div_ceil(2) * h.div_ceil(2)).map(|i| i as f32 - 3.0).collect(),
            ..Default::default()
        };
        let (ow, oh, olen) = decode_png(&heatmap_overlay_png(&image, &map, s).unwrap());
        prop_assert_eq!((ow, oh, olen), (pw, ph, len * 3));
    }

    #[test]
    fn bar_axis_contains_every_bar_and_error(values in proptest::collection::vec((-100f64..100.0, 0f64..10.0), 1..12)) {
        let mut chart = BarChart::new("t", "v");
        chart.bars = values.iter().enumerate().map(|(i, &(v, e))| Bar { label: format!("f{i}"), value: v, error: Some(e) }).collect();
        let (lo, hi, _) = chart.axis();
        for &(v, e) in &values {
            prop_assert!(lo <= v - e + 1e-9 && hi >= v + e - 1e-9);
        }
        prop_assert!(lo <= 0.0 && hi >= 0.0);
    }

    #[test]
    fn user_strings_never_inject_markup(title in "\\PC{0,40}", class in "\\PC{0,20}", rule in "\\PC{0,40}") {
        let report = Report {
            title: format!("<script>{title}"),
            confusion: Some(ConfusionMatrix { classes: vec![format!("<img src=x>{class}"), "b".into()], counts: vec![vec![1, 0], vec![0, 1]] }),
            rules: Some(RuleSet { rules: vec![Rule { text: format!("</td><script>{rule}"), coverage: 0.5, accuracy: 1.0 }], ..Default::default() }),
            ..Default::default()
        };
        let html = report.render_html();
        prop_assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
        prop_assert!(!html.contains("<img src=x>"));
        prop_assert_eq!(html.matches("<img").count(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any image/map shape, consistent or not: rendering never panics, and `validate` fails
    /// exactly when a shape is inconsistent, naming the field.
    #[test]
    fn shapes_are_validated_not_panicked_on(
        w in 0usize..6, h in 0usize..6, len in 0usize..40,
        mw in 0usize..4, mh in 0usize..4, mlen in 0usize..20,
    ) {
        let report = Report {
            image_explanations: vec![ImageExplanation {
                label: "s".into(),
                image: GrayImage { width: w, height: h, pixels: vec![0.5; len], value_range: None, invert: false },
                predicted: "a".into(),
                attributions: vec![AttributionMap { method: "m".into(), width: mw, height: mh, values: vec![-1.0; mlen], ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let html = report.render_html();
        let image_ok = w > 0 && h > 0 && len == w * h;
        let map_ok = mw > 0 && mh > 0 && mlen == mw * mh;
        match report.validate() {
            Ok(()) => prop_assert!(image_ok && map_ok),
            Err(e) => {
                prop_assert!(!(image_ok && map_ok));
                let msg = e.to_string();
                prop_assert!(msg.contains("image explanations[0]"), "{}", msg);
            }
        }
        prop_assert_eq!(html.contains("class=\"notice\""), !(image_ok && map_ok));
    }

    /// Non-finite numbers never leak into the page as "NaN"/"inf".
    #[test]
    fn non_finite_numbers_render_as_dashes(pick in 0usize..3) {
        let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][pick];
        let report = Report {
            history: Some(TrainingHistory {
                epochs: (1..=3).map(|e| EpochRecord { epoch: e, train_loss: Some(if e == 2 { bad } else { 1.0 / e as f64 }), val_loss: Some(bad), ..Default::default() }).collect(),

            }),
            test_metrics: Some(TestMetrics { accuracy: Some(bad), log_loss: Some(bad), ..Default::default() }),
            per_class: vec![ClassMetrics { class: "a".into(), precision: bad, recall: 0.5, f1: bad, support: 3 }],
            cross_validation: Some(CrossValidation { description: None, metrics: vec![CvMetric { name: "acc".into(), fold_scores: vec![0.9, bad] }] }),
            tabular_attributions: vec![FeatureChart { title: "t".into(), features: vec![FeatureValue { name: "f".into(), value: bad, error: Some(bad) }], ..Default::default() }],
            ..Default::default()
        };
        let html = report.render_html();
        let leaked = ["NaN", ">inf", "inf<", "\"inf", "inf\"", " inf", "-inf"].iter().any(|p| html.contains(p));
        prop_assert!(!leaked, "non-finite value leaked into the page");
    }
}

#[test]
fn trapezoid_matches_closed_form() {
    // ∫_0^1 x^2 dx = 1/3; the trapezoid rule on n intervals gives 1/3 + 1/(6 n^2).
    let n = 50;
    let x: Vec<f64> = (0..=n).map(|i| i as f64 / n as f64).collect();
    let y: Vec<f64> = x.iter().map(|v| v * v).collect();
    let expected = 1.0 / 3.0 + 1.0 / (6.0 * (n * n) as f64);
    assert!((trapezoid(&x, &y) - expected).abs() < 1e-12);
    let s = CurveSeries {
        name: "a".into(),
        fractions: x,
        scores: y,
        auc: None,
    };
    assert!((s.area() - expected).abs() < 1e-12);
}
