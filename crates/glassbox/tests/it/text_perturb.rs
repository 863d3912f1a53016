//! Perturbation methods over the tokens and words of real text on `bert_tiny`.

use glassbox::explain::text::{
    lime_text, text_kernel_shap, text_occlusion, LimeTextConfig, Removal, TextKernelShapConfig,
    TextOcclusionConfig, TokenPredictor,
};
use glassbox::explain_text::{text_features, BertPredictor, Granularity};
use glassbox::hf::{BertForSequenceClassification, Tokenizer};
use glassbox_testkit::reference_path;

fn setup() -> (BertForSequenceClassification, Tokenizer) {
    let dir = reference_path("transformers/bert_tiny");
    let model = BertForSequenceClassification::from_dir(&dir).unwrap();
    let tok = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    (model, tok)
}

/// Exact Shapley values written out in the test: `φ_j = Σ_S |S|!(M−|S|−1)!/M! ·
/// (v(S ∪ j) − v(S))` over every subset `S` of the other words, `v(S)` the model's
/// probability with only the words of `S` present. Kernel SHAP enumerating all `2^M − 2`
/// coalitions must give the same values on the real model.
#[test]
fn kernel_shap_over_words_equals_brute_force_shapley_values() {
    let (model, tok) = setup();
    let text = "Free money!!! Click here to claim your prize";
    let enc = tok.encode(text, true).unwrap();
    let features = text_features(text, &enc, Granularity::Words).unwrap();
    let m = features.n_features();
    assert_eq!(m, 9, "{:?}", features.groups());
    let p = BertPredictor {
        model: &model,
        pad_id: tok.pad_id(),
    };
    for removal in [
        Removal::Delete,
        Removal::Replace(tok.token_to_id("[MASK]").unwrap()),
    ] {
        let cfg = TextKernelShapConfig::new(removal, 1 << m);
        let a = text_kernel_shap(&p, &features, 1, &cfg).unwrap();
        assert_eq!(a.evaluations, (1 << m) - 2 + 2);
        let rows: Vec<Vec<u32>> = (0..1u32 << m)
            .map(|s| features.render(|j| s & (1 << j) != 0, removal))
            .collect();
        let v = p.predict_ids(&rows).unwrap();
        let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
        for j in 0..m {
            let mut phi = 0.0;
            for s in 0..1usize << m {
                if s & (1 << j) != 0 {
                    continue;
                }
                let size = s.count_ones() as usize;
                let w = fact(size) * fact(m - size - 1) / fact(m);
                phi += w * (v[[s | (1 << j), 1]] - v[[s, 1]]);
            }
            assert!(
                (a.scores[j] - phi).abs() < 1e-6,
                "{removal:?} word {j}: kernel {} vs exact {phi}",
                a.scores[j]
            );
        }
        let total: f64 = a.scores.iter().sum();
        // f32 model: the same rows in other batches agree to float rounding, not exactly.
        let diff = v[[(1 << m) - 1, 1]] - v[[0, 1]];
        assert!((total - diff).abs() < 1e-6, "efficiency: {total} vs {diff}");
    }
}

/// Occlusion of each token is the drop of the probability when that token alone is
/// removed, computed here by rendering the ids by hand; special tokens are never removed.
#[test]
fn token_occlusion_is_the_direct_drop_on_the_real_model() {
    let (model, tok) = setup();
    let text = "Re: the meeting is moved to Tuesday";
    let enc = tok.encode(text, true).unwrap();
    let features = text_features(text, &enc, Granularity::Tokens).unwrap();
    assert_eq!(features.n_features(), enc.len() - 2);
    let p = BertPredictor {
        model: &model,
        pad_id: tok.pad_id(),
    };
    let a = text_occlusion(&p, &features, 0, &TextOcclusionConfig::new(Removal::Delete)).unwrap();
    let full = p.predict_ids(std::slice::from_ref(&enc.ids)).unwrap()[[0, 0]];
    for j in 0..features.n_features() {
        let mut ids = enc.ids.clone();
        ids.remove(j + 1); // feature j is token j + 1 ([CLS] is token 0)
        let dropped = p.predict_ids(&[ids]).unwrap()[[0, 0]];
        assert!((a.scores[j] - (full - dropped)).abs() < 1e-6, "token {j}");
    }
    // LIME on the same text runs within its budget and fits the model locally.
    let lime = lime_text(&p, &features, 0, &LimeTextConfig::new(Removal::Delete, 300)).unwrap();
    assert_eq!(lime.evaluations, 300);
    assert!(
        (lime.model_prediction - full).abs() < 1e-6,
        "{} vs {full}",
        lime.model_prediction
    );
    assert!(lime.r2 > 0.0 && lime.r2 <= 1.0);
}
