//! Builds a complete report from real numbers computed here (softmax regressions trained by
//! hand-written gradient descent on the bundled digits and iris data, their metrics, and
//! attributions computed directly), writes it, and — when Chromium is installed — renders it
//! headless: every `<img>` must load (`naturalWidth > 0`), no console message may appear, and
//! a screenshot is saved under `$CARGO_TARGET_DIR/report-artifacts/` (default
//! `target/report-artifacts/`).

#[path = "report_chromium/build.rs"]
mod build;
#[path = "report_chromium/explain.rs"]
mod explain;
#[path = "report_chromium/fit.rs"]
mod fit;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the report and screenshot go.
fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("report-artifacts")
}

/// The first Chromium-family browser on `PATH`.
fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs headless Chromium with `extra` arguments on `url`; returns (stdout, stderr).
/// Kills it after 90 s.
fn chromium(browser: &Path, profile: &Path, extra: &[String], url: &str) -> (String, String) {
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend_from_slice(extra);
    args.push(url.to_string());
    let out_path = profile.with_extension("stdout");
    let err_path = profile.with_extension("stderr");
    let mut child = Command::new(browser)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s (args {args:?})");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (read(&out_path), read(&err_path))
}

/// Console lines Chromium logged for the page (`…:CONSOLE…` or `Uncaught …`).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

/// Value of attribute `name` on the dumped `<html>` element.
fn html_attr<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let start = dom.find("<html")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!("{name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(&tag[at..at + tag[at..].find('"')?])
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
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

    let Some(browser) = find_browser() else {
        eprintln!(
            "skipping the Chromium check: no chromium/chromium-browser/google-chrome on PATH"
        );
        return;
    };
    let url = format!("file://{}", path.display());
    let profile = dir.join("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);

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
    let (dom, err) = chromium(
        &browser,
        &profile,
        &["--virtual-time-budget=10000".into(), "--dump-dom".into()],
        &format!("file://{}", bad.display()),
    );
    assert_eq!(
        html_attr(&dom, "data-check"),
        Some("failed"),
        "control page: broken image not detected"
    );
    assert_eq!(html_attr(&dom, "data-images-failed"), Some("1"));
    assert!(
        !console_lines(&err).is_empty(),
        "control page: script error not detected in stderr"
    );

    let (dom, err) = chromium(
        &browser,
        &profile,
        &[
            "--window-size=1280,4000".into(),
            "--virtual-time-budget=10000".into(),
            "--dump-dom".into(),
        ],
        &url,
    );
    assert_eq!(
        html_attr(&dom, "data-images-total"),
        Some(n_img.to_string().as_str()),
        "self-check did not run or saw other images"
    );
    assert_eq!(
        html_attr(&dom, "data-images-failed"),
        Some("0"),
        "some <img> has naturalWidth 0"
    );
    assert_eq!(html_attr(&dom, "data-check"), Some("ok"));
    let console = console_lines(&err);
    assert!(
        console.is_empty(),
        "console messages while rendering the report:\n{}",
        console.join("\n")
    );

    let shot = dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &browser,
        &profile,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,4000".into(),
            "--virtual-time-budget=10000".into(),
        ],
        &url,
    );
    let bytes =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()));
    let (w, h) = png_size(&bytes).expect("screenshot is a PNG");
    assert!(w >= 1280 && h >= 4000, "screenshot is {w}x{h}");
    println!("screenshot saved to {} ({w}x{h})", shot.display());

    // A second screenshot of the whole page, as tall as the document measured by the page.
    let height: u32 = html_attr(&dom, "data-page-height")
        .and_then(|v| v.parse().ok())
        .expect("page height recorded by the self-check");
    assert!(height > 1000, "page height {height} is implausibly small");
    let full = dir.join("report-full.png");
    let _ = std::fs::remove_file(&full);
    chromium(
        &browser,
        &profile,
        &[
            format!("--screenshot={}", full.display()),
            format!("--window-size=1280,{}", height.min(16_000)),
            "--virtual-time-budget=10000".into(),
        ],
        &url,
    );
    let bytes =
        std::fs::read(&full).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", full.display()));
    assert_eq!(png_size(&bytes).map(|s| s.1), Some(height.min(16_000)));
    println!(
        "full-page screenshot saved to {} (1280x{height})",
        full.display()
    );
    let _ = std::fs::remove_dir_all(&profile);
}
