//! Hand-checked cases: the offsets are those the repository's tokenizers give
//! (`tests/reference/transformers/tokenizers/encodings.json`).

use super::*;

fn agg(
    text: &str,
    offsets: &[(usize, usize)],
    special: &[bool],
    scores: &[f64],
    how: WordAggregation,
) -> WordScores {
    aggregate_words(text, offsets, special, scores, how).unwrap()
}

fn summary(w: &WordScores) -> Vec<(String, usize, usize, Vec<usize>, f64)> {
    w.words
        .iter()
        .map(|w| (w.text.clone(), w.start, w.end, w.tokens.clone(), w.score))
        .collect()
}

fn s(t: &str) -> String {
    t.to_string()
}

#[test]
fn wordpiece_accents_keep_the_original_characters() {
    // [CLS] c ##a ##f ##e n ##a ##i ##v ##e [SEP] over "Café naïve"
    let text = "Café naïve";
    let offsets = [
        (0, 0),
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
        (5, 6),
        (6, 7),
        (7, 8),
        (8, 9),
        (9, 10),
        (0, 0),
    ];
    let mut special = [false; 11];
    special[0] = true;
    special[10] = true;
    let scores = [9.0, 1.0, 2.0, 3.0, 4.0, 0.5, -1.0, 0.25, -4.0, 0.5, -9.0];
    let w = agg(text, &offsets, &special, &scores, WordAggregation::Sum);
    assert_eq!(
        summary(&w),
        [
            (s("Café"), 0, 4, vec![1, 2, 3, 4], 10.0),
            (s("naïve"), 5, 10, vec![5, 6, 7, 8, 9], -3.75),
        ]
    );
    let un: Vec<(usize, bool, f64)> = w
        .unaligned
        .iter()
        .map(|u| (u.token, u.special, u.score))
        .collect();
    assert_eq!(un, [(0, true, 9.0), (10, true, -9.0)]);
    let mean = agg(text, &offsets, &special, &scores, WordAggregation::Mean);
    assert_eq!(mean.words[0].score, 2.5);
    assert_eq!(mean.words[1].score, -0.75);
    let max = agg(text, &offsets, &special, &scores, WordAggregation::MaxAbs);
    assert_eq!(max.words[0].score, 4.0);
    assert_eq!(max.words[1].score, -4.0);
}

#[test]
fn punctuation_is_its_own_word() {
    // WordPiece "Hello, World!": h ##e ##l ##l ##o , w ##o ##r ##l ##d !
    let text = "Hello, World!";
    let offsets = [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
        (4, 5),
        (5, 6),
        (7, 8),
        (8, 9),
        (9, 10),
        (10, 11),
        (11, 12),
        (12, 13),
    ];
    let scores: Vec<f64> = (0..12).map(|i| i as f64).collect();
    let w = agg(text, &offsets, &[false; 12], &scores, WordAggregation::Sum);
    assert_eq!(
        summary(&w),
        [
            (s("Hello"), 0, 5, vec![0, 1, 2, 3, 4], 10.0),
            (s(","), 5, 6, vec![5], 5.0),
            (s("World"), 7, 12, vec![6, 7, 8, 9, 10], 40.0),
            (s("!"), 12, 13, vec![11], 11.0),
        ]
    );
    assert!(w.unaligned.is_empty());
}

#[test]
fn byte_level_tokens_with_leading_space_and_split_characters() {
    // GPT-2 byte-level "Café naïve": C a f Ã © Ġn a Ã ¯ ve (é and ï are two byte tokens
    // each, with the same one-character span; Ġn covers " n").
    let text = "Café naïve";
    let offsets = [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
        (3, 4),
        (4, 6),
        (6, 7),
        (7, 8),
        (7, 8),
        (8, 10),
    ];
    let scores = [1.0, 1.0, 1.0, 0.5, 0.5, 2.0, 0.0, -1.0, -1.0, 3.0];
    let w = agg(text, &offsets, &[false; 10], &scores, WordAggregation::Sum);
    assert_eq!(
        summary(&w),
        [
            (s("Café"), 0, 4, vec![0, 1, 2, 3, 4], 4.0),
            (s("naïve"), 5, 10, vec![5, 6, 7, 8, 9], 3.0),
        ]
    );
    // "  leading and": Ġ (only a space) overlaps no word; Ġl e ad ing; Ġand.
    let text = "  leading and";
    let offsets = [(0, 1), (1, 3), (3, 4), (4, 6), (6, 9), (9, 13)];
    let scores = [7.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    let w = agg(text, &offsets, &[false; 6], &scores, WordAggregation::Sum);
    assert_eq!(
        summary(&w),
        [
            (s("leading"), 2, 9, vec![1, 2, 3, 4], 10.0),
            (s("and"), 10, 13, vec![5], 5.0),
        ]
    );
    assert_eq!(w.unaligned.len(), 1);
    assert_eq!(
        (
            w.unaligned[0].token,
            w.unaligned[0].special,
            w.unaligned[0].offsets
        ),
        (0, false, (0, 1))
    );
}

#[test]
fn apostrophes_numbers_and_cjk() {
    // GPT-2 "don't won't": d on 't Ġw on 't
    let text = "don't won't";
    let offsets = [(0, 1), (1, 3), (3, 5), (5, 7), (7, 9), (9, 11)];
    let w = agg(text, &offsets, &[false; 6], &[1.0; 6], WordAggregation::Sum);
    assert_eq!(
        summary(&w),
        [
            (s("don't"), 0, 5, vec![0, 1, 2], 3.0),
            (s("won't"), 6, 11, vec![3, 4, 5], 3.0),
        ]
    );
    assert_eq!(
        word_spans("$1,299.99 (approx.)"),
        [(0, 1), (1, 9), (10, 11), (11, 17), (17, 19)]
    );
    // WordPiece 東 [UNK] は: one word per character.
    let text = "東京は";
    let w = agg(
        text,
        &[(0, 1), (1, 2), (2, 3)],
        &[false; 3],
        &[1.0, 2.0, 3.0],
        WordAggregation::Sum,
    );
    let words: Vec<(String, f64)> = w.words.iter().map(|w| (w.text.clone(), w.score)).collect();
    assert_eq!(words, [(s("東"), 1.0), (s("京"), 2.0), (s("は"), 3.0)]);
}

#[test]
fn a_token_across_words_merges_them() {
    // A [UNK] spanning "b c" (as WordPiece does for an unknown run) joins the two words.
    let text = "a b c d";
    let offsets = [(0, 1), (2, 5), (6, 7)];
    let w = agg(
        text,
        &offsets,
        &[false; 3],
        &[1.0, 2.0, 4.0],
        WordAggregation::Sum,
    );
    assert_eq!(
        summary(&w),
        [
            (s("a"), 0, 1, vec![0], 1.0),
            (s("b c"), 2, 5, vec![1], 2.0),
            (s("d"), 6, 7, vec![2], 4.0),
        ]
    );
    // Two tokens chaining three words (the later token joins the earlier group).
    let text = "xy-z";
    let offsets = [(2, 4), (1, 3), (0, 1)];
    let w = agg(
        text,
        &offsets,
        &[false; 3],
        &[1.0, 2.0, 4.0],
        WordAggregation::Sum,
    );
    assert_eq!(summary(&w), [(s("xy-z"), 0, 4, vec![0, 1, 2], 7.0)]);
}

#[test]
fn sums_are_kept_and_bad_input_is_named() {
    let text = "one two";
    let w = agg(
        text,
        &[(0, 0), (0, 3), (4, 7)],
        &[true, false, false],
        &[0.5, 1.5, -2.0],
        WordAggregation::Sum,
    );
    let total: f64 = w.words.iter().map(|w| w.score).sum::<f64>()
        + w.unaligned.iter().map(|u| u.score).sum::<f64>();
    assert_eq!(total, 0.0);
    let e = aggregate_words(
        text,
        &[(0, 3)],
        &[false, false],
        &[1.0],
        WordAggregation::Sum,
    )
    .unwrap_err();
    assert!(e.to_string().contains("special"), "{e}");
    let e = aggregate_words(text, &[(4, 9)], &[false], &[1.0], WordAggregation::Sum).unwrap_err();
    assert!(e.to_string().contains("token 0 has the span (4, 9)"), "{e}");
    let e =
        aggregate_words(text, &[(0, 3)], &[false], &[f64::NAN], WordAggregation::Sum).unwrap_err();
    assert!(e.to_string().contains("non-finite"), "{e}");
    assert!(agg("", &[], &[], &[], WordAggregation::Sum)
        .words
        .is_empty());
}

#[test]
fn word_groups_are_the_words_of_aggregate_words() {
    // GPT-2 style: "Hello world!" → "Hello" (0,5), "Ġworld" (5,11), "!" (11,12)
    let offsets = [(0, 5), (5, 11), (11, 12)];
    let groups = word_groups("Hello world!", &offsets, &[false; 3]).unwrap();
    assert_eq!(groups, vec![vec![0], vec![1], vec![2]]);
    // Trimmed offsets (a gap at the space) give the same words.
    let trimmed = [(0, 5), (6, 11), (11, 12)];
    assert_eq!(
        word_groups("Hello world!", &trimmed, &[false; 3]).unwrap(),
        groups
    );
    // A whitespace-only token belongs to no word and is never perturbed.
    let spaced = [(0, 2), (2, 3), (3, 5)];
    assert_eq!(
        word_groups("ab cd", &spaced, &[false; 3]).unwrap(),
        vec![vec![0], vec![2]]
    );
    let err = word_groups("ab", &[(0, 3)], &[false]).unwrap_err();
    assert!(err.to_string().contains("token 0"), "{err}");
    assert!(word_groups("ab", &[(0, 1)], &[]).is_err());
}
