//! all-MiniLM-L6-v2 against sentence-transformers (`../shared/models/…/reference.json`).

use glassbox_hf::{cosine_matrix, Batch, Pooling, SentenceEmbedder};
use glassbox_testkit::{assert_close, shared_file};
use serde_json::Value;

use crate::{flat, ids, rows, values};

#[test]
fn sentence_embeddings_hidden_states_and_cosines_match() {
    let Some(dir) = shared_file("models/all-MiniLM-L6-v2") else {
        return;
    };
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let st = SentenceEmbedder::from_dir(&dir).unwrap();
    assert_eq!(st.pooling, Pooling::Mean);
    assert!(st.normalize);
    let texts: Vec<&str> = r["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();

    // One padded batch of all eight sentences; padding must not change the real tokens.
    let batch: Batch = st.batch(&texts).unwrap();
    let hidden = values(&st.last_hidden_state(&batch).unwrap());
    let (l, h) = (batch.seq_len, 384);
    for (i, expected) in r["last_hidden_state"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let want = ids(&r["input_ids"][i]);
        assert_eq!(
            &batch.row(i)[..want.len()],
            want.as_slice(),
            "ids of sentence {i}"
        );
        let ours = rows(&hidden, h, |row| row / l == i && row % l < want.len());
        assert_close(
            &format!("last hidden state of sentence {i}"),
            &ours,
            &flat(expected),
            1e-4,
        );
    }
    let emb = st.embed(&texts).unwrap();
    assert_eq!(emb.shape(), &[8, 384]);
    assert_close("embeddings", &values(&emb), &flat(&r["embeddings"]), 1e-4);
    let cos = cosine_matrix(&emb).unwrap();
    assert_close("cosine matrix", &values(&cos), &flat(&r["cosine"]), 1e-4);
}
