use super::*;
use crate::rng::Rng;
use crate::tensor::Tensor;

fn randv(n: usize, rng: &mut Rng) -> Vec<f32> {
    Tensor::rand_normal(&[n], 0.0, 1.0, rng).to_vec()
}

fn at(h: &Heads, b: usize, hd: usize, i: usize, d: usize) -> f64 {
    let l = &h.layout;
    h.data[l.base(b, hd) + i * l.seq_stride + d] as f64
}

/// Plain f64 loops: probabilities `[B, H, L, S]` (fully masked rows all zero).
fn naive_probs(q: &Heads, k: &Heads, mask: Option<&MaskRef>, p: AttentionParams) -> Vec<f64> {
    let (b_, h_, l, s, d) = (
        q.layout.batch,
        q.layout.heads,
        q.layout.len,
        k.layout.len,
        q.layout.head_dim,
    );
    let mut out = vec![0.0f64; b_ * h_ * l * s];
    for b in 0..b_ {
        for h in 0..h_ {
            for i in 0..l {
                let mut row: Vec<f64> = (0..s)
                    .map(|j| {
                        let dot: f64 = (0..d).map(|e| at(q, b, h, i, e) * at(k, b, h, j, e)).sum();
                        let m = mask.map_or(0.0, |m| {
                            let [mb, mh, ml, ms] = m.shape;
                            m.data[(((b % mb) * mh + h % mh) * ml + i % ml) * ms + j] as f64
                        });
                        let allowed = !p.causal || j + l <= i + s;
                        if allowed {
                            dot * p.scale as f64 + m
                        } else {
                            f64::NEG_INFINITY
                        }
                    })
                    .collect();
                let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                if mx == f64::NEG_INFINITY {
                    row.iter_mut().for_each(|x| *x = 0.0);
                } else {
                    row.iter_mut().for_each(|x| *x = (*x - mx).exp());
                    let sum: f64 = row.iter().sum();
                    row.iter_mut().for_each(|x| *x /= sum);
                }
                let start = ((b * h_ + h) * l + i) * s;
                out[start..start + s].copy_from_slice(&row);
            }
        }
    }
    out
}

fn close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (*g as f64 - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

#[test]
fn forward_matches_naive_for_every_layout_and_mask() {
    let mut rng = Rng::new(3);
    // (B, H, L, S, D, batch_first, causal, mask shape)
    type Case = (usize, usize, usize, usize, usize, bool, bool, [usize; 4]);
    let cases: &[Case] = &[
        (2, 3, 4, 4, 5, true, false, [2, 1, 1, 4]),
        (3, 2, 5, 7, 4, false, false, [1, 1, 5, 7]),
        (2, 2, 3, 6, 3, true, true, [2, 2, 3, 6]),
        (1, 4, 6, 6, 8, true, true, [0; 4]),
        (2, 1, 5, 3, 2, false, true, [0; 4]), // L > S: the first queries see nothing
        (4, 4, 40, 40, 16, true, false, [4, 1, 1, 40]), // large enough for threads
    ];
    for &(b, h, l, s, d, bf, causal, mshape) in cases {
        let e = h * d;
        // Self-attention-like packed Q|K|V for the keys, queries on their own rows.
        let qdata = randv(b * l * e, &mut rng);
        let kv = randv(b * s * 2 * e, &mut rng);
        let q = Heads {
            data: &qdata,
            layout: HeadLayout::packed(b, l, h, d, e, 0, bf),
        };
        let k = Heads {
            data: &kv,
            layout: HeadLayout::packed(b, s, h, d, 2 * e, 0, bf),
        };
        let v = Heads {
            data: &kv,
            layout: HeadLayout::packed(b, s, h, d, 2 * e, e, bf),
        };
        let mdata: Vec<f32> = if mshape[0] == 0 {
            vec![]
        } else {
            (0..mshape.iter().product::<usize>())
                .map(|i| {
                    if i % 7 == 3 {
                        f32::NEG_INFINITY
                    } else {
                        (i % 5) as f32 * 0.3
                    }
                })
                .collect()
        };
        let mask = (mshape[0] > 0).then_some(MaskRef {
            data: &mdata,
            shape: mshape,
        });
        let p = AttentionParams {
            scale: 1.0 / (d as f32).sqrt(),
            causal,
        };
        let want_p = naive_probs(&q, &k, mask.as_ref(), p);
        let got_p = attention_probs(q, k, mask, p).unwrap();
        close(&got_p, &want_p, 1e-5, "probs");

        let mut out = vec![f32::NAN; b * l * e];
        let mut probs = vec![0.0f32; b * h * l * s];
        let ol = HeadLayout::packed(b, l, h, d, e, 0, bf);
        attention_forward(q, k, v, mask, p, &mut out, ol, Some(&mut probs)).unwrap();
        close(&probs, &want_p, 1e-5, "fused probs");
        let mut out2 = vec![f32::NAN; b * l * e];
        attention_forward(q, k, v, mask, p, &mut out2, ol, None).unwrap();
        assert_eq!(out, out2, "with and without stored probabilities");
        let out_h = Heads {
            data: &out,
            layout: ol,
        };
        for bb in 0..b {
            for hh in 0..h {
                for i in 0..l {
                    for dd in 0..d {
                        let want: f64 = (0..s)
                            .map(|j| {
                                want_p[((bb * h + hh) * l + i) * s + j] * at(&v, bb, hh, j, dd)
                            })
                            .sum();
                        let got = at(&out_h, bb, hh, i, dd);
                        assert!(
                            (got - want).abs() < 1e-4,
                            "out ({bb},{hh},{i},{dd}) {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn backward_matches_finite_differences_of_naive_forward() {
    let mut rng = Rng::new(9);
    let (b, h, l, s, d) = (2, 2, 3, 4, 3);
    let qd = randv(b * h * l * d, &mut rng);
    let kd = randv(b * h * s * d, &mut rng);
    let g = randv(b * h * l * s, &mut rng);
    let mdata: Vec<f32> = (0..b * s)
        .map(|i| {
            if i == 5 {
                f32::NEG_INFINITY
            } else {
                0.1 * i as f32
            }
        })
        .collect();
    let mask = MaskRef {
        data: &mdata,
        shape: [b, 1, 1, s],
    };
    let p = AttentionParams {
        scale: 0.7,
        causal: true,
    };
    let ql = HeadLayout::bhld(b, h, l, d);
    let kl = HeadLayout::bhld(b, h, s, d);
    let loss = |qv: &[f32], kv: &[f32]| -> f64 {
        let pr = naive_probs(
            &Heads {
                data: qv,
                layout: ql,
            },
            &Heads {
                data: kv,
                layout: kl,
            },
            Some(&mask),
            p,
        );
        pr.iter().zip(&g).map(|(a, b)| a * *b as f64).sum()
    };
    let q = Heads {
        data: &qd,
        layout: ql,
    };
    let k = Heads {
        data: &kd,
        layout: kl,
    };
    let probs = attention_probs(q, k, Some(mask), p).unwrap();
    let (dq, dk) = attention_probs_backward(&probs, &g, q, k, p.scale).unwrap();
    let eps = 1e-2f32;
    for (which, grad) in [(0, &dq), (1, &dk)] {
        for i in 0..grad.len() {
            let (mut a, mut bv) = (qd.clone(), kd.clone());
            let t = if which == 0 { &mut a } else { &mut bv };
            t[i] += eps;
            let up = loss(&a, &bv);
            let t = if which == 0 { &mut a } else { &mut bv };
            t[i] -= 2.0 * eps;
            let down = loss(&a, &bv);
            let fd = (up - down) / (2.0 * eps as f64);
            assert!(
                (grad[i] as f64 - fd).abs() < 2e-3,
                "{} [{i}]: {} vs {fd}",
                if which == 0 { "dq" } else { "dk" },
                grad[i]
            );
        }
    }
}

#[test]
fn bad_layouts_and_masks_are_errors() {
    let data = vec![0.0f32; 24];
    let l = HeadLayout::bhld(1, 2, 3, 4);
    let q = Heads {
        data: &data,
        layout: l,
    };
    let short = Heads {
        data: &data[..20],
        layout: l,
    };
    let p = AttentionParams {
        scale: 1.0,
        causal: false,
    };
    assert!(attention_probs(q, short, None, p).is_err());
    let other = Heads {
        data: &data,
        layout: HeadLayout::bhld(1, 3, 2, 4),
    };
    assert!(attention_probs(q, other, None, p).is_err());
    let m = vec![0.0f32; 3];
    let bad_mask = MaskRef {
        data: &m,
        shape: [1, 1, 1, 4],
    };
    assert!(attention_probs(q, q, Some(bad_mask), p).is_err());
    let ok_mask = MaskRef {
        data: &m,
        shape: [1, 1, 1, 3],
    };
    assert!(attention_probs(q, q, Some(ok_mask), p).is_ok());
    let mut out = vec![0.0f32; 24];
    let overlapping = HeadLayout { seq_stride: 1, ..l };
    assert!(attention_forward(q, q, q, None, p, &mut out, overlapping, None).is_err());
    assert!(attention_forward(q, q, q, None, p, &mut out, l, None).is_ok());
    assert!(attention_probs_backward(&[0.0; 5], &[0.0; 5], q, q, 1.0).is_err());
}
