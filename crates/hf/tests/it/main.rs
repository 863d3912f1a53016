//! End-to-end tests of glassbox-hf against the Hugging Face references (one test binary).

mod bert;
mod bert_train;
mod gpt2;
mod minilm;
mod safetensors_fuzz;

use glassbox_tensor::Tensor;
use serde_json::Value;

/// A nested JSON array as a flat f64 vector.
pub fn flat(v: &Value) -> Vec<f64> {
    glassbox_testkit::json_f64(v)
}

/// Token ids of a JSON array.
pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// The rows `i` of a `[n, width]`-shaped flat vector for which `keep(i)`.
pub fn rows<T: Copy>(data: &[T], width: usize, keep: impl Fn(usize) -> bool) -> Vec<T> {
    data.chunks(width)
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .flat_map(|(_, r)| r.iter().copied())
        .collect()
}

/// A tensor's values (contiguous copy).
pub fn values(t: &Tensor) -> Vec<f32> {
    t.contiguous().to_vec()
}
