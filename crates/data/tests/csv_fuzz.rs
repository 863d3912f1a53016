//! Fuzz tests of the CSV reader (issue 14): random bytes, CSV-shaped text with quotes,
//! embedded newlines, CRLF/LF/CR mixes, a BOM, missing-value tokens and out-of-range
//! numbers, and gzip input (valid, truncated, corrupted, and bombs above the size limit).
//! Properties: no panic; a successful read has one value per row in every column and only
//! finite numbers within `f32`'s range; an error names the file. A counting global
//! allocator bounds the largest single allocation of the run (its own binary, so other
//! tests' allocations do not count).
//!
//! `PROPTEST_CASES` scales the run; the default keeps it to a few seconds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use glassbox_data::{read_csv, read_csv_bytes, CsvOptions};
use proptest::prelude::*;

struct Largest;
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LARGEST.fetch_max(new, Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static ALLOC: Largest = Largest;

/// The inputs are at most a few KiB (64 KiB decompressed); 16 MiB is a generous bound.
const ALLOCATION_BOUND: usize = 16 << 20;

fn check_read(
    result: glassbox_data::Result<glassbox_data::Table>,
    name: &str,
) -> Result<(), TestCaseError> {
    match result {
        Ok(t) => {
            for c in t.columns() {
                prop_assert_eq!(c.len(), t.n_rows());
                if let Some(v) = c.as_numeric() {
                    for x in v.iter().flatten() {
                        prop_assert!(
                            x.is_finite() && x.abs() <= f64::from(f32::MAX),
                            "column '{}' holds {}",
                            c.name,
                            x
                        );
                    }
                }
            }
        }
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.contains(name), "error without the file name: {}", msg);
        }
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    prop_assert!(
        largest <= ALLOCATION_BOUND,
        "an allocation of {} bytes",
        largest
    );
    Ok(())
}

/// One field: numbers (some out of range), tokens, quoted text with delimiters, quotes
/// and newlines inside.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        (-1000i64..1000).prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:e}")),
        prop::sample::select(vec![
            "",
            "NA",
            "NaN",
            "?",
            "inf",
            "-Infinity",
            "1e308",
            "1e400",
            "-3.4e38",
            "3.5e38",
            "0x10",
            "1_000",
            " 7 ",
            "\u{feff}1",
        ])
        .prop_map(str::to_string),
        "[a-c ,\"\r\n]{0,8}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        "[a-c\"]{0,6}",
    ]
}

fn terminator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"])
}

/// CSV-shaped text: a header, rows of random width, random terminators, maybe a BOM.
fn csv_text() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec("[a-d\"]{0,3}", 1..5),
        prop::collection::vec((prop::collection::vec(field(), 0..6), terminator()), 0..12),
        terminator(),
    )
        .prop_map(|(bom, header, rows, end)| {
            let mut s = if bom {
                "\u{feff}".to_string()
            } else {
                String::new()
            };
            s += &header.join(",");
            s += end;
            for (fields, end) in rows {
                s += &fields.join(",");
                s += end;
            }
            s
        })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn temp_file(bytes: &[u8], tag: u64) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-csv-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("f{tag}-{:?}.csv", std::thread::current().id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        check_read(read_csv_bytes(&bytes, "fuzz.csv", &CsvOptions::default()), "fuzz.csv")?;
    }

    #[test]
    fn csv_shaped_text(text in csv_text(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..3)) {
        check_read(read_csv_bytes(text.as_bytes(), "shaped.csv", &CsvOptions::default()), "shaped.csv")?;
        let mut bytes = text.into_bytes();
        for (at, b) in flips {
            if !bytes.is_empty() {
                let n = bytes.len();
                bytes[at % n] = b;
            }
        }
        check_read(read_csv_bytes(&bytes, "flipped.csv", &CsvOptions::default()), "flipped.csv")?;
    }

    /// Gzip input through `read_csv`: valid, truncated, corrupted, and above the limit.
    #[test]
    fn gzip_input(text in csv_text(), cut in any::<usize>(), flip in any::<(usize, u8)>(), tag in any::<u64>()) {
        let gz = gzip(text.as_bytes());
        let opts = CsvOptions::default().with_max_bytes(64 << 10);
        let p = temp_file(&gz, tag);
        check_read(read_csv(&p, &opts), "csv")?;
        let mut bad = gz.clone();
        bad.truncate(cut % (gz.len() + 1));
        std::fs::write(&p, &bad).unwrap();
        check_read(read_csv(&p, &opts), "csv")?;
        let mut bad = gz.clone();
        let n = bad.len();
        bad[flip.0 % n] ^= flip.1 | 1;
        std::fs::write(&p, &bad).unwrap();
        check_read(read_csv(&p, &opts), "csv")?;
        std::fs::remove_file(&p).ok();
    }
}

/// A gzip bomb: 4 MiB of zeros in a few KiB, read under a 64 KiB limit, is a size error
/// naming the file, and nothing near 4 MiB is ever allocated.
#[test]
fn gzip_bomb_is_bounded() {
    let bomb = gzip(&vec![b'0'; 4 << 20]);
    assert!(bomb.len() < 64 << 10);
    let p = temp_file(&bomb, 0xb0b);
    let before = LARGEST.load(Ordering::Relaxed);
    let e = read_csv(&p, &CsvOptions::default().with_max_bytes(64 << 10))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("csv") && e.to_lowercase().contains("limit"),
        "{e}"
    );
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= before.max(1 << 20),
        "{largest} bytes allocated for a 64 KiB limit"
    );
    std::fs::remove_file(&p).ok();
}
