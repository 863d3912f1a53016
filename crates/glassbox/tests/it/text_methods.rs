//! `TextExplainer::explain_method`, `lig_scorer` and `from_text_classifier` on the tiny
//! reference models: LIG as a faithfulness scorer gives the explainer's own LIG scores, a
//! GPT-2's occlusion is the direct drop of the next-token probability when a token becomes
//! `<|endoftext|>`, and a classifier in memory truncates or refuses long texts as asked.

use glassbox::explain::gradient::{Approximation, BatchCap};
use glassbox::explain::text::{LigRule, TextLigConfig, TokenPredictor};
use glassbox::explain_text::{
    text_features, Gpt2NextToken, Granularity, MethodOptions, Scorer, TextExplainer,
    TextLigOptions, TextMethod,
};
use glassbox::hf::{Gpt2LmHeadModel, Tokenizer};
use glassbox::text::{LongInputs, TextClassifier};
use glassbox_testkit::reference_path;

fn lig_config() -> TextLigConfig {
    TextLigConfig {
        rule: LigRule::Fixed {
            steps: 16,
            method: Approximation::GaussLegendre,
        },
        cap: BatchCap::Rows(8),
        ..TextLigConfig::default()
    }
}

#[test]
fn lig_scorer_gives_the_explainers_lig_scores() {
    let explainer = TextExplainer::from_dir(reference_path("transformers/bert_tiny")).unwrap();
    let text = "Free money!!! Click here";
    let enc = explainer.encode(text).unwrap();
    let features = text_features(text, &enc, Granularity::Tokens).unwrap();
    let Scorer::Custom { name, scores } = explainer.lig_scorer(lig_config()).unwrap() else {
        panic!("LIG is a custom scorer");
    };
    assert_eq!(name, "lig");
    for target in 0..3 {
        let from_scorer = scores(&features, target).unwrap();
        let options = TextLigOptions {
            config: lig_config(),
            target: Some(target),
            words: None,
        };
        let lig = explainer.lig(text, &options).unwrap();
        let method = explainer
            .explain_method(
                text,
                TextMethod::Lig,
                &MethodOptions {
                    lig: options.clone(),
                    target: Some(target),
                    ..MethodOptions::default()
                },
            )
            .unwrap();
        assert_eq!(method.scores, lig.scores);
        let real: Vec<f64> = (0..enc.len())
            .filter(|&t| enc.special_tokens_mask[t] == 0)
            .map(|t| lig.scores[t])
            .collect();
        assert_eq!(from_scorer.len(), real.len());
        for (a, b) in from_scorer.iter().zip(&real) {
            assert!((a - b).abs() < 1e-9, "target {target}: {a} vs {b}");
        }
    }
}

#[test]
fn gpt2_occlusion_is_the_direct_drop_with_endoftext() {
    let dir = reference_path("transformers/gpt2_tiny");
    let explainer = TextExplainer::from_dir(&dir).unwrap();
    let text = "Hello world, this is";
    let e = explainer
        .explain_method(text, TextMethod::Occlusion, &MethodOptions::default())
        .unwrap();
    let model = Gpt2LmHeadModel::from_dir(&dir).unwrap();
    let tok = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let eot = tok.token_to_id("<|endoftext|>").unwrap();
    let p = Gpt2NextToken {
        model: &model,
        pad_id: tok.pad_id(),
        targets: vec![e.target as u32],
    };
    let mut rows = vec![e.ids.clone()];
    for t in 0..e.ids.len() {
        let mut r = e.ids.clone();
        r[t] = eot;
        rows.push(r);
    }
    let y = p.predict_ids(&rows).unwrap();
    assert!((e.output - y[[0, 0]]).abs() < 1e-9);
    for t in 0..e.ids.len() {
        let drop = y[[0, 0]] - y[[t + 1, 0]];
        assert!(
            (e.scores[t] - drop).abs() < 1e-6,
            "token {t}: {} vs {drop}",
            e.scores[t]
        );
    }
    // The default target is the greedy next token, as LIG's.
    let lig = explainer.lig(text, &TextLigOptions::default()).unwrap();
    assert_eq!(e.target, lig.target);
}

#[test]
fn a_classifier_in_memory_truncates_or_refuses_long_texts() {
    let dir = reference_path("transformers/bert_tiny");
    let long = "free money ".repeat(100);
    let clf = TextClassifier::load(&dir).unwrap();
    let max_len = clf.max_len();
    let cut = TextExplainer::from_text_classifier(clf, LongInputs::Truncate).unwrap();
    let e = cut
        .explain_method(&long, TextMethod::Rollout, &MethodOptions::default())
        .unwrap();
    assert_eq!(e.tokens.len(), max_len);
    assert_eq!(e.tokens.last().unwrap(), "[SEP]");
    let strict =
        TextExplainer::from_text_classifier(TextClassifier::load(&dir).unwrap(), LongInputs::Error)
            .unwrap();
    let err = strict
        .explain_method(&long, TextMethod::Occlusion, &MethodOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains(&max_len.to_string()), "{err}");
}
