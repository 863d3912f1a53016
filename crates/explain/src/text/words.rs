//! Subword scores aggregated to words through the tokens' character offsets.
//!
//! A tokenizer cuts words into subwords (`play ##ing`, `Ġmeet ing`, or several byte-level
//! tokens for one accented or CJK character); an explanation reads better per word. Words
//! are found in the original text, then every token is attached to the words its character
//! span overlaps:
//!
//! - a **word** is a maximal run of letters, digits and combining marks, where an
//!   apostrophe between two letters or digits (`don't`) and a `.` or `,` between two digits
//!   (`1,299.99`) stay inside the word; a maximal run of other visible characters
//!   (punctuation, symbols, emoji: `!!!`, `😀👍🏽`) is a word too; every CJK ideograph or
//!   kana is a word of its own (there are no spaces to go by); whitespace and control
//!   characters separate words;
//! - a token whose span overlaps several words joins them into one (a GPT-2 token `'t` in
//!   `isn 't`, a WordPiece `[UNK]` over two words), so each token belongs to exactly one
//!   word and word scores add up to the token scores;
//! - GPT-2's leading-space tokens (`Ġmeeting`, span ` meeting`) attach to the word after
//!   the space; tokens of whitespace only (`Ġ`, `Ċ`) overlap no word;
//! - special tokens (`[CLS]`, `[SEP]`, `<|endoftext|>`), and tokens that overlap no word,
//!   are never folded into a word: they are listed apart ([`WordScores::unaligned`]) with
//!   their scores, so nothing is lost silently.
//!
//! Offsets are **character** offsets (`(start, end)`, end exclusive), as
//! `glassbox-hf`'s `Encoding::offsets` gives them, and every word carries its own.
//!
//! ```
//! use glassbox_explain::text::{aggregate_words, WordAggregation};
//!
//! // [CLS] play ##ing ball ! [SEP] over "playing ball!"
//! let text = "playing ball!";
//! let offsets = [(0, 0), (0, 4), (4, 7), (8, 12), (12, 13), (0, 0)];
//! let special = [true, false, false, false, false, true];
//! let scores = [0.5, 1.0, -0.25, 2.0, 0.125, -0.5];
//! let w = aggregate_words(text, &offsets, &special, &scores, WordAggregation::Sum)?;
//! let words: Vec<(&str, usize, usize, f64)> =
//!     w.words.iter().map(|w| (w.text.as_str(), w.start, w.end, w.score)).collect();
//! assert_eq!(words, [("playing", 0, 7, 0.75), ("ball", 8, 12, 2.0), ("!", 12, 13, 0.125)]);
//! assert_eq!(w.unaligned.len(), 2); // [CLS] and [SEP]
//! # Ok::<(), glassbox_explain::ExplainError>(())
//! ```

use crate::error::{ExplainError, Result};

const OP: &str = "aggregate_words";

/// How the scores of a word's tokens combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WordAggregation {
    /// The sum (keeps completeness: word scores add up to the token scores).
    #[default]
    Sum,
    /// The mean over the word's tokens.
    Mean,
    /// The score of largest magnitude, with its sign.
    MaxAbs,
}

impl WordAggregation {
    /// Combines `scores` (not empty).
    pub fn combine(self, scores: &[f64]) -> f64 {
        match self {
            WordAggregation::Sum => scores.iter().sum(),
            WordAggregation::Mean => scores.iter().sum::<f64>() / scores.len().max(1) as f64,
            WordAggregation::MaxAbs => {
                scores
                    .iter()
                    .copied()
                    .fold(0.0, |m: f64, s| if s.abs() > m.abs() { s } else { m })
            }
        }
    }

    /// The name used in flags and JSON (`sum`, `mean`, `maxabs`).
    pub fn name(self) -> &'static str {
        match self {
            WordAggregation::Sum => "sum",
            WordAggregation::Mean => "mean",
            WordAggregation::MaxAbs => "maxabs",
        }
    }
}

/// One word of the text with its aggregated score.
#[derive(Debug, Clone, PartialEq)]
pub struct WordScore {
    /// The word as it reads in the text (`text[start..end]` in characters).
    pub text: String,
    /// Character offset of its first character.
    pub start: usize,
    /// Character offset after its last character.
    pub end: usize,
    /// Indices of its tokens, in order.
    pub tokens: Vec<usize>,
    /// The aggregated score.
    pub score: f64,
}

/// A token that belongs to no word: a special token, or one that overlaps no word (only
/// whitespace, or an empty span).
#[derive(Debug, Clone, PartialEq)]
pub struct UnalignedToken {
    /// Token index.
    pub token: usize,
    /// Whether the tokenizer marked it special (`[CLS]`, `[SEP]`, …).
    pub special: bool,
    /// Its character span (`(0, 0)` for special tokens).
    pub offsets: (usize, usize),
    /// Its score, unchanged.
    pub score: f64,
}

/// What [`aggregate_words`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct WordScores {
    /// How the tokens' scores were combined.
    pub aggregation: WordAggregation,
    /// The words covered by at least one token, in text order.
    pub words: Vec<WordScore>,
    /// Special tokens and tokens outside every word, in token order.
    pub unaligned: Vec<UnalignedToken>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Space,
    Word,
    /// A CJK ideograph or kana: a word of its own (as BERT's tokenizer splits them).
    Cjk,
    Other,
}

fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0900..=0x0903 | 0x093A..=0x094F | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0x3099..=0x309A | 0xFE20..=0xFE2F)
}

fn base_class(c: char) -> Class {
    if c.is_whitespace() || c.is_control() {
        Class::Space
    } else if matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0x20000..=0x2FA1F)
    {
        Class::Cjk
    } else if c.is_alphanumeric() || is_mark(c) {
        Class::Word
    } else {
        Class::Other
    }
}

/// Character spans `(start, end)` of the words of `text` (see the module docs).
pub fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut class: Vec<Class> = chars.iter().map(|&c| base_class(c)).collect();
    for i in 1..chars.len().saturating_sub(1) {
        let (p, n) = (chars[i - 1], chars[i + 1]);
        let joins = match chars[i] {
            '\'' | '’' => class[i - 1] == Class::Word && base_class(n) == Class::Word,
            '.' | ',' => p.is_numeric() && n.is_numeric(),
            _ => false,
        };
        if joins {
            class[i] = Class::Word;
        }
    }
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if class[i] == Class::Space {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < chars.len() && class[i] == class[start] && class[i] != Class::Cjk {
            i += 1;
        }
        spans.push((start, i));
    }
    spans
}

/// The token positions of each word of `text`: the words of [`aggregate_words`] (the one
/// word grouping of the crate), so that perturbation methods remove exactly the words the
/// gradient methods' scores are aggregated to. Special tokens and tokens that overlap no
/// word (whitespace-only byte-level tokens) belong to no group and are never perturbed.
///
/// ```
/// use glassbox_explain::text::word_groups;
///
/// // "[CLS] un ##believ ##able offer ! [SEP]" for "unbelievable offer!"
/// let offsets = [(0, 0), (0, 2), (2, 8), (8, 12), (13, 18), (18, 19), (0, 0)];
/// let special = [true, false, false, false, false, false, true];
/// let words = word_groups("unbelievable offer!", &offsets, &special)?;
/// assert_eq!(words, vec![vec![1, 2, 3], vec![4], vec![5]]);
/// # Ok::<(), glassbox_explain::ExplainError>(())
/// ```
///
/// # Errors
///
/// As [`aggregate_words`]: mismatched lengths, or a span outside the text.
pub fn word_groups(
    text: &str,
    offsets: &[(usize, usize)],
    special: &[bool],
) -> Result<Vec<Vec<usize>>> {
    let zeros = vec![0.0; offsets.len()];
    Ok(
        aggregate_words(text, offsets, special, &zeros, WordAggregation::Sum)?
            .words
            .into_iter()
            .map(|w| w.tokens)
            .collect(),
    )
}

/// Aggregates per-token `scores` to the words of `text` (see the module docs).
///
/// `offsets` are the tokens' character spans in `text` and `special` marks special tokens;
/// the three slices have one entry per token.
///
/// # Errors
///
/// [`ExplainError::ShapeMismatch`] when `offsets`, `special` and `scores` differ in length;
/// [`ExplainError::InvalidArgument`] naming the token whose span is reversed or runs past
/// the text; [`ExplainError::NonFinite`] naming a NaN or infinite score.
pub fn aggregate_words(
    text: &str,
    offsets: &[(usize, usize)],
    special: &[bool],
    scores: &[f64],
    aggregation: WordAggregation,
) -> Result<WordScores> {
    let n = scores.len();
    for (what, len) in [("offsets", offsets.len()), ("special", special.len())] {
        if len != n {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what,
                expected: vec![n],
                found: vec![len],
            });
        }
    }
    let chars: Vec<char> = text.chars().collect();
    for (t, &(s, e)) in offsets.iter().enumerate() {
        if s > e || e > chars.len() {
            return Err(ExplainError::invalid(
                OP,
                "offsets",
                format!(
                    "token {t} has the span ({s}, {e}), outside a text of {} characters",
                    chars.len()
                ),
            ));
        }
    }
    if let Some(t) = scores.iter().position(|s| !s.is_finite()) {
        return Err(ExplainError::NonFinite {
            op: OP,
            what: "scores",
            row: 0,
            column: t,
        });
    }
    let spans = word_spans(text);
    // Word of each character (None for separators).
    let mut word_of = vec![None; chars.len()];
    for (w, &(s, e)) in spans.iter().enumerate() {
        word_of[s..e].iter_mut().for_each(|x| *x = Some(w));
    }
    // Words joined by a token are merged: `group[w]` is the first word of w's group (the
    // words a token overlaps are consecutive, so groups are runs of words).
    let mut group: Vec<usize> = (0..spans.len()).collect();
    let mut first_word = vec![None; n];
    let mut unaligned = Vec::new();
    for t in 0..n {
        let (s, e) = offsets[t];
        let overlapped: Vec<usize> = if special[t] {
            Vec::new()
        } else {
            word_of[s..e].iter().flatten().copied().collect()
        };
        match (overlapped.first(), overlapped.last()) {
            (Some(&a), Some(&b)) => {
                let root = group[a];
                for g in group.iter_mut().take(b + 1).skip(a) {
                    *g = root;
                }
                first_word[t] = Some(a);
            }
            _ => unaligned.push(UnalignedToken {
                token: t,
                special: special[t],
                offsets: offsets[t],
                score: scores[t],
            }),
        }
    }
    // Later merges may have re-rooted a group's first word: resolve to fixed points.
    for w in 0..group.len() {
        let mut r = group[w];
        while group[r] != r {
            r = group[r];
        }
        group[w] = r;
    }
    let mut words: Vec<WordScore> = Vec::new();
    let mut by_root: Vec<Option<usize>> = vec![None; spans.len()];
    let mut token_scores: Vec<Vec<f64>> = Vec::new();
    for t in 0..n {
        let Some(w) = first_word[t] else { continue };
        let root = group[w];
        let k = match by_root[root] {
            Some(k) => k,
            None => {
                let last = (root..spans.len())
                    .take_while(|&v| group[v] == root)
                    .last()
                    .unwrap_or(root);
                let (start, end) = (spans[root].0, spans[last].1);
                words.push(WordScore {
                    text: chars[start..end].iter().collect(),
                    start,
                    end,
                    tokens: Vec::new(),
                    score: 0.0,
                });
                token_scores.push(Vec::new());
                by_root[root] = Some(words.len() - 1);
                words.len() - 1
            }
        };
        words[k].tokens.push(t);
        token_scores[k].push(scores[t]);
    }
    for (w, s) in words.iter_mut().zip(&token_scores) {
        w.score = aggregation.combine(s);
    }
    words.sort_by_key(|w| w.start);
    Ok(WordScores {
        aggregation,
        words,
        unaligned,
    })
}

#[cfg(test)]
#[path = "words_tests.rs"]
mod tests;
