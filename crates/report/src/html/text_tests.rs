use crate::colormap::Colormap;
use crate::model::Report;
use crate::model_text::{
    FaithfulnessEntry, FaithfulnessTable, NamedValue, TextAttribution, TextExplanations,
    TextSample, TokenScore,
};

fn tok(token: &str, start: usize, end: usize, special: bool, score: f64) -> TokenScore {
    TokenScore {
        token: token.into(),
        start,
        end,
        special,
        score,
    }
}

/// "[CLS] free money <b> [SEP]" explained by two methods.
pub(crate) fn text_report() -> Report {
    let text = "free money <b>";
    let lig = TextAttribution {
        method: "lig".into(),
        family: "gradient".into(),
        tokens: vec![
            tok("[CLS]", 0, 0, true, 0.1),
            tok("free", 0, 4, false, 2.0),
            tok("money", 5, 10, false, -1.0),
            tok("<", 11, 12, false, 0.0),
            tok("b", 12, 13, false, 0.5),
            tok(">", 13, 14, false, 0.0),
            tok("[SEP]", 0, 0, true, 0.0),
        ],
        delta: Some(NamedValue {
            name: "convergence_delta".into(),
            value: 1e-5,
        }),
        seconds: Some(0.25),
    };
    let mut rollout = lig.clone();
    rollout.method = "rollout".into();
    rollout.family = "attention".into();
    rollout.delta = None;
    rollout.tokens[1].score = -4.0;
    Report {
        title: "text".into(),
        text_explanations: Some(TextExplanations {
            samples: vec![TextSample {
                text: text.into(),
                target: "class 'spam'".into(),
                methods: vec![lig, rollout],
            }],
            note: None,
        }),
        faithfulness: Some(FaithfulnessTable {
            rows: vec![
                FaithfulnessEntry {
                    method: "lig".into(),
                    comprehensiveness: 0.4,
                    sufficiency: 0.1,
                    deletion_auc: 0.2,
                    insertion_auc: 0.7,
                    texts: 100,
                    seconds_per_text: Some(0.5),
                },
                FaithfulnessEntry {
                    method: "random".into(),
                    comprehensiveness: 0.1,
                    sufficiency: 0.3,
                    deletion_auc: 0.5,
                    insertion_auc: 0.4,
                    texts: 100,
                    seconds_per_text: None,
                },
            ],
            note: Some("100 mails".into()),
        }),
        ..Default::default()
    }
}

/// The text between the tags of `html`, entities decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let a = s.find(open).expect(open) + open.len();
    &s[a..a + s[a..].find(close).expect(close)]
}

#[test]
fn tokens_are_coloured_with_the_one_diverging_map_and_titled_with_their_scores() {
    let r = text_report();
    r.validate().unwrap();
    let html = r.render_html();
    assert!(html.contains("<section id=\"text-attributions\">"));
    assert!(html.contains("<section id=\"faithfulness\">"));
    // The largest positive score takes the map's red end, the largest negative its blue
    // end, zero its white middle.
    let d = Colormap::Diverging;
    assert!(html.contains(&format!(
        "background:{};color:#fff\" title=\"free · chars 0..4 · score +2.0000e0",
        d.hex(1.0)
    )));
    assert!(html.contains(&format!(
        "background:{};color:#111\" title=\"money · chars 5..10 · score -1.0000e0",
        d.hex(0.25)
    )));
    assert!(html.contains(&format!(
        "background:{};color:#111\" title=\"&lt; · chars 11..12",
        d.hex(0.5)
    )));
    // The first method is shown, the others hidden; the switcher has one button each.
    assert!(html.contains("role=\"tabpanel\" data-tx-method=\"lig\">"));
    assert!(html.contains("role=\"tabpanel\" data-tx-method=\"rollout\" hidden>"));
    assert!(html.contains("data-tx-method=\"lig\" aria-selected=\"true\">lig</button>"));
    assert!(html.contains("data-tx-method=\"rollout\" aria-selected=\"false\">rollout</button>"));
    assert!(html.contains("<span class=\"tx-family\">attention</span>"));
    assert!(html.contains("convergence delta +1.00e-5"));
    // The panel's visible text is the text itself, special tokens around it.
    let panel = between(&html, "<p class=\"tx-text\">", "</p>");
    assert_eq!(strip_tags(panel), "[CLS]free money <b>[SEP]");
    // The faithfulness table: one row per method, the random row marked.
    let table = between(&html, "<tbody>", "</tbody>");
    assert_eq!(table.matches("<tr").count(), 2);
    assert!(table.contains("<tr class=\"baseline\"><td>random</td><td>0.1000</td>"));
    assert_eq!(
        html.matches("<script>").count(),
        2,
        "self-check and switcher"
    );
}

#[test]
fn overlapping_tokens_share_a_span_and_bad_spans_are_named() {
    let mut r = text_report();
    let t = &mut r.text_explanations.as_mut().unwrap().samples[0];
    // Two byte-level tokens over the same character.
    t.text = "é!".into();
    t.methods.truncate(1);
    t.methods[0].tokens = vec![
        tok("Ã", 0, 1, false, 1.0),
        tok("©", 0, 1, false, 0.5),
        tok("!", 1, 2, false, -1.5),
    ];
    r.validate().unwrap();
    let html = r.render_html();
    let panel = between(&html, "<p class=\"tx-text\">", "</p>");
    assert_eq!(strip_tags(panel), "é!");
    assert_eq!(panel.matches("class=\"tok\"").count(), 2);
    assert!(panel.contains("data-score=\"1.5\""));
    let t = &mut r.text_explanations.as_mut().unwrap().samples[0];
    t.methods[0].tokens[2].end = 9;
    let err = r.validate().unwrap_err().to_string();
    assert!(
        err.contains("methods[0] (lig)") && err.contains("tokens[2]"),
        "{err}"
    );
    assert!(r.render_html().contains("class=\"notice\""));
    let t = &mut r.text_explanations.as_mut().unwrap().samples[0];
    t.methods[0].tokens[2].end = 2;
    t.methods[0].tokens[0].score = f64::NAN;
    assert!(r
        .validate()
        .unwrap_err()
        .to_string()
        .contains("tokens[0].score"));
}

#[test]
fn the_faithfulness_json_of_glassbox_reads_as_a_table() {
    let json = r#"{"rows": [{"method": "occlusion", "comprehensiveness": 0.5, "sufficiency": 0.1,
        "deletion_auc": 0.2, "insertion_auc": 0.6, "texts": 100, "seconds_per_text": 0.01}]}"#;
    let t: FaithfulnessTable = serde_json::from_str(json).unwrap();
    assert_eq!(t.rows[0].seconds_per_text, Some(0.01));
    assert_eq!(t.rows[0].texts, 100);
}
