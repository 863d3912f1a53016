//! Attention and Transformer layers against PyTorch (`tests/reference/transformers/
//! attention.json`): outputs, attention weights, input and parameter gradients of
//! `sum(output * upstream)`, on the recorded (graph) path and the fused inference path.

use glassbox_autograd::{no_grad, Var};
use glassbox_nn::attention::{
    AttentionOptions, DecoderOptions, EncoderOptions, Mask, MultiheadAttention,
    TransformerDecoderLayer, TransformerEncoderLayer, TransformerLayerConfig,
};
use glassbox_nn::{ActivationKind, Module};
use glassbox_tensor::{rng::Rng, Tensor};
use glassbox_testkit::{assert_close, json_f32, json_f64, json_shape, reference_json};
use serde_json::Value;

const TOL: f64 = 1e-4;

fn tensor(v: &Value) -> Tensor {
    Tensor::from_vec(json_f32(v), &json_shape(v)).unwrap()
}

fn leaf(v: &Value) -> Var {
    Var::leaf(tensor(v), true)
}

fn check_grad(what: &str, v: &Var, expected: &Value) {
    let g = v.grad().unwrap_or_else(|| panic!("{what}: no gradient"));
    assert_eq!(g.shape(), json_shape(expected).as_slice(), "{what}: shape");
    assert_close(what, &g.to_vec(), &json_f64(expected), TOL);
}

/// Loads the case's parameters by their PyTorch names and checks the names map 1:1.
fn load_params(module: &dyn Module, case: &Value) {
    let params = case["params"].as_object().unwrap();
    let ours = module.named_parameters();
    let mut names: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
    let mut theirs: Vec<&str> = params.keys().map(String::as_str).collect();
    names.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(names, theirs, "parameter names");
    for (name, var) in &ours {
        let t = tensor(&params[name]);
        assert_eq!(var.shape(), t.shape(), "{name}");
        var.set_value(t);
    }
}

fn check_param_grads(module: &dyn Module, case: &Value, label: &str) {
    for (name, var) in module.named_parameters() {
        check_grad(
            &format!("{label} grad {name}"),
            &var,
            &case["grad_params"][&name],
        );
    }
}

fn mha_case(case: &Value) {
    let name = case["name"].as_str().unwrap();
    let heads = case["num_heads"].as_u64().unwrap() as usize;
    let e = case["embed_dim"].as_u64().unwrap() as usize;
    let bias = case["bias"].as_bool().unwrap();
    let batch_first = case["batch_first"].as_bool().unwrap();
    let p = &case["params"];
    let mha = MultiheadAttention::from_tensors(
        heads,
        batch_first,
        tensor(&p["in_proj_weight"]),
        bias.then(|| tensor(&p["in_proj_bias"])),
        tensor(&p["out_proj.weight"]),
        bias.then(|| tensor(&p["out_proj.bias"])),
    )
    .unwrap();
    assert_eq!(mha.embed_dim(), e);
    load_params(&mha, case);
    let self_attention = case["self_attention"].as_bool().unwrap();
    let query = leaf(&case["query"]);
    let (key, value) = if self_attention {
        (query.clone(), query.clone())
    } else {
        (leaf(&case["key"]), leaf(&case["value"]))
    };
    let kpm = case.get("key_padding_mask").map(|m| Mask::Bool(tensor(m)));
    let attn_mask = if let Some(m) = case.get("attn_mask_bool") {
        Some(Mask::Bool(tensor(m)))
    } else if case
        .get("attn_mask_float_causal")
        .is_some_and(|v| v.as_bool() == Some(true))
    {
        let l = query.shape()[if batch_first { 1 } else { 0 }];
        Some(Mask::causal(l))
    } else {
        None
    };
    let opts = AttentionOptions {
        key_padding_mask: kpm.as_ref(),
        attn_mask: attn_mask.as_ref(),
        need_weights: true,
        average_attn_weights: case["average_attn_weights"].as_bool().unwrap(),
        is_causal: false,
    };
    let out = mha.forward_qkv(&query, &key, &value, &opts).unwrap();
    let label = format!("mha {name}");
    assert_close(
        &format!("{label} output"),
        &out.output.value().to_vec(),
        &json_f64(&case["output"]),
        TOL,
    );
    let w = out.weights.unwrap();
    assert_eq!(
        w.shape(),
        json_shape(&case["attn_weights"]),
        "{label} weights shape"
    );
    assert_close(
        &format!("{label} weights"),
        &w.value().to_vec(),
        &json_f64(&case["attn_weights"]),
        TOL,
    );
    out.output
        .backward_with(&tensor(&case["upstream"]))
        .unwrap();
    check_grad(&format!("{label} grad_query"), &query, &case["grad_query"]);
    if !self_attention {
        check_grad(&format!("{label} grad_key"), &key, &case["grad_key"]);
        check_grad(&format!("{label} grad_value"), &value, &case["grad_value"]);
    }
    check_param_grads(&mha, case, &label);

    // The fused inference path gives the same values.
    let fused = no_grad(|| mha.forward_qkv(&query, &key, &value, &opts)).unwrap();
    assert!(!fused.output.requires_grad());
    assert_close(
        &format!("{label} fused output"),
        &fused.output.value().to_vec(),
        &json_f64(&case["output"]),
        TOL,
    );
    assert_close(
        &format!("{label} fused weights"),
        &fused.weights.unwrap().value().to_vec(),
        &json_f64(&case["attn_weights"]),
        TOL,
    );
}

#[test]
fn multihead_attention_matches_pytorch() {
    let r = reference_json("transformers/attention.json");
    let cases = r["multihead_attention"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        mha_case(case);
    }
}

fn layer_config(case: &Value) -> TransformerLayerConfig {
    let u = |k: &str| case[k].as_u64().unwrap() as usize;
    TransformerLayerConfig {
        dim_feedforward: u("dim_feedforward"),
        dropout: 0.0,
        activation: match case["activation"].as_str().unwrap() {
            "relu" => ActivationKind::Relu,
            "gelu" => ActivationKind::Gelu,
            other => panic!("activation {other}"),
        },
        layer_norm_eps: case["layer_norm_eps"].as_f64().unwrap() as f32,
        batch_first: case["batch_first"].as_bool().unwrap(),
        norm_first: case["norm_first"].as_bool().unwrap(),
        ..TransformerLayerConfig::new(u("d_model"), u("nhead"))
    }
}

fn encoder_case(case: &Value) {
    let label = format!("layer {}", case["name"].as_str().unwrap());
    let layer = TransformerEncoderLayer::new(layer_config(case), &mut Rng::new(1)).unwrap();
    load_params(&layer, case);
    let x = leaf(&case["input"]);
    let kpm = Mask::Bool(tensor(&case["src_key_padding_mask"]));
    let opts = EncoderOptions {
        src_key_padding_mask: Some(&kpm),
        ..Default::default()
    };
    let out = layer.forward_with(&x, &opts).unwrap().output;
    assert_close(
        &format!("{label} output"),
        &out.value().to_vec(),
        &json_f64(&case["output"]),
        TOL,
    );
    out.backward_with(&tensor(&case["upstream"])).unwrap();
    check_grad(&format!("{label} grad_input"), &x, &case["grad_input"]);
    check_param_grads(&layer, case, &label);
    let fused = no_grad(|| layer.forward_with(&x, &opts)).unwrap().output;
    assert_close(
        &format!("{label} fused output"),
        &fused.value().to_vec(),
        &json_f64(&case["output"]),
        TOL,
    );
}

fn decoder_case(case: &Value) {
    let label = format!("layer {}", case["name"].as_str().unwrap());
    let layer = TransformerDecoderLayer::new(layer_config(case), &mut Rng::new(1)).unwrap();
    load_params(&layer, case);
    let x = leaf(&case["input"]);
    let memory = leaf(&case["memory"]);
    let kpm = Mask::Bool(tensor(&case["memory_key_padding_mask"]));
    assert_eq!(case["tgt_causal"].as_bool(), Some(true));
    let opts = DecoderOptions {
        memory_key_padding_mask: Some(&kpm),
        tgt_is_causal: true,
        ..Default::default()
    };
    let out = layer.forward_with(&x, &memory, &opts).unwrap().output;
    assert_close(
        &format!("{label} output"),
        &out.value().to_vec(),
        &json_f64(&case["output"]),
        TOL,
    );
    out.backward_with(&tensor(&case["upstream"])).unwrap();
    check_grad(&format!("{label} grad_input"), &x, &case["grad_input"]);
    check_grad(
        &format!("{label} grad_memory"),
        &memory,
        &case["grad_memory"],
    );
    check_param_grads(&layer, case, &label);
    // An explicit causal mask instead of the flag, on the fused path.
    let causal = Mask::causal(x.shape()[1]);
    let masked = DecoderOptions {
        tgt_mask: Some(&causal),
        tgt_is_causal: false,
        ..opts
    };
    let fused = no_grad(|| layer.forward_with(&x, &memory, &masked))
        .unwrap()
        .output;
    assert_close(
        &format!("{label} fused output"),
        &fused.value().to_vec(),
        &json_f64(&case["output"]),
        TOL,
    );
}

#[test]
fn transformer_layers_match_pytorch() {
    let r = reference_json("transformers/attention.json");
    let cases = r["layers"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        match case["kind"].as_str().unwrap() {
            "encoder" => encoder_case(case),
            "decoder" => decoder_case(case),
            other => panic!("layer kind {other}"),
        }
    }
}
