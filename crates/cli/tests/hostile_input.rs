//! Issue 14 end to end: hostile bundles (on the command line and loaded into a running
//! server), `train` never replacing a good `--out` with a bundle it cannot load back or
//! with a failed write, and the exit paths (single-class target, `--cv` above the row
//! count, broken pipe, empty token). Each case is bounded: tiny data, one or two epochs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use glassbox::nn::io::envelope;
use glassbox::{BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC};
use glassbox_testkit::http::{post, spawn_server};
use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
}

fn iris() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/tabular/iris.csv")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassbox-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn train_iris(out: &Path) -> Output {
    bin()
        .args([
            "train",
            "--data",
            iris().to_str().unwrap(),
            "--target",
            "target",
        ])
        .args(["--model", "mlp:8", "--epochs", "2", "--quiet", "--out"])
        .arg(out)
        .output()
        .unwrap()
}

/// Asserts exit `code` and a one-line stderr holding every needle, without a panic.
fn check(out: &Output, code: i32, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
    err
}

/// A copy of the bundle file at `good` whose metadata JSON went through `edit` (the
/// checksums are recomputed, so only the loader's own checks can refuse it).
fn hostile_copy(good: &Path, edit: impl Fn(&mut Value)) -> Vec<u8> {
    let bytes = std::fs::read(good).unwrap();
    let (_, payload) =
        envelope::decode(&bytes, "good", BUNDLE_MAGIC, BUNDLE_FORMAT_VERSION).unwrap();
    let meta_len = u64::from_le_bytes(payload[..8].try_into().unwrap()) as usize;
    let mut meta: Value = serde_json::from_slice(&payload[8..8 + meta_len]).unwrap();
    edit(&mut meta);
    let meta = serde_json::to_vec(&meta).unwrap();
    let mut out = (meta.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&meta);
    out.extend_from_slice(&payload[8 + meta_len..]);
    envelope::encode(BUNDLE_MAGIC, BUNDLE_FORMAT_VERSION, &out)
}

#[test]
fn hostile_bundles_are_errors_on_the_command_line_and_in_a_running_server() {
    let good = tmp("good.gbx");
    assert!(train_iris(&good).status.success());
    let iris = iris();
    let data = iris.to_str().unwrap();

    // The issue's 2e9-unit hidden layer, an LSTM-style zero size, a short class list.
    type Case = (&'static str, fn(&mut Value), &'static [&'static str]);
    let cases: [Case; 3] = [
        (
            "huge.gbx",
            |m| m["architecture"]["hidden"][0] = 2_000_000_000u64.into(),
            &["huge.gbx", "hidden layer 1 is 2000000000"],
        ),
        (
            "zero.gbx",
            |m| m["architecture"]["hidden"][0] = 0.into(),
            &["zero.gbx", "hidden layer 1 is 0"],
        ),
        (
            "classes.gbx",
            |m| {
                m["task"]["classes"].as_array_mut().unwrap().pop();
            },
            &["classes.gbx", "2 class names for a network with 3 outputs"],
        ),
    ];
    for (name, edit, needles) in cases {
        let path = tmp(name);
        std::fs::write(&path, hostile_copy(&good, edit)).unwrap();
        let out = bin()
            .args(["predict", "--model", path.to_str().unwrap(), "--data", data])
            .output()
            .unwrap();
        check(&out, 1, needles);
    }

    // A running server: the good model serves, the hostile one's load is a JSON error, and
    // the good model keeps serving.
    let repo = tmp("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::copy(&good, repo.join("good.gbx")).unwrap();
    let (mut server, addr) = spawn_server(
        bin()
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--threads",
                "1",
                "--model-dir",
            ])
            .arg(&repo),
    );
    let infer = r#"{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32",
        "data": [5.1, 3.5, 1.4, 0.2]}]}"#;
    let (before, _) = post(&addr, "/v2/models/good/infer", infer);
    std::fs::write(
        repo.join("evil.gbx"),
        hostile_copy(&good, |m| {
            m["architecture"]["hidden"][0] = 2_000_000_000u64.into()
        }),
    )
    .unwrap();
    let (load_status, load_body) = post(&addr, "/v2/repository/models/evil/load", "{}");
    let (after, after_body) = post(&addr, "/v2/models/good/infer", infer);
    let alive = server.try_wait().unwrap().is_none();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(before, 200);
    assert!(
        (400..600).contains(&load_status),
        "{load_status} {load_body}"
    );
    let msg = load_body["error"].as_str().expect("a JSON error");
    assert!(
        msg.contains("evil.gbx") && msg.contains("2000000000"),
        "{msg}"
    );
    assert!(alive, "the server survived the hostile load");
    assert_eq!(after, 200, "{after_body}");
}

#[test]
fn train_keeps_a_good_out_when_the_write_fails() {
    let out = tmp("kept.gbx");
    assert!(train_iris(&out).status.success());
    let before = std::fs::read(&out).unwrap();
    assert!(
        before.len() > 1024,
        "the bundle must exceed the 1 KiB limit below"
    );

    // RLIMIT_FSIZE of 1 KiB in a child shell (SIGXFSZ ignored, as a full disk would
    // behave): the write fails with EFBIG, reported as a write error naming --out.
    let cmd = format!(
        "ulimit -f 1; trap '' XFSZ; exec '{}' train --data '{}' --target target \
         --model mlp:8 --epochs 2 --quiet --out '{}'",
        env!("CARGO_BIN_EXE_glassbox"),
        iris().display(),
        out.display()
    );
    let res = Command::new("bash").args(["-c", &cmd]).output().unwrap();
    let err = check(&res, 1, &["cannot write", "kept.gbx"]);
    assert!(!err.contains("not a valid glassbox model bundle"), "{err}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the good bundle survives"
    );
    let dir = out.parent().unwrap();
    let stray: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("kept.gbx."))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");

    // --out below a regular file.
    let below = out.join("model.gbx");
    let res = train_iris(&below);
    check(&res, 1, &["cannot write", "kept.gbx"]);
}

#[test]
fn usage_errors_and_quiet_exits() {
    let iris = iris();
    let data = iris.to_str().unwrap();
    // A single-class target.
    let one = tmp("one_class.csv");
    std::fs::write(&one, "a,b,y\n1,2,x\n2,3,x\n3,1,x\n4,4,x\n").unwrap();
    let res = bin()
        .args([
            "train",
            "--data",
            one.to_str().unwrap(),
            "--target",
            "y",
            "--quiet",
        ])
        .args(["--out", tmp("never.gbx").to_str().unwrap()])
        .output()
        .unwrap();
    check(
        &res,
        2,
        &["--target", "'y'", "one_class.csv", "single class"],
    );
    assert!(!tmp("never.gbx").exists());

    // --cv above the row count.
    let small = tmp("small.csv");
    std::fs::write(&small, "a,b,y\n1,2,x\n2,3,z\n3,1,x\n4,4,z\n5,1,x\n").unwrap();
    let model = tmp("small.gbx");
    let res = bin()
        .args(["train", "--data", small.to_str().unwrap(), "--target", "y"])
        .args(["--model", "mlp:4", "--epochs", "1", "--quiet", "--out"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(res.status.success(), "{res:?}");
    let res = bin()
        .args(["evaluate", "--model", model.to_str().unwrap()])
        .args(["--data", small.to_str().unwrap(), "--cv", "6"])
        .output()
        .unwrap();
    check(&res, 2, &["--cv", "6", "5 rows"]);

    // An empty token.
    let res = bin()
        .args(["serve", "--model", model.to_str().unwrap(), "--token", ""])
        .output()
        .unwrap();
    check(&res, 2, &["--token"]);

    // `predict … | head -1`: more output than a pipe buffer holds, reader gone after one
    // line: exit 0, nothing on stderr.
    let big = tmp("big.csv");
    let mut text = String::from("a,b,y\n");
    for i in 0..6000 {
        text += &format!("{},{},{}\n", i % 7, i % 5, ["x", "z"][i % 2]);
    }
    std::fs::write(&big, text).unwrap();
    let mut child = bin()
        .args(["predict", "--model", model.to_str().unwrap()])
        .args(["--data", big.to_str().unwrap(), "--proba"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("row,prediction"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = data;
}
