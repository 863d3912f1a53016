//! Finite-difference checks (autograd's `gradcheck`, random small shapes) of the attention
//! core with padding masks, boolean/additive attention masks and causal limits, of
//! LayerNorm (affine and without bias) and of both GELUs; and the fused inference paths
//! against the recorded ones.

use glassbox_autograd::{gradcheck, no_grad, AutogradError, Var};
use glassbox_nn::attention::{scaled_dot_product_attention, Mask, PackedHeads, SdpaConfig};
use glassbox_nn::{Activation, LayerNorm, Module};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;
use proptest::prelude::*;

fn nn_err(e: glassbox_nn::NnError) -> AutogradError {
    AutogradError::invalid("attention", e.to_string())
}

/// An additive mask `[B, 1, L, S]` with random exclusions, keeping key 0 visible in every
/// row (so no row is fully masked; full masking is tested in the kernel's unit tests).
fn random_mask(b: usize, l: usize, s: usize, rng: &mut Rng) -> Tensor {
    let bits = Tensor::rand_uniform(&[b * l * s], 0.0, 1.0, rng).to_vec();
    let data = bits
        .iter()
        .enumerate()
        .map(|(i, &u)| {
            if i % s != 0 && u < 0.3 {
                f32::NEG_INFINITY
            } else if u > 0.8 {
                u - 0.8
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_vec(data, &[b, 1, l, s]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn attention_with_masks_matches_finite_differences(
        b in 1usize..3, l in 1usize..4, s in 1usize..5, heads in 1usize..3, hd in 1usize..3,
        batch_first in any::<bool>(), causal in any::<bool>(), masked in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let mut rng = Rng::new(seed);
        let e = heads * hd;
        let shape = |t: usize| if batch_first { vec![b, t, e] } else { vec![t, b, e] };
        let q = Tensor::rand_normal(&shape(l), 0.0, 1.0, &mut rng);
        // Keys and values packed side by side, as a cross-attention's K|V projection.
        let mut kv_shape = shape(s);
        kv_shape[2] = 2 * e;
        let kv = Tensor::rand_normal(&kv_shape, 0.0, 1.0, &mut rng);
        let mask = masked.then(|| random_mask(b, l, s, &mut rng));
        // With a causal limit, the first queries must still see key 0: S ≥ L.
        let causal = causal && s >= l;
        let run = |v: &[Var]| -> Result<Var, AutogradError> {
            let cfg = SdpaConfig {
                heads, head_dim: hd, batch_first, scale: 0.8, causal, mask: mask.as_ref(),
                dropout: None, training: false, need_weights: true,
            };
            let out = scaled_dot_product_attention(
                PackedHeads::new(&v[0], 0), PackedHeads::new(&v[1], 0), PackedHeads::new(&v[1], e), &cfg,
            ).map_err(nn_err)?;
            // Both outputs matter: the merged values and the probabilities.
            let w = out.weights.unwrap().sum_axes(&[1], false)?.sum_all();
            out.output.sum_all().add(&w.mul_scalar(0.5))
        };
        let report = gradcheck(run, &[q.clone(), kv.clone()], 1e-3, 2e-2).unwrap();
        prop_assert!(report.passed(), "{}", report);
        // The fused path (no graph) gives the recorded path's values.
        let (qv, kvv) = (Var::parameter(q), Var::parameter(kv));
        let graph = run(&[qv.clone(), kvv.clone()]).unwrap().value().to_vec()[0];
        let fused = no_grad(|| run(&[qv, kvv])).unwrap().value().to_vec()[0];
        prop_assert!((graph - fused).abs() <= 1e-4 * (1.0 + graph.abs()), "{graph} vs {fused}");
    }

    #[test]
    fn self_attention_through_one_packed_tensor(
        b in 1usize..3, l in 1usize..4, heads in 1usize..3, seed in 0u64..1000,
    ) {
        // Q, K and V are columns of the same input: their gradients add up in it.
        let mut rng = Rng::new(seed);
        let e = heads * 2;
        let x = Tensor::rand_normal(&[b, l, 3 * e], 0.0, 1.0, &mut rng);
        let kpm = Mask::from_bools(
            &(0..b * l).map(|i| i % l == l - 1 && l > 1).collect::<Vec<_>>(), &[b, l],
        ).unwrap();
        let m = kpm.to_additive().reshape(&[b, 1, 1, l]);
        let report = gradcheck(
            |v: &[Var]| {
                let cfg = SdpaConfig {
                    heads, head_dim: 2, batch_first: true, scale: 0.7, causal: true,
                    mask: Some(&m), dropout: None, training: false, need_weights: false,
                };
                let out = scaled_dot_product_attention(
                    PackedHeads::new(&v[0], 0), PackedHeads::new(&v[0], e), PackedHeads::new(&v[0], 2 * e), &cfg,
                ).map_err(nn_err)?;
                Ok(out.output)
            },
            &[x],
            1e-3,
            2e-2,
        ).unwrap();
        prop_assert!(report.passed(), "{}", report);
    }

    #[test]
    fn layer_norm_matches_finite_differences(
        rows in 1usize..4, n in 2usize..6, with_bias in any::<bool>(), seed in 0u64..1000,
    ) {
        let mut rng = Rng::new(seed);
        let x = Tensor::rand_normal(&[rows, n], 0.5, 2.0, &mut rng);
        let w = Tensor::rand_normal(&[n], 1.0, 0.5, &mut rng);
        let bias = Tensor::rand_normal(&[n], 0.0, 0.5, &mut rng);
        let build = |v: &[Var]| {
            let mut ln = LayerNorm::new(&[n]).unwrap();
            ln.weight = v[1].clone();
            ln.bias = with_bias.then(|| v[2].clone());
            ln
        };
        let report = gradcheck(
            |v: &[Var]| build(v).forward(&v[0]).map_err(nn_err),
            &[x.clone(), w.clone(), bias.clone()],
            1e-3,
            2e-2,
        ).unwrap();
        prop_assert!(report.passed(), "{}", report);
        // The one-pass inference kernel agrees with the recorded ops.
        let vars = [Var::parameter(x), Var::parameter(w), Var::parameter(bias)];
        let ln = build(&vars);
        let graph = ln.forward(&vars[0]).unwrap().value();
        let fused = no_grad(|| ln.forward(&vars[0])).unwrap().value();
        prop_assert!(fused.allclose(&graph, 1e-5, 1e-5));
    }

    #[test]
    fn both_gelus_match_finite_differences(n in 1usize..20, seed in 0u64..1000) {
        let x = Tensor::rand_normal(&[n], 0.0, 2.5, &mut Rng::new(seed));
        for act in [Activation::gelu(), Activation::gelu_tanh()] {
            let report = gradcheck(
                |v: &[Var]| act.forward(&v[0]).map_err(nn_err),
                std::slice::from_ref(&x),
                1e-3,
                1e-2,
            ).unwrap();
            prop_assert!(report.passed(), "{}", report);
        }
    }
}

#[test]
fn gelu_values_match_known_points() {
    // PyTorch: gelu(1) = 0.8413447, gelu(-2) = -0.04550026; tanh form: 0.8411920, -0.04540231.
    let x = Var::constant(Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap());
    let erf = Activation::gelu().forward(&x).unwrap().value().to_vec();
    let tanh = Activation::gelu_tanh()
        .forward(&x)
        .unwrap()
        .value()
        .to_vec();
    for (got, want) in erf.iter().zip([0.841_344_7, -0.045_500_26]) {
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
    for (got, want) in tanh.iter().zip([0.841_192, -0.045_402_31]) {
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
}
