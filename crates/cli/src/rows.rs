//! The `--rows` selection syntax: `0,3,10-12` (0-based data rows; `a-b` and `a..=b` are
//! inclusive ranges, `a..b` excludes `b` as in Rust and Python).

use crate::error::{usage, CliResult};

/// Parses `spec` into row indices below `n`, in the given order, without duplicates.
pub fn parse_rows(spec: &str, n: usize) -> CliResult<Vec<usize>> {
    let bad = |part: &str, why: &str| {
        usage(format!(
            "invalid value '{spec}' for '--rows': `{part}` {why} (expected e.g. 0,3,10-12 or 0..5; the file has {n} rows)"
        ))
    };
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |t: &str| -> CliResult<usize> {
            t.trim()
                .parse()
                .map_err(|_| bad(part, "is not a row number"))
        };
        let (a, b) = if let Some((a, b)) = part.split_once("..=") {
            (num(a)?, num(b)?)
        } else if let Some((a, b)) = part.split_once("..") {
            let (a, b) = (num(a)?, num(b)?);
            if b <= a {
                return Err(bad(part, "is an empty range"));
            }
            (a, b - 1)
        } else if let Some((a, b)) = part.split_once('-') {
            (num(a)?, num(b)?)
        } else {
            (num(part)?, num(part)?)
        };
        if a > b {
            return Err(bad(part, "is a decreasing range"));
        }
        if b >= n {
            return Err(bad(part, "is past the last row"));
        }
        for i in a..=b {
            if !out.contains(&i) {
                out.push(i);
            }
        }
    }
    if out.is_empty() {
        return Err(bad(spec, "selects no rows"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_errors() {
        assert_eq!(parse_rows("0,3,5-7", 10).unwrap(), vec![0, 3, 5, 6, 7]);
        assert_eq!(parse_rows("2,2", 10).unwrap(), vec![2]);
        // The README's `--rows 0..5`: Rust's exclusive range; `..=` is inclusive.
        assert_eq!(parse_rows("0..5", 10).unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(parse_rows("8..=9", 10).unwrap(), vec![8, 9]);
        assert_eq!(parse_rows("0..10", 10).unwrap().len(), 10);
        for bad in [
            "", "a", "5-3", "10", "1-10", "3..3", "0..11", "..4", "1..=10",
        ] {
            let e = parse_rows(bad, 10).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains("--rows"));
        }
    }
}
