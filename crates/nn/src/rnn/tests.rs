//! The block-parallel kernel against the single-block path and against a plain f64
//! reference of each cell.

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use super::cells::Dims;
use super::kernel::{run_layer_blocks, CellKind};

struct Case {
    d: Dims,
    b: usize,
    vars: Vec<Var>,
    upstream: Tensor,
}

fn case(kind: CellKind, b: usize, t: usize, i: usize, h: usize, seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    let g = kind.gates() * h;
    let mut p = |shape: &[usize]| Var::parameter(Tensor::rand_normal(shape, 0.0, 0.5, &mut rng));
    let vars = vec![
        p(&[b, t, i]),
        p(&[g, i]),
        p(&[g, h]),
        p(&[g]),
        p(&[g]),
        p(&[b, h]),
        p(&[b, h]),
    ];
    let d = Dims { kind, t, i, h };
    let upstream = Tensor::rand_normal(&[b, d.l(), h], 0.0, 1.0, &mut rng);
    Case {
        d,
        b,
        vars,
        upstream,
    }
}

/// Packed output and every input gradient with `blocks` sample blocks.
fn run(c: &Case, blocks: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
    c.vars.iter().for_each(|v| v.zero_grad());
    let v = &c.vars;
    let out = run_layer_blocks(
        c.d,
        [&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]],
        blocks,
    )
    .unwrap();
    out.backward_with(&c.upstream).unwrap();
    let grads = c
        .vars
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != 6 || c.d.kind == CellKind::Lstm)
        .map(|(_, v)| v.grad().expect("gradient").to_vec())
        .collect();
    (out.value().to_vec(), grads)
}

/// testkit's comparison (`|a - b| <= tol * max(1, |b|)`) for two f32 runs.
fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    let b: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
    glassbox_testkit::assert_close(what, a, &b, f64::from(tol));
}

#[test]
fn blocks_match_the_single_block_path() {
    for kind in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for (b, blocks) in [(1, 4), (3, 2), (3, 3), (33, 2), (33, 5)] {
            let c = case(kind, b, 7, 5, 20, 11 + b as u64);
            let (v1, g1) = run(&c, 1);
            let (vk, gk) = run(&c, blocks);
            // Each sample's forward is the same chain of operations in any block.
            assert_eq!(v1, vk, "{kind:?} b={b} blocks={blocks}: forward");
            for (k, (x, y)) in g1.iter().zip(&gk).enumerate() {
                // Weight gradients sum blocks in a different order.
                assert_close(
                    x,
                    y,
                    1e-5,
                    &format!("{kind:?} b={b} blocks={blocks} grad {k}"),
                );
            }
        }
    }
}

fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Plain f64 forward of one layer: the packed `[B, L, H]` output.
fn reference_forward(c: &Case) -> Vec<f64> {
    let Dims { kind, t, i, h } = c.d;
    let (g, l, b) = (c.d.g(), c.d.l(), c.b);
    let val = |k: usize| -> Vec<f64> {
        c.vars[k]
            .value()
            .to_vec()
            .iter()
            .map(|&v| v as f64)
            .collect()
    };
    let (x, w_ih, w_hh, b_ih, b_hh, h0, c0) =
        (val(0), val(1), val(2), val(3), val(4), val(5), val(6));
    let mut out = vec![0.0f64; b * l * h];
    for bi in 0..b {
        let mut hc = h0[bi * h..(bi + 1) * h].to_vec();
        let mut cc = c0[bi * h..(bi + 1) * h].to_vec();
        out[bi * l * h..][..h].copy_from_slice(&hc);
        for step in 0..t {
            let xr = &x[(bi * t + step) * i..][..i];
            let gi: Vec<f64> = (0..g)
                .map(|r| b_ih[r] + (0..i).map(|p| w_ih[r * i + p] * xr[p]).sum::<f64>())
                .collect();
            let gh: Vec<f64> = (0..g)
                .map(|r| b_hh[r] + (0..h).map(|p| w_hh[r * h + p] * hc[p]).sum::<f64>())
                .collect();
            for k in 0..h {
                hc[k] = match kind {
                    CellKind::Tanh => (gi[k] + gh[k]).tanh(),
                    CellKind::Lstm => {
                        let ig = sig(gi[k] + gh[k]);
                        let fg = sig(gi[h + k] + gh[h + k]);
                        let gg = (gi[2 * h + k] + gh[2 * h + k]).tanh();
                        let og = sig(gi[3 * h + k] + gh[3 * h + k]);
                        cc[k] = fg * cc[k] + ig * gg;
                        og * cc[k].tanh()
                    }
                    CellKind::Gru => {
                        let r = sig(gi[k] + gh[k]);
                        let z = sig(gi[h + k] + gh[h + k]);
                        let n = (gi[2 * h + k] + r * gh[2 * h + k]).tanh();
                        (1.0 - z) * n + z * hc[k]
                    }
                };
            }
            out[(bi * l + step + 1) * h..][..h].copy_from_slice(&hc);
        }
        if kind == CellKind::Lstm {
            out[(bi * l + t + 1) * h..][..h].copy_from_slice(&cc);
        }
    }
    out
}

#[test]
fn forward_matches_f64_reference() {
    for kind in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for (b, blocks) in [(1, 1), (3, 2), (33, 3)] {
            let c = case(kind, b, 6, 3, 9, 5);
            let (got, _) = run(&c, blocks);
            let want = reference_forward(&c);
            for (k, (x, y)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (*x as f64 - y).abs() < 2e-5,
                    "{kind:?} b={b} [{k}]: {x} vs {y}"
                );
            }
        }
    }
}

#[test]
fn gradients_match_finite_differences_of_the_reference() {
    // Gradient of <upstream, packed output> w.r.t. a few entries of every input, by
    // central differences of the f64 reference.
    for kind in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        let c = case(kind, 3, 4, 3, 5, 21);
        let (_, grads) = run(&c, 2);
        let up: Vec<f64> = c.upstream.to_vec().iter().map(|&v| v as f64).collect();
        let loss = |c: &Case| -> f64 {
            reference_forward(c)
                .iter()
                .zip(&up)
                .map(|(a, b)| a * b)
                .sum()
        };
        for (k, gk) in grads.iter().enumerate() {
            for idx in [0, gk.len() / 2, gk.len() - 1] {
                let base = c.vars[k].value();
                let probe = |delta: f32| {
                    let mut v = base.to_vec();
                    v[idx] += delta;
                    c.vars[k].set_value(Tensor::from_vec(v, base.shape()).unwrap());
                    let r = loss(&c);
                    c.vars[k].set_value(base.clone());
                    r
                };
                let eps = 1e-3f32;
                let fd = (probe(eps) - probe(-eps)) / (2.0 * eps as f64);
                let got = gk[idx] as f64;
                assert!(
                    (got - fd).abs() < 2e-3 * (1.0 + fd.abs()),
                    "{kind:?} input {k}[{idx}]: {got} vs {fd}"
                );
            }
        }
    }
}

#[test]
fn slot_matches_narrow_forward_and_backward() {
    let mut rng = Rng::new(3);
    let packed = Var::parameter(Tensor::rand_normal(&[3, 5, 4], 0.0, 1.0, &mut rng));
    let up = Tensor::rand_normal(&[3, 4], 0.0, 1.0, &mut rng);
    for s in [0, 2, 4] {
        packed.zero_grad();
        let a = super::slot::slot(&packed, s).unwrap();
        a.backward_with(&up).unwrap();
        let ga = packed.grad().unwrap().to_vec();
        packed.zero_grad();
        let b = packed.narrow(1, s, 1).unwrap().reshape(&[3, 4]).unwrap();
        b.backward_with(&up).unwrap();
        assert_eq!(a.value().to_vec(), b.value().to_vec(), "slot {s} value");
        assert_eq!(ga, packed.grad().unwrap().to_vec(), "slot {s} gradient");
    }
    assert!(super::slot::slot(&packed, 5).is_err());
}

#[test]
fn inference_without_a_graph_gives_the_same_output() {
    for kind in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for (b, blocks) in [(1, 1), (9, 2)] {
            let c = case(kind, b, 5, 3, 7, 9);
            let v = &c.vars;
            let inputs = [&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]];
            let recorded = run_layer_blocks(c.d, inputs, blocks).unwrap();
            let plain =
                glassbox_autograd::no_grad(|| run_layer_blocks(c.d, inputs, blocks).unwrap());
            assert!(!plain.requires_grad());
            assert_eq!(
                recorded.value().to_vec(),
                plain.value().to_vec(),
                "{kind:?} b={b}"
            );
        }
    }
}
