//! Grouping subword tokens into whitespace-delimited words through their character
//! offsets, so that perturbation methods remove whole words.

use crate::error::{ExplainError, Result};

const OP: &str = "word_groups";

/// The token positions of each word of `text`, from the tokens' **character** offsets
/// `(start, end)` into `text` and their special-token flags.
///
/// Tokens are taken in order, special tokens skipped (they belong to no word and are never
/// perturbed). A token starts a new word when it is the first, when a gap separates it
/// from the previous token (`start > previous end`), or when its first character is
/// whitespace (byte-level BPE tokens such as GPT-2's `Ġworld` carry the space before
/// them). Otherwise it continues the current word: `##`-continuations of WordPiece, and
/// punctuation glued to a word (`money!!!` is one word), are grouped with it. Tokens with
/// an empty span (`start == end`, e.g. the later pieces of one character split into
/// several byte tokens) join the current word.
///
/// ```
/// use glassbox_explain::text::word_groups;
///
/// // "[CLS] un ##believ ##able offer ! [SEP]" for "unbelievable offer!"
/// let offsets = [(0, 0), (0, 2), (2, 8), (8, 12), (13, 18), (18, 19), (0, 0)];
/// let special = [true, false, false, false, false, false, true];
/// let words = word_groups("unbelievable offer!", &offsets, &special)?;
/// assert_eq!(words, vec![vec![1, 2, 3], vec![4, 5]]);
/// # Ok::<(), glassbox_explain::ExplainError>(())
/// ```
pub fn word_groups(
    text: &str,
    offsets: &[(usize, usize)],
    special: &[bool],
) -> Result<Vec<Vec<usize>>> {
    if special.len() != offsets.len() {
        return Err(ExplainError::ShapeMismatch {
            op: OP,
            what: "special-tokens mask (one flag per token offset)",
            expected: vec![offsets.len()],
            found: vec![special.len()],
        });
    }
    let chars: Vec<char> = text.chars().collect();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut prev_end: Option<usize> = None;
    for (p, (&(start, end), &sp)) in offsets.iter().zip(special).enumerate() {
        if sp {
            continue;
        }
        if start > end || end > chars.len() {
            return Err(ExplainError::invalid(
                OP,
                "offsets",
                format!(
                    "token {p} has character offsets ({start}, {end}), outside a text of {} \
                     characters",
                    chars.len()
                ),
            ));
        }
        let new_word = match prev_end {
            None => true,
            Some(e) => start > e || (start < end && chars[start].is_whitespace()),
        };
        if new_word {
            groups.push(vec![p]);
        } else if let Some(g) = groups.last_mut() {
            g.push(p);
        }
        prev_end = Some(prev_end.map_or(end, |e| e.max(end)));
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_tokens_with_leading_spaces_start_words() {
        // GPT-2 style: "Hello world" → "Hello" (0,5), "Ġworld" (5,11), "!" (11,12)
        let offsets = [(0, 5), (5, 11), (11, 12)];
        let words = word_groups("Hello world!", &offsets, &[false; 3]).unwrap();
        assert_eq!(words, vec![vec![0], vec![1, 2]]);
        // Trimmed offsets (a gap at the space) give the same words.
        let trimmed = [(0, 5), (6, 11), (11, 12)];
        assert_eq!(
            word_groups("Hello world!", &trimmed, &[false; 3]).unwrap(),
            words
        );
        // Several tokens for one character (empty or repeated spans) stay in one word.
        let emoji = [(0, 1), (0, 1), (1, 1), (2, 4)];
        assert_eq!(
            word_groups("😀 ab", &emoji, &[false; 4]).unwrap(),
            vec![vec![0, 1, 2], vec![3]]
        );
    }

    #[test]
    fn bad_offsets_are_errors() {
        let err = word_groups("ab", &[(0, 3)], &[false]).unwrap_err();
        assert!(err.to_string().contains("token 0"), "{err}");
        assert!(word_groups("ab", &[(0, 1)], &[]).is_err());
        assert!(word_groups("", &[(0, 0), (0, 0)], &[true, true])
            .unwrap()
            .is_empty());
    }
}
