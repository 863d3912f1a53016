//! The one headless-Chromium harness of the workspace: renders an HTML page and reads back
//! what the browser saw.
//!
//! glassbox's reports mark `<html>` with `data-check`, `data-images-total`,
//! `data-images-failed` (and `data-page-height`) after every `<img>` has loaded or failed;
//! a test renders the page with `--dump-dom` and reads those attributes with
//! [`Rendered::html_attr`], and the page's console messages with [`Rendered::console`].
//!
//! [`chromium`] finds the browser. When none is installed, the test fails under `CI` (see
//! [`crate::under_ci`]); elsewhere it prints why and returns `None`, and the test returns.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Browser executables looked for on `PATH`, in this order.
pub const BROWSER_NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// How long one headless run may take before it is killed and the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// A Chromium-family browser found on `PATH`.
#[derive(Debug, Clone)]
pub struct Chromium {
    path: PathBuf,
}

/// What Chromium produced for one page.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Standard output: the DOM after scripts ran when `--dump-dom` was given.
    pub dom: String,
    /// Standard error: Chromium's log, with the page's console messages.
    pub stderr: String,
}

/// The first browser of [`BROWSER_NAMES`] on `PATH`, if any.
pub fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    BROWSER_NAMES
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The installed browser. When there is none: under CI the test fails; elsewhere this
/// prints the reason and returns `None`, and the test returns early.
pub fn chromium() -> Option<Chromium> {
    if let Some(path) = find_browser() {
        return Some(Chromium { path });
    }
    let names = BROWSER_NAMES.join(", ");
    if crate::under_ci() {
        panic!("no Chromium on PATH (looked for {names}), and CI must run the browser checks");
    }
    eprintln!(
        "not run: no Chromium on PATH (looked for {names}); Debian: apt-get install chromium"
    );
    None
}

impl Chromium {
    /// The browser executable.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the browser headless on the local file `page` with the `extra` flags (for
    /// example `--dump-dom`, `--screenshot=<file>`, `--window-size=1280,4000`), with a
    /// virtual time budget of 10 s so the page's scripts finish. A fresh profile is used
    /// beside the page and removed afterwards. Fails the test when the browser cannot start
    /// or runs longer than [`TIMEOUT`].
    pub fn render(&self, page: &Path, extra: &[String]) -> Rendered {
        let profile = page.with_extension("chromium-profile");
        let _ = std::fs::remove_dir_all(&profile);
        let out_path = page.with_extension("stdout");
        let err_path = page.with_extension("stderr");
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
            "--virtual-time-budget=10000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend_from_slice(extra);
        args.push(format!("file://{}", page.display()));
        let create =
            |p: &Path| std::fs::File::create(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let mut child = Command::new(&self.path)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(create(&out_path))
            .stderr(create(&err_path))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.path.display()));
        let start = Instant::now();
        while child.try_wait().expect("wait for chromium").is_none() {
            if start.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within {TIMEOUT:?} (args {args:?})");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = std::fs::remove_dir_all(&profile);
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        Rendered {
            dom: read(&out_path),
            stderr: read(&err_path),
        }
    }
}

impl Rendered {
    /// The page's console messages in the log (`…:CONSOLE…` lines and `Uncaught …`).
    pub fn console(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .collect()
    }

    /// The value of attribute `name` on the rendered `<html>` element.
    pub fn html_attr(&self, name: &str) -> Option<&str> {
        html_attr(&self.dom, name)
    }
}

/// The value of attribute `name` on the `<html>` element of `dom`.
pub fn html_attr<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let start = dom.find("<html")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!("{name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(&tag[at..at + tag[at..].find('"')?])
}

/// Width and height from a PNG's IHDR chunk (`None` when `bytes` is not a PNG).
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_attributes_of_the_html_element_only() {
        let dom = r#"<!DOCTYPE html><html lang="en" data-check="ok" data-images-total="3"><body data-check="no"></body></html>"#;
        assert_eq!(html_attr(dom, "data-check"), Some("ok"));
        assert_eq!(html_attr(dom, "data-images-total"), Some("3"));
        assert_eq!(html_attr(dom, "data-images-failed"), None);
        assert_eq!(html_attr("<p>no html</p>", "data-check"), None);
    }

    #[test]
    fn png_size_reads_ihdr() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&1280u32.to_be_bytes());
        png.extend_from_slice(&4000u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((1280, 4000)));
        assert_eq!(png_size(b"GIF89a"), None);
    }

    #[test]
    fn console_lines_are_filtered_from_the_log() {
        let r = Rendered {
            dom: String::new(),
            stderr: "[1:2:INFO:CONSOLE(1)] \"boom\"\nother line\nUncaught ReferenceError".into(),
        };
        assert_eq!(r.console().len(), 2);
    }
}
