//! Property tests of the protocol layer: binary and JSON tensor decoding, response
//! encoding, and splitting merged batches back by rows.

use glassbox_serve::model::{ModelMetadata, OutputTensor, Prediction};
use glassbox_serve::protocol::{decode_input, encode_response, parse_request};
use glassbox_serve::tensor::{binary_to_f32, json_to_f32, tensor_to_binary, Datatype};
use ndarray::{Array2, ArrayD, IxDyn};
use proptest::prelude::*;
use serde_json::json;

fn finite() -> impl Strategy<Value = f32> {
    -1e6f32..1e6f32
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn binary_fp32_round_trips(values in prop::collection::vec(finite(), 0..64)) {
        let t = OutputTensor::Fp32(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.clone()).unwrap());
        let bytes = tensor_to_binary(&t);
        prop_assert_eq!(bytes.len(), values.len() * 4);
        prop_assert_eq!(binary_to_f32("x", Datatype::Fp32, &bytes).unwrap(), values);
    }

    #[test]
    fn nested_and_flat_json_agree(rows in 1usize..5, cols in 1usize..6, seed in any::<u32>()) {
        let vals: Vec<f32> = (0..rows * cols).map(|i| ((i as u32).wrapping_mul(seed) % 1000) as f32 / 8.0).collect();
        let nested: Vec<Vec<f32>> = vals.chunks(cols).map(|c| c.to_vec()).collect();
        let a = json_to_f32("x", Datatype::Fp32, &json!(vals)).unwrap();
        let b = json_to_f32("x", Datatype::Fp32, &json!(nested)).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn binary_and_json_requests_decode_identically(n in 1usize..4, seed in any::<u32>()) {
        let meta = ModelMetadata::classifier("input", &[2, 3], 4, &[]);
        let vals: Vec<f32> = (0..n * 6).map(|i| ((i as u32 ^ seed) % 97) as f32 - 40.0).collect();
        let json_body = json!({"inputs": [{"name": "input", "shape": [n, 2, 3], "datatype": "FP32", "data": vals}]}).to_string();
        let a = decode_input(&parse_request(json_body.as_bytes(), None).unwrap(), &meta).unwrap();
        let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let head = json!({"inputs": [{"name": "input", "shape": [n, 2, 3], "datatype": "FP32",
            "parameters": {"binary_data_size": bytes.len()}}]}).to_string();
        let mut body = head.clone().into_bytes();
        body.extend_from_slice(&bytes);
        let len = head.len().to_string();
        let b = decode_input(&parse_request(&body, Some(&len)).unwrap(), &meta).unwrap();
        prop_assert_eq!(a.shape(), &[n, 2, 3]);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn split_rows_reassemble_the_batch(sizes in prop::collection::vec(1usize..4, 1..6), seed in any::<u32>()) {
        let total: usize = sizes.iter().sum();
        let probs = Array2::from_shape_fn((total, 3), |(r, c)| ((r * 3 + c) as u32 ^ seed) as f32 % 7.0 + 1.0);
        let pred = Prediction::classification(probs.clone(), &[]);
        let mut start = 0;
        for &s in &sizes {
            let part = pred.rows(start, start + s);
            prop_assert_eq!(part.batch_len(), s);
            match &part.outputs[0].1 {
                OutputTensor::Fp32(a) => {
                    for r in 0..s {
                        for c in 0..3 {
                            prop_assert_eq!(a[[r, c]], probs[[start + r, c]]);
                        }
                    }
                }
                other => prop_assert!(false, "unexpected output {:?}", other),
            }
            start += s;
        }
    }

    #[test]
    fn binary_response_sizes_add_up(n in 1usize..6, binary_mask in 0u8..8) {
        let pred = Prediction::classification(Array2::from_elem((n, 4), 0.25f32), &[]);
        let names = ["probabilities", "class", "label"];
        let outputs: Vec<_> = names.iter().enumerate()
            .map(|(i, name)| json!({"name": name, "parameters": {"binary_data": binary_mask & (1 << i) != 0}}))
            .collect();
        let req_body = json!({"inputs": [], "outputs": outputs}).to_string();
        let req = parse_request(req_body.as_bytes(), None).unwrap().request;
        let enc = encode_response("m", "1", &req, &pred.outputs).unwrap();
        let json_len = enc.json_len.unwrap_or(enc.body.len());
        prop_assert_eq!(enc.json_len.is_some(), binary_mask != 0);
        let v: serde_json::Value = serde_json::from_slice(&enc.body[..json_len]).unwrap();
        let declared: u64 = v["outputs"].as_array().unwrap().iter()
            .filter_map(|o| o["parameters"]["binary_data_size"].as_u64()).sum();
        prop_assert_eq!(declared as usize, enc.body.len() - json_len);
    }
}
