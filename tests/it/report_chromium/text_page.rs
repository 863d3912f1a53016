//! The report's text page rendered in headless Chromium: bert_tiny's explanations of a
//! text by every method (computed here) and their faithfulness table on three texts. A
//! driver script injected into a copy of the page clicks each method button and records
//! which panel is visible, whether the button is marked selected, and the hover text
//! (`title`) of the first token; the test compares them with the data it put in.

use glassbox::explain::gradient::{Approximation, BatchCap};
use glassbox::explain::text::{LigRule, TextLigConfig};
use glassbox::explain_text::{
    report_faithfulness, MethodOptions, TextExplainer, TextLigOptions, TextMethod,
};
use glassbox::report::{Report, TextExplanations};
use glassbox_testkit::chromium::{chromium, png_size};
use glassbox_testkit::reference_path;

const DRIVER: &str = r##"<script>
window.addEventListener("load", function () {
  var root = document.documentElement;
  var out = [];
  document.querySelectorAll("#tx-0 button[data-tx-method]").forEach(function (b) {
    b.click();
    var shown = Array.prototype.filter.call(
      document.querySelectorAll("#tx-0 .tx-panel"),
      function (p) { return p.offsetParent !== null; }
    ).map(function (p) { return p.getAttribute("data-tx-method"); });
    var tok = document.querySelector("#tx-0 .tx-panel:not([hidden]) .tok:not(.special)");
    out.push(b.getAttribute("data-tx-method") + "=" + shown.join("+") + ";" +
      b.getAttribute("aria-selected") + ";" + (tok ? tok.title.split("\n")[0] : ""));
  });
  root.setAttribute("data-tx-switch", out.join("|"));
  root.setAttribute("data-tx-rows",
    String(document.querySelectorAll("#faithfulness tbody tr").length));
});
</script></body>"##;

#[test]
fn text_page_switches_methods_and_shows_scores_in_chromium() {
    let explainer =
        TextExplainer::from_dir(reference_path("transformers/bert_tiny")).expect("bert_tiny");
    let lig = TextLigConfig {
        rule: LigRule::Fixed {
            steps: 16,
            method: Approximation::GaussLegendre,
        },
        cap: BatchCap::Rows(16),
        ..TextLigConfig::default()
    };
    let options = MethodOptions {
        lig: TextLigOptions {
            config: lig.clone(),
            ..TextLigOptions::default()
        },
        ..MethodOptions::default()
    };
    let text = "Free money!!! Click here to claim your prize";
    let sample = explainer.report_sample(text, &options).expect("explain");
    let names: Vec<&str> = sample.methods.iter().map(|m| m.method.as_str()).collect();
    assert_eq!(
        names,
        ["lig", "occlusion", "kernel_shap", "lime", "rollout"]
    );
    let texts = [
        text,
        "Re: the meeting is moved to Tuesday",
        "WIN a FREE cruise now",
    ];
    let rows = explainer
        .faithfulness(&texts, &TextMethod::ALL, true, &lig, &options.perturb)
        .expect("faithfulness");
    assert_eq!(rows.len(), 6);
    let report = Report {
        title: "Text explanations of bert_tiny".into(),
        text_explanations: Some(TextExplanations {
            samples: vec![sample.clone()],
            note: None,
        }),
        faithfulness: Some(report_faithfulness(&rows, Some("3 texts".into()))),
        ..Default::default()
    };
    let dir = super::artifacts_dir();
    let path = report
        .write_html(dir.join("report-text.html"))
        .expect("write");
    let Some(browser) = chromium() else {
        return;
    };
    let html = std::fs::read_to_string(&path).unwrap();
    let driven = dir.join("report-text-driven.html");
    std::fs::write(&driven, html.replacen("</body>", DRIVER, 1)).unwrap();
    let seen = browser.render(&driven, &["--dump-dom".into()]);
    assert!(seen.console().is_empty(), "{:?}", seen.console());
    assert_eq!(seen.html_attr("data-check"), Some("ok"));
    assert_eq!(seen.html_attr("data-tx-rows"), Some("6"));
    let switch = seen
        .html_attr("data-tx-switch")
        .expect("driver ran")
        .to_string();
    let clicks: Vec<&str> = switch.split('|').collect();
    assert_eq!(clicks.len(), 5, "{switch}");
    for (click, m) in clicks.iter().zip(&sample.methods) {
        // Clicking a method shows its panel alone and marks its button.
        let first = m.tokens.iter().find(|t| !t.special).unwrap();
        let title = format!(
            "{} · chars {}..{} · score {:+.4e}",
            first.token, first.start, first.end, first.score
        );
        let expected = format!("{0}={0};true;{title}", m.method);
        assert_eq!(*click, expected.as_str());
    }
    let shot = dir.join("report-text.png");
    let _ = std::fs::remove_file(&shot);
    browser.render(
        &path,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1100,1000".into(),
        ],
    );
    let bytes = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(png_size(&bytes), Some((1100, 1000)));
    println!("text page screenshot saved to {}", shot.display());
}
