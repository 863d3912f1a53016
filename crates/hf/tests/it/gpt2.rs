//! GPT-2 against transformers' GPT2LMHeadModel (`gpt2_tiny/reference.json`): logits,
//! 20 greedy ids per prompt, and the key/value-cached decode.

use glassbox_autograd::no_grad;
use glassbox_hf::{
    Batch, Decoding, GenerateOptions, Gpt2Cache, Gpt2LmHeadModel, HfError, StopReason, Tokenizer,
};
use glassbox_testkit::{assert_close, max_abs_diff, reference_json, reference_path};

use crate::{flat, ids, values};

fn model_and_tokenizer() -> (Gpt2LmHeadModel, Tokenizer) {
    let dir = reference_path("transformers/gpt2_tiny");
    let model = Gpt2LmHeadModel::from_dir(&dir).unwrap();
    let tok = Tokenizer::from_file(dir.join("tokenizer.json"))
        .unwrap()
        .with_limit(64);
    (model, tok)
}

#[test]
fn logits_match_transformers_and_lm_head_is_tied() {
    let r = reference_json("transformers/gpt2_tiny/reference.json");
    let (model, tok) = model_and_tokenizer();
    // Tied: the head reads the very storage of the token embeddings.
    assert_eq!(
        model.lm_head.weight.value().as_array().as_ptr(),
        model.wte.weight.value().as_array().as_ptr()
    );
    for (k, case) in r["cases"].as_array().unwrap().iter().enumerate() {
        let prompt = ids(&case["input_ids"]);
        let enc = tok.encode(case["prompt"].as_str().unwrap(), true).unwrap();
        assert_eq!(enc.ids, prompt, "tokenizer ids of prompt {k}");
        let logits =
            no_grad(|| model.forward(&Batch::from_ids(std::slice::from_ref(&prompt), 0).unwrap()))
                .unwrap();
        assert_eq!(logits.shape(), vec![1, prompt.len(), 600]);
        assert_close(
            &format!("logits of prompt {k}"),
            &values(&logits.value()),
            &flat(&case["logits"]),
            1e-4,
        );
    }
}

#[test]
fn greedy_generation_reproduces_every_reference_token() {
    let r = reference_json("transformers/gpt2_tiny/reference.json");
    let (model, tok) = model_and_tokenizer();
    for (k, case) in r["cases"].as_array().unwrap().iter().enumerate() {
        let prompt = ids(&case["input_ids"]);
        for use_cache in [true, false] {
            let opts = GenerateOptions {
                max_new_tokens: 20,
                use_cache,
                ..GenerateOptions::default()
            };
            let out = model.generate(&prompt, &opts, Some(&tok)).unwrap();
            assert_eq!(
                out.ids,
                ids(&case["greedy_ids"]),
                "prompt {k}, cache {use_cache}"
            );
            assert_eq!(out.stop, StopReason::MaxNewTokens);
            assert_eq!(
                out.text.as_deref(),
                case["greedy_text"].as_str(),
                "text of prompt {k}"
            );
        }
    }
}

#[test]
fn cached_decoding_gives_the_uncached_logits() {
    let r = reference_json("transformers/gpt2_tiny/reference.json");
    let (model, _) = model_and_tokenizer();
    let case = &r["cases"][0];
    let mut seq = ids(&case["input_ids"]);
    seq.extend(ids(&case["greedy_ids"]));
    let full = values(
        &no_grad(|| model.forward(&Batch::from_ids(std::slice::from_ref(&seq), 0).unwrap()))
            .unwrap()
            .value(),
    );
    // The prompt in one piece, then one token at a time, then a chunk of three.
    let mut cache = Gpt2Cache::default();
    let mut cached = Vec::new();
    let p = ids(&case["input_ids"]).len();
    let mut pieces = vec![(0, p)];
    pieces.extend((p..p + 10).map(|i| (i, i + 1)));
    pieces.push((p + 10, p + 13));
    for (a, b) in pieces {
        let logits = model.forward_cached(&seq[a..b], 1, &mut cache).unwrap();
        cached.extend(values(&logits.value()));
    }
    assert_eq!(cache.len(), p + 13);
    let diff = max_abs_diff(
        &cached,
        &full[..cached.len()]
            .iter()
            .map(|&v| f64::from(v))
            .collect::<Vec<_>>(),
    );
    assert!(diff <= 1e-5, "cached and uncached logits differ by {diff}");
}

#[test]
fn sampling_is_seeded_and_stops_on_ids_and_strings() {
    let (model, tok) = model_and_tokenizer();
    let prompt = tok.encode("Click here to claim", true).unwrap().ids;
    let sample = |seed| GenerateOptions {
        max_new_tokens: 12,
        decoding: Decoding::Sample {
            temperature: 0.8,
            top_k: Some(50),
            top_p: Some(0.9),
            seed,
        },
        ..GenerateOptions::default()
    };
    let a = model.generate(&prompt, &sample(7), Some(&tok)).unwrap();
    let b = model.generate(&prompt, &sample(7), Some(&tok)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.ids.len(), 12);
    let others: Vec<_> = (8..12)
        .map(|s| model.generate(&prompt, &sample(s), None).unwrap().ids)
        .collect();
    assert!(
        others.iter().any(|o| *o != a.ids),
        "different seeds give different samples"
    );

    let greedy = model
        .generate(&prompt, &GenerateOptions::default(), Some(&tok))
        .unwrap();
    let stop_id = greedy.ids[3];
    let first = greedy.ids.iter().position(|&t| t == stop_id).unwrap();
    let opts = GenerateOptions {
        stop_ids: vec![stop_id],
        ..GenerateOptions::default()
    };
    let stopped = model.generate(&prompt, &opts, None).unwrap();
    assert_eq!(stopped.ids, greedy.ids[..=first]);
    assert_eq!(stopped.stop, StopReason::StopId(stop_id));

    let text = greedy.text.unwrap();
    let needle: String = text.chars().skip(4).take(3).collect();
    let opts = GenerateOptions {
        stop_strings: vec![needle.clone()],
        ..GenerateOptions::default()
    };
    let stopped = model.generate(&prompt, &opts, Some(&tok)).unwrap();
    assert_eq!(stopped.stop, StopReason::StopString(needle.clone()));
    let cut = stopped.text.unwrap();
    assert!(
        text.starts_with(&cut) && !cut.contains(&needle),
        "{cut:?} / {text:?}"
    );

    let too_long = GenerateOptions {
        max_new_tokens: 64,
        ..GenerateOptions::default()
    };
    match model.generate(&prompt, &too_long, None).unwrap_err() {
        HfError::InputTooLong { limit, .. } => assert_eq!(limit, 64),
        other => panic!("expected InputTooLong, got {other}"),
    }
}
