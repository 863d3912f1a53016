//! Builds a complete report from real numbers computed here (softmax regressions trained by
//! hand-written gradient descent on the bundled digits and iris data, their metrics, and
//! attributions computed directly), writes it, and renders it headless in Chromium with
//! glassbox-testkit's harness (without a browser the test fails under CI and is skipped with
//! a reason elsewhere): every `<img>` must load (`naturalWidth > 0`), no console message may
//! appear, and screenshots are saved under `$CARGO_TARGET_DIR/report-artifacts/` (default
//! `target/report-artifacts/`).

mod build;
mod explain;
mod fit;
mod text_page;

use std::path::{Path, PathBuf};

use glassbox_testkit::chromium::{chromium, png_size};

/// Where the report and screenshot go.
fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("report-artifacts")
}

#[test]
fn report_from_real_models_renders_in_chromium() {
    let report = build::build_report();
    let dir = artifacts_dir();
    let path = report
        .write_html(dir.join("report.html"))
        .expect("write report");
    let html = std::fs::read_to_string(&path).expect("read report back");
    for id in glassbox_report::SECTION_IDS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id} missing from the full report"
        );
    }
    let n_img = html.matches("<img ").count();
    assert!(
        n_img >= 16,
        "expected every sample's input and overlays, found {n_img} images"
    );
    println!(
        "report written to {} ({} KiB, {n_img} images)",
        path.display(),
        html.len() / 1024
    );

    let Some(browser) = chromium() else {
        return;
    };

    // Negative control: the same checks must catch a broken image and a script error.
    let bad = dir.join("broken.html");
    std::fs::write(
        &bad,
        html.replacen(
            "data:image/png;base64,iVBOR",
            "data:image/png;base64,AAAA",
            1,
        )
        .replacen("</body>", "<script>noSuchFunction();</script></body>", 1),
    )
    .expect("write control page");
    let control = browser.render(&bad, &["--dump-dom".into()]);
    assert_eq!(
        control.html_attr("data-check"),
        Some("failed"),
        "control page: broken image not detected"
    );
    assert_eq!(control.html_attr("data-images-failed"), Some("1"));
    assert!(
        !control.console().is_empty(),
        "control page: script error not detected in stderr"
    );

    let seen = browser.render(
        &path,
        &["--window-size=1280,4000".into(), "--dump-dom".into()],
    );
    assert_eq!(
        seen.html_attr("data-images-total"),
        Some(n_img.to_string().as_str()),
        "self-check did not run or saw other images"
    );
    assert_eq!(
        seen.html_attr("data-images-failed"),
        Some("0"),
        "some <img> has naturalWidth 0"
    );
    assert_eq!(seen.html_attr("data-check"), Some("ok"));
    let console = seen.console();
    assert!(
        console.is_empty(),
        "console messages while rendering the report:\n{}",
        console.join("\n")
    );

    let shot = dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    browser.render(
        &path,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,4000".into(),
        ],
    );
    let bytes =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()));
    let (w, h) = png_size(&bytes).expect("screenshot is a PNG");
    assert!(w >= 1280 && h >= 4000, "screenshot is {w}x{h}");
    println!("screenshot saved to {} ({w}x{h})", shot.display());

    // A second screenshot of the whole page, as tall as the document measured by the page.
    let height: u32 = seen
        .html_attr("data-page-height")
        .and_then(|v| v.parse().ok())
        .expect("page height recorded by the self-check");
    assert!(height > 1000, "page height {height} is implausibly small");
    let full = dir.join("report-full.png");
    let _ = std::fs::remove_file(&full);
    browser.render(
        &path,
        &[
            format!("--screenshot={}", full.display()),
            format!("--window-size=1280,{}", height.min(16_000)),
        ],
    );
    let bytes =
        std::fs::read(&full).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", full.display()));
    assert_eq!(png_size(&bytes).map(|s| s.1), Some(height.min(16_000)));
    println!(
        "full-page screenshot saved to {} (1280x{height})",
        full.display()
    );
}
