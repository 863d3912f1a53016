//! `transformer:layers=2,hidden=128,heads=4,max_len=128,vocab=8000`: the size of a text
//! classifier trained from scratch.

use std::fmt;

use crate::error::{Error, Result};

/// Sizes of a BERT text classifier trained from scratch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformerSpec {
    /// Encoder layers (default 2).
    pub layers: usize,
    /// Hidden width (default 128); the feed-forward width is 4×.
    pub hidden: usize,
    /// Attention heads (default 4); must divide `hidden`.
    pub heads: usize,
    /// Longest input in tokens, `[CLS]` and `[SEP]` included (default 128); longer texts
    /// keep their first `max_len − 2` tokens.
    pub max_len: usize,
    /// WordPiece vocabulary size (default 8000).
    pub vocab: usize,
}

impl Default for TransformerSpec {
    fn default() -> Self {
        TransformerSpec {
            layers: 2,
            hidden: 128,
            heads: 4,
            max_len: 128,
            vocab: 8000,
        }
    }
}

impl TransformerSpec {
    /// Parses `transformer[:key=value,…]` with keys `layers`, `hidden`, `heads`,
    /// `max_len`, `vocab` (others keep their defaults).
    ///
    /// ```
    /// use glassbox::text::TransformerSpec;
    /// let s = TransformerSpec::parse("transformer:layers=1,hidden=64,max_len=256")?;
    /// assert_eq!((s.layers, s.hidden, s.heads, s.max_len, s.vocab), (1, 64, 4, 256, 8000));
    /// assert!(TransformerSpec::parse("transformer:hidden=30").is_err()); // 4 heads ∤ 30
    /// # Ok::<(), glassbox::Error>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |reason: String| Error::Architecture {
            spec: spec.to_string(),
            reason,
        };
        let rest = match spec.split_once(':') {
            Some(("transformer", rest)) => rest,
            None if spec == "transformer" => "",
            _ => return Err(bad("expected `transformer[:key=value,…]`".into())),
        };
        let mut s = TransformerSpec::default();
        for part in rest.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("`{part}` is not key=value")))?;
            let v: usize = value
                .trim()
                .parse()
                .map_err(|_| bad(format!("`{key}` must be a positive integer, got `{value}`")))?;
            if v == 0 {
                return Err(bad(format!("`{key}` must be positive")));
            }
            match key.trim() {
                "layers" => s.layers = v,
                "hidden" => s.hidden = v,
                "heads" => s.heads = v,
                "max_len" => s.max_len = v,
                "vocab" => s.vocab = v,
                other => {
                    return Err(bad(format!(
                        "unknown key `{other}` (layers, hidden, heads, max_len, vocab)"
                    )))
                }
            }
        }
        if s.hidden % s.heads != 0 {
            return Err(bad(format!(
                "{} heads do not divide hidden {}",
                s.heads, s.hidden
            )));
        }
        if s.max_len < 3 {
            return Err(bad(
                "`max_len` must leave room for [CLS] and [SEP] (≥ 3)".into()
            ));
        }
        if s.vocab < 100 {
            return Err(bad(format!("`vocab` {} is too small (≥ 100)", s.vocab)));
        }
        Ok(s)
    }
}

impl fmt::Display for TransformerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "transformer:layers={},hidden={},heads={},max_len={},vocab={}",
            self.layers, self.hidden, self.heads, self.max_len, self.vocab
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_bad_keys() {
        let s = TransformerSpec::parse("transformer:layers=3,hidden=96,heads=3,vocab=500").unwrap();
        assert_eq!(TransformerSpec::parse(&s.to_string()).unwrap(), s);
        assert_eq!(
            TransformerSpec::parse("transformer").unwrap(),
            TransformerSpec::default()
        );
        for (spec, needle) in [
            ("mlp:16", "transformer"),
            ("transformer:depth=2", "depth"),
            ("transformer:layers=x", "layers"),
            ("transformer:layers=0", "layers"),
            ("transformer:max_len=2", "max_len"),
        ] {
            let e = TransformerSpec::parse(spec).unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
    }
}
