//! Every `glassbox …` line of the README's ```sh blocks runs as written, in order, in a
//! temporary directory holding the repository's `data/` (the examples use relative paths
//! and write `bc.gbx` beside them). A long-running `serve` example is started, checked
//! to answer `/v2/health/ready`, and stopped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use glassbox_testkit::http::{announced_address, first_stderr_line, get_status};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `line` split into words as a POSIX shell would for the README's examples: whitespace
/// separates words, and "double" or 'single' quotes keep spaces (and `#`) inside one word.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The `glassbox` command lines of the README's ```sh blocks, comments removed.
fn readme_commands() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = !in_sh && t == "```sh";
            continue;
        }
        if in_sh && t.starts_with("glassbox ") {
            let words: Vec<String> = shell_words(t)
                .into_iter()
                .take_while(|w| !w.starts_with('#'))
                .skip(1)
                .collect();
            out.push(words);
        }
    }
    out
}

#[test]
fn every_readme_example_runs_as_written() {
    let commands = readme_commands();
    assert!(
        commands.len() >= 7,
        "the README's CLI block was not found: {commands:?}"
    );
    // The examples run in `<tmp>/work` as if it were the repository root: `data/` and
    // `tests/` link to the repository's, and `../shared` to the folder beside it.
    let root = std::env::temp_dir().join(format!("glassbox-readme-{}", std::process::id()));
    let dir = root.join("work");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["data", "tests"] {
        let link = dir.join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(repo().join(name).canonicalize().unwrap(), &link).unwrap();
        }
    }
    let shared = repo().join("../shared");
    if shared.exists() && !root.join("shared").exists() {
        std::os::unix::fs::symlink(shared.canonicalize().unwrap(), root.join("shared")).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_glassbox");
    for args in &commands {
        let shown = format!("glassbox {}", args.join(" "));
        // Large models stay in ../shared: testkit's rule (a failure under CI, a reason
        // printed elsewhere) decides, as for every test that needs them.
        if let Some(rel) = args.iter().find_map(|a| a.strip_prefix("../shared/")) {
            if glassbox_testkit::shared_file(rel).is_none() {
                continue;
            }
        }
        if args[0] == "serve" {
            // Runs until stopped; the README's default address, unless another process
            // holds it on this machine (then the only change is the port).
            let mut args = args.clone();
            if !args.iter().any(|a| a == "--addr") && TcpListener::bind("127.0.0.1:8000").is_err() {
                args.extend(["--addr".into(), "127.0.0.1:0".into()]);
            }
            let mut server = Command::new(bin)
                .args(&args)
                .current_dir(&dir)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let line = first_stderr_line(&mut server);
            let addr = announced_address(&line);
            let status = addr
                .as_deref()
                .and_then(|a| get_status(a, "/v2/health/ready"));
            server.kill().unwrap();
            server.wait().unwrap();
            assert_eq!(status, Some(200), "{shown}: {line}");
            continue;
        }
        let out = Command::new(bin)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.trim().is_empty(), "{shown} printed nothing");
        if args.iter().any(|a| a == "--json") {
            let v: serde_json::Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("{shown}: stdout is not JSON ({e})"));
            if args.iter().any(|a| a == "--rows") {
                assert_eq!(v["rows"].as_array().map(Vec::len), Some(5), "{shown}");
            }
        }
    }
    std::fs::remove_dir_all(&root).ok();
}
