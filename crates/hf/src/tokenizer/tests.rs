use super::*;
use glassbox_testkit::{reference_json, reference_path, shared_file};
use serde_json::Value;

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn offsets(v: &Value) -> Vec<(usize, usize)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_u64().unwrap() as usize,
                p[1].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

fn assert_case(kind: &str, i: usize, case: &Value, enc: &Encoding) {
    let what = format!("{kind}[{i}] {:?}", case["text"].as_str().unwrap());
    assert_eq!(enc.ids, u32s(&case["ids"]), "ids of {what}");
    assert_eq!(enc.offsets, offsets(&case["offsets"]), "offsets of {what}");
    assert_eq!(enc.type_ids, u32s(&case["type_ids"]), "type ids of {what}");
    if let Some(mask) = case.get("special_tokens_mask") {
        assert_eq!(
            enc.special_tokens_mask,
            u32s(mask),
            "special mask of {what}"
        );
    }
}

fn tokenizer(name: &str) -> Tokenizer {
    Tokenizer::from_file(reference_path(&format!("transformers/tokenizers/{name}"))).unwrap()
}

#[test]
fn wordpiece_matches_every_reference_case() {
    let refs = reference_json("transformers/tokenizers/encodings.json");
    let tok = tokenizer("wordpiece.json");
    let cases = refs["wordpiece"].as_array().unwrap();
    assert_eq!(cases.len(), 170);
    for (i, case) in cases.iter().enumerate() {
        let enc = tok.encode(case["text"].as_str().unwrap(), true).unwrap();
        assert_case("wordpiece", i, case, &enc);
    }
    // The batch path gives the same encodings.
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
    for (i, (enc, case)) in tok
        .encode_batch(&texts, true)
        .unwrap()
        .iter()
        .zip(cases)
        .enumerate()
    {
        assert_case("wordpiece batch", i, case, enc);
    }
}

#[test]
fn wordpiece_pairs_match_every_reference_case() {
    let refs = reference_json("transformers/tokenizers/encodings.json");
    let tok = tokenizer("wordpiece.json");
    let cases = refs["wordpiece_pairs"].as_array().unwrap();
    assert_eq!(cases.len(), 20);
    for (i, case) in cases.iter().enumerate() {
        let (a, b) = (
            case["text"].as_str().unwrap(),
            case["pair"].as_str().unwrap(),
        );
        let enc = tok.encode_pair(a, b, true).unwrap();
        assert_case("pair", i, case, &enc);
        assert!(enc.type_ids.contains(&1), "pair {i} has a second segment");
    }
}

#[test]
fn byte_level_bpe_matches_every_reference_case_and_decodes_back() {
    let refs = reference_json("transformers/tokenizers/encodings.json");
    let tok = tokenizer("bytelevel_bpe.json");
    let cases = refs["bytelevel_bpe"].as_array().unwrap();
    assert_eq!(cases.len(), 170);
    for (i, case) in cases.iter().enumerate() {
        let enc = tok.encode(case["text"].as_str().unwrap(), true).unwrap();
        assert_case("bpe", i, case, &enc);
        let decoded = tok.decode(&enc.ids, true).unwrap();
        assert_eq!(
            decoded,
            case["decoded"].as_str().unwrap(),
            "decode of bpe[{i}]"
        );
    }
}

#[test]
fn minilm_tokenizer_matches_its_200_mails() {
    let Some(dir) = shared_file("models/all-MiniLM-L6-v2") else {
        return;
    };
    let refs: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let tok = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    // The file asks for truncation and padding to 128; both are off until asked for.
    assert_eq!(tok.file_truncation(), Some(128));
    assert!(tok.file_padding().is_some());
    let cases = refs["tokenizer_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 200);
    for (i, case) in cases.iter().enumerate() {
        let enc = tok.encode(case["text"].as_str().unwrap(), true).unwrap();
        assert_case("minilm", i, case, &enc);
    }
}

#[test]
fn over_long_input_is_an_error_or_an_explicit_truncation() {
    let tok = tokenizer("wordpiece.json").with_limit(12);
    let text = "the quick brown fox jumps over the lazy dog";
    let full = tokenizer("wordpiece.json").encode(text, true).unwrap();
    assert!(full.len() > 12);
    match tok.encode(text, true).unwrap_err() {
        HfError::InputTooLong { length, limit, .. } => {
            assert_eq!((length, limit), (full.len(), 12))
        }
        other => panic!("expected InputTooLong, got {other}"),
    }
    let cut = tok
        .clone()
        .with_truncation(Truncation::LongestFirst { max_length: 10 })
        .unwrap();
    let enc = cut.encode(text, true).unwrap();
    assert_eq!(enc.len(), 10);
    assert_eq!(&enc.ids[..9], &full.ids[..9]);
    assert_eq!(enc.tokens.last().unwrap(), "[SEP]");
    let pair = cut.encode_pair(text, "a b", true).unwrap();
    assert_eq!(pair.len(), 10);
    assert!(tok
        .clone()
        .with_truncation(Truncation::OnlyFirst { max_length: 13 })
        .is_err());
    assert!(tok
        .with_truncation(Truncation::OnlySecond { max_length: 0 })
        .is_err());
}

#[test]
fn bad_files_are_named_errors() {
    let err = Tokenizer::from_json_str("{\"model\": 3}", "bad.json").unwrap_err();
    assert!(err.to_string().starts_with("bad.json: tokenizer:"), "{err}");
    let err = Tokenizer::from_file("/nonexistent/tokenizer.json").unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/tokenizer.json"),
        "{err}"
    );
}
