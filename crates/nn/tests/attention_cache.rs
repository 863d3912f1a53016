//! Key/value-cached decoding gives the outputs of the full causal pass (within 1e-5), and
//! inference records no graph.

use glassbox_autograd::{no_grad, nodes_recorded, Var};
use glassbox_nn::attention::{
    DecoderOptions, EncoderOptions, KvCache, TransformerDecoder, TransformerEncoder,
    TransformerEncoderLayer, TransformerLayerConfig,
};
use glassbox_nn::{ActivationKind, Module};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

fn gpt2_like(batch_first: bool) -> TransformerLayerConfig {
    TransformerLayerConfig {
        dim_feedforward: 24,
        dropout: 0.1, // inactive in eval mode
        activation: ActivationKind::GeluTanh,
        batch_first,
        norm_first: true,
        ..TransformerLayerConfig::new(12, 3)
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_vec()
        .iter()
        .zip(b.to_vec())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Feeds `x` in pieces of `chunks` positions and stitches the outputs back together.
fn chunked(
    x: &Var,
    seq_axis: usize,
    chunks: &[usize],
    mut step: impl FnMut(&Var) -> Var,
) -> Tensor {
    let mut start = 0;
    let mut parts = Vec::new();
    for &n in chunks {
        parts.push(step(&x.narrow(seq_axis, start, n).unwrap()).value());
        start += n;
    }
    assert_eq!(start, x.shape()[seq_axis]);
    Tensor::concat(&parts.iter().collect::<Vec<_>>(), seq_axis)
}

#[test]
fn cached_encoder_layer_equals_full_causal_pass() {
    for batch_first in [true, false] {
        let mut rng = Rng::new(5);
        let mut layer = TransformerEncoderLayer::new(gpt2_like(batch_first), &mut rng).unwrap();
        layer.set_training(false);
        let (b, l) = (2, 9);
        let shape = if batch_first { [b, l, 12] } else { [l, b, 12] };
        let x = Var::constant(Tensor::rand_normal(&shape, 0.0, 1.0, &mut rng));
        let opts = EncoderOptions {
            is_causal: true,
            ..Default::default()
        };
        let full = no_grad(|| layer.forward_with(&x, &opts))
            .unwrap()
            .output
            .value();
        let axis = if batch_first { 1 } else { 0 };
        let mut cache = KvCache::new();
        let pieces = chunked(&x, axis, &[4, 1, 1, 3], |p| {
            layer.forward_cached(p, &mut cache, &opts).unwrap().output
        });
        assert_eq!(cache.len(), l);
        let d = max_diff(&pieces, &full);
        assert!(
            d < 1e-5,
            "batch_first {batch_first}: cached vs full differ by {d}"
        );
        // Token by token through a cache that had to grow past its first capacity (16).
        let long = Var::constant(Tensor::rand_normal(
            &if batch_first {
                [1, 20, 12]
            } else {
                [20, 1, 12]
            },
            0.0,
            1.0,
            &mut rng,
        ));
        let full = no_grad(|| layer.forward_with(&long, &opts))
            .unwrap()
            .output
            .value();
        let mut cache = KvCache::new();
        let steps = chunked(&long, axis, &[1; 20], |p| {
            layer.forward_cached(p, &mut cache, &opts).unwrap().output
        });
        assert!(cache.capacity() >= 20);
        assert!(max_diff(&steps, &full) < 1e-5);
    }
}

#[test]
fn cached_stacks_equal_full_passes() {
    let mut rng = Rng::new(6);
    let mut enc = TransformerEncoder::new(gpt2_like(true), 3, true, &mut rng).unwrap();
    enc.set_training(false);
    let x = Var::constant(Tensor::rand_normal(&[2, 7, 12], 0.0, 1.0, &mut rng));
    let opts = EncoderOptions {
        is_causal: true,
        ..Default::default()
    };
    let full = no_grad(|| enc.forward_with(&x, &opts)).unwrap();
    assert_eq!(full.hidden_states.len(), 3);
    let mut caches = vec![KvCache::new(); 3];
    let pieces = chunked(&x, 1, &[3, 2, 1, 1], |p| {
        enc.forward_cached(p, &mut caches, &opts).unwrap().output
    });
    assert!(max_diff(&pieces, &full.output.value()) < 1e-5);
    assert!(enc.forward_cached(&x, &mut caches[..2], &opts).is_err());

    let cfg = TransformerLayerConfig {
        norm_first: false,
        activation: ActivationKind::Relu,
        ..gpt2_like(true)
    };
    let mut dec = TransformerDecoder::new(cfg, 2, false, &mut rng).unwrap();
    dec.set_training(false);
    let memory = Var::constant(Tensor::rand_normal(&[2, 5, 12], 0.0, 1.0, &mut rng));
    let dopts = DecoderOptions {
        tgt_is_causal: true,
        ..Default::default()
    };
    let full = no_grad(|| dec.forward_with(&x, &memory, &dopts))
        .unwrap()
        .output
        .value();
    let mut caches = vec![KvCache::new(); 2];
    let pieces = chunked(&x, 1, &[2, 5], |p| {
        dec.forward_cached(p, &memory, &mut caches, &dopts)
            .unwrap()
            .output
    });
    assert!(max_diff(&pieces, &full) < 1e-5);
}

#[test]
fn inference_records_no_graph_and_cache_limits_are_errors() {
    let mut rng = Rng::new(7);
    let mut layer = TransformerEncoderLayer::new(gpt2_like(true), &mut rng).unwrap();
    layer.set_training(false); // no dropout on the weights checked below
    let x = Var::constant(Tensor::rand_normal(&[1, 4, 12], 0.0, 1.0, &mut rng));
    let opts = EncoderOptions {
        is_causal: true,
        need_weights: true,
        ..Default::default()
    };
    let before = nodes_recorded();
    let out = no_grad(|| layer.forward_with(&x, &opts)).unwrap();
    assert_eq!(nodes_recorded(), before);
    assert!(!out.output.requires_grad());
    // The cached path records nothing even outside no_grad (its parameters require grad).
    let mut cache = KvCache::with_max_len(5);
    let out = layer.forward_cached(&x, &mut cache, &opts).unwrap();
    assert_eq!(nodes_recorded(), before);
    assert!(!out.output.requires_grad());
    let w = out.attn_weights.unwrap().value();
    assert_eq!(w.shape(), &[1, 3, 4, 4]);
    // Causal: the first query sees only itself.
    assert_eq!(w.to_vec()[..4], [1.0, 0.0, 0.0, 0.0]);
    // With a graph being recorded, the forward does record one.
    let _ = layer.forward_with(&x, &opts).unwrap();
    assert!(nodes_recorded() > before);
    let err = layer
        .forward_cached(&x.narrow(1, 0, 2).unwrap(), &mut cache, &opts)
        .unwrap_err();
    assert!(err.to_string().contains("max_len"), "{err}");
    let other_batch = Var::constant(Tensor::zeros(&[2, 1, 12]));
    let mut cache = KvCache::new();
    layer.forward_cached(&x, &mut cache, &opts).unwrap();
    assert!(layer
        .forward_cached(&other_batch, &mut cache, &opts)
        .is_err());
}
