//! The `--rows` selection syntax: `0,3,10-12` (0-based data rows, ranges inclusive).

use crate::error::{usage, CliResult};

/// Parses `spec` into row indices below `n`, in the given order, without duplicates.
pub fn parse_rows(spec: &str, n: usize) -> CliResult<Vec<usize>> {
    let bad = |part: &str, why: &str| {
        usage(format!(
            "invalid value '{spec}' for '--rows': `{part}` {why} (expected e.g. 0,3,10-12; the file has {n} rows)"
        ))
    };
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let a: usize = a.parse().map_err(|_| bad(part, "is not a row number"))?;
        let b: usize = b.parse().map_err(|_| bad(part, "is not a row number"))?;
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
        for bad in ["", "a", "5-3", "10", "1-10"] {
            let e = parse_rows(bad, 10).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains("--rows"));
        }
    }
}
