//! Malformed CSV input: each error names the file, the row and the column; nothing panics.

use glassbox_data::{read_csv, read_csv_bytes, ColumnType, CsvOptions, DataError};
use std::path::PathBuf;

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-csv-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn ragged_row_names_file_row_and_line() {
    let p = temp("ragged.csv", b"a,b,c\n1,2,3\n4,5\n");
    let e = read_csv(&p, &CsvOptions::default()).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::RaggedRow {
                row: 2,
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("ragged.csv") && msg.contains("row 2") && msg.contains("line 3"),
        "{msg}"
    );
    // A row that is too long is caught as well.
    let e = read_csv_bytes(
        b"a,b\n1,2\n3,4\n5,6,7\n",
        "long.csv",
        &CsvOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("row 3") && e.to_string().contains("3 fields"),
        "{e}"
    );
}

#[test]
fn unparsable_number_names_row_and_column() {
    let p = temp("num.csv", b"id,price\n1,2.5\n2,cheap\n3,NA\n");
    let opts = CsvOptions::default().with_type("price", ColumnType::Numeric);
    let e = read_csv(&p, &opts).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("num.csv")
            && msg.contains("row 2")
            && msg.contains("line 3")
            && msg.contains("'price'")
            && msg.contains("\"cheap\""),
        "{msg}"
    );
    // Without the override the column is simply not numeric.
    let t = read_csv(&p, &CsvOptions::default()).unwrap();
    assert_ne!(
        t.column("price").unwrap().column_type(),
        ColumnType::Numeric
    );
}

#[test]
fn unknown_column_in_schema_or_lookup() {
    let p = temp("cols.csv", b"x,y\n1,2\n");
    let opts = CsvOptions::default().with_type("z", ColumnType::Numeric);
    let msg = read_csv(&p, &opts).unwrap_err().to_string();
    assert!(
        msg.contains("cols.csv") && msg.contains("unknown column 'z'") && msg.contains("x, y"),
        "{msg}"
    );
    let t = read_csv(&p, &CsvOptions::default()).unwrap();
    let msg = t.column("w").unwrap_err().to_string();
    assert!(msg.contains("cols.csv") && msg.contains("'w'"), "{msg}");
}

#[test]
fn empty_file_and_header_only() {
    let p = temp("empty.csv", b"");
    let e = read_csv(&p, &CsvOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::EmptyFile { .. }));
    assert!(e.to_string().contains("empty.csv"), "{e}");
    // A header without rows has nothing to train on, predict or explain: the error names
    // the file instead of letting a later step fail without it.
    let e = read_csv(temp("header.csv", b"a,b\r\n"), &CsvOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::NoRows { .. }), "{e}");
    assert!(e.to_string().contains("header.csv"), "{e}");
}

#[test]
fn non_utf8_names_row_and_column() {
    let p = temp("latin1.csv", b"name,city\nann,Paris\nbob,M\xfcnchen\n");
    let e = read_csv(&p, &CsvOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("latin1.csv")
            && msg.contains("row 2")
            && msg.contains("'city'")
            && msg.contains("UTF-8"),
        "{msg}"
    );
    let e = read_csv(
        temp("badhead.csv", b"a,\xff\n1,2\n"),
        &CsvOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("header"), "{e}");
}

#[test]
fn missing_file_and_bad_quote() {
    let e = read_csv("/nonexistent/dir/x.csv", &CsvOptions::default()).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/dir/x.csv"), "{e}");
    // An unterminated quote swallows the rest of the file into one field: the row is ragged.
    let e = read_csv_bytes(b"a,b\n\"1,2\n3,4\n", "quote.csv", &CsvOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("quote.csv") && e.to_string().contains("row 1"),
        "{e}"
    );
}

#[test]
fn gzip_csv_is_read() {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(b"a,b\n1,x\n2,x\n").unwrap();
    let p = temp("z.csv.gz", &enc.finish().unwrap());
    let t = read_csv(&p, &CsvOptions::default()).unwrap();
    assert_eq!(
        t.column_types(),
        vec![ColumnType::Numeric, ColumnType::Categorical]
    );
}
