//! Unit tests of `conv`: forward against a direct f64 loop, backward kernels by the adjoint
//! identity.

use super::*;
use crate::rng::Rng;

/// Direct nested-loop convolution in f64 (the oracle).
pub(crate) fn naive(x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: &Conv2dParams) -> Vec<f32> {
    let (xs, ws) = (x.shape(), w.shape());
    let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (o, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let oh = conv_out_len(h, kh, p.stride.0, p.padding.0, p.dilation.0).unwrap();
    let ow = conv_out_len(wd, kw, p.stride.1, p.padding.1, p.dilation.1).unwrap();
    let og = o / p.groups;
    let mut out = vec![];
    for ni in 0..n {
        for oi in 0..o {
            let grp = oi / og;
            for y in 0..oh {
                for xx in 0..ow {
                    let mut s = b.map_or(0.0, |b| b.get(&[oi]).unwrap() as f64);
                    for ci in 0..cg {
                        for i in 0..kh {
                            for j in 0..kw {
                                let ih = (y * p.stride.0 + i * p.dilation.0) as isize
                                    - p.padding.0 as isize;
                                let iw = (xx * p.stride.1 + j * p.dilation.1) as isize
                                    - p.padding.1 as isize;
                                if ih < 0 || iw < 0 || ih >= h as isize || iw >= wd as isize {
                                    continue;
                                }
                                let xv = x
                                    .get(&[ni, grp * cg + ci, ih as usize, iw as usize])
                                    .unwrap();
                                s += xv as f64 * w.get(&[oi, ci, i, j]).unwrap() as f64;
                            }
                        }
                    }
                    out.push(s as f32);
                }
            }
        }
    }
    let _ = c;
    out
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.to_vec()
        .iter()
        .zip(b.to_vec())
        .map(|(&x, y)| x as f64 * y as f64)
        .sum()
}

#[test]
fn forward_matches_naive_and_backward_is_adjoint() {
    let mut rng = Rng::new(11);
    let cases = [
        ([2, 3, 7, 6], [4, 3, 3, 3], Conv2dParams::default()),
        (
            [1, 2, 8, 9],
            [3, 2, 3, 2],
            Conv2dParams::default().stride(2, 3).padding(1, 2),
        ),
        (
            [2, 2, 9, 9],
            [2, 2, 3, 3],
            Conv2dParams::default().dilation(2, 1).padding(2, 1),
        ),
        (
            [2, 4, 5, 5],
            [6, 2, 3, 3],
            Conv2dParams::default().groups(2).padding(1, 1),
        ),
        ([3, 4, 4, 5], [5, 4, 1, 1], Conv2dParams::default()),
        (
            [9, 2, 6, 6],
            [3, 2, 2, 2],
            Conv2dParams::default().stride(2, 2),
        ),
    ];
    for (xs, ws, p) in cases {
        let x = Tensor::rand_normal(&xs, 0.0, 1.0, &mut rng);
        let w = Tensor::rand_normal(&ws, 0.0, 1.0, &mut rng);
        let b = Tensor::rand_normal(&[ws[0]], 0.0, 1.0, &mut rng);
        let y = conv2d(&x, &w, Some(&b), &p).unwrap();
        for (g, e) in y.to_vec().iter().zip(naive(&x, &w, Some(&b), &p)) {
            assert!((g - e).abs() < 1e-4, "{p:?}: {g} vs {e}");
        }
        // <conv(x, w), gy> = <x, dX(gy)> = <w, dW(gy)> (both are linear in x and w).
        let gy = Tensor::rand_normal(y.shape(), 0.0, 1.0, &mut rng);
        let y0 = conv2d(&x, &w, None, &p).unwrap();
        let lhs = dot(&y0, &gy);
        let dx = conv2d_backward_input(&gy, &w, x.shape(), &p).unwrap();
        let dw = conv2d_backward_weight(&gy, &x, w.shape(), &p).unwrap();
        assert!(
            (lhs - dot(&x, &dx)).abs() < 1e-3 * (1.0 + lhs.abs()),
            "{p:?}"
        );
        assert!(
            (lhs - dot(&w, &dw)).abs() < 1e-3 * (1.0 + lhs.abs()),
            "{p:?}"
        );
        let db = conv_backward_bias(&gy).unwrap();
        assert!((db.sum_all() - gy.sum_all()).abs() < 1e-3);
    }
}

#[test]
fn conv1d_matches_2d_and_errors() {
    let mut rng = Rng::new(2);
    let x = Tensor::rand_normal(&[2, 3, 10], 0.0, 1.0, &mut rng);
    let w = Tensor::rand_normal(&[4, 3, 3], 0.0, 1.0, &mut rng);
    let p = Conv1dParams::default().padding(1).stride(2);
    let y = conv1d(&x, &w, None, &p).unwrap();
    assert_eq!(y.shape(), &[2, 4, 5]);
    let want = naive(&x.unsqueeze(2), &w.unsqueeze(2), None, &p.to_2d());
    for (g, e) in y.to_vec().iter().zip(want) {
        assert!((g - e).abs() < 1e-4);
    }
    let dx = conv1d_backward_input(&y, &w, x.shape(), &p).unwrap();
    assert_eq!(dx.shape(), x.shape());
    let dw = conv1d_backward_weight(&y, &x, w.shape(), &p).unwrap();
    assert_eq!(dw.shape(), w.shape());
    let e = conv2d(
        &Tensor::zeros(&[1, 3, 5, 5]),
        &Tensor::zeros(&[2, 2, 3, 3]),
        None,
        &Conv2dParams::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("conv2d: lhs [1, 3, 5, 5] and rhs [2, 2, 3, 3]"),
        "{e}"
    );
    assert!(conv2d(
        &Tensor::zeros(&[1, 1, 2, 2]),
        &Tensor::zeros(&[1, 1, 3, 3]),
        None,
        &Conv2dParams::default()
    )
    .is_err());
    assert!(conv2d(
        &Tensor::zeros(&[1, 1, 5, 5]),
        &Tensor::zeros(&[1, 1, 3, 3]),
        None,
        &Conv2dParams::default().stride(0, 1)
    )
    .is_err());
}

/// Direct f64 loops for the three gradients of a convolution given `gy` (the oracle).
fn naive_grads(
    x: &Tensor,
    w: &Tensor,
    gy: &Tensor,
    p: &Conv2dParams,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (xs, ws, ys) = (x.shape(), w.shape(), gy.shape());
    let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (o, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let (oh, ow) = (ys[2], ys[3]);
    let og = o / p.groups;
    let (xv, wv, gv) = (x.to_vec(), w.to_vec(), gy.to_vec());
    let (mut dx, mut dw, mut db) = (vec![0.0; xv.len()], vec![0.0; wv.len()], vec![0.0; o]);
    for ni in 0..n {
        for oi in 0..o {
            let grp = oi / og;
            for y in 0..oh {
                for xx in 0..ow {
                    let g = gv[((ni * o + oi) * oh + y) * ow + xx] as f64;
                    db[oi] += g;
                    for ci in 0..cg {
                        for i in 0..kh {
                            for j in 0..kw {
                                let ih = (y * p.stride.0 + i * p.dilation.0) as isize
                                    - p.padding.0 as isize;
                                let iw = (xx * p.stride.1 + j * p.dilation.1) as isize
                                    - p.padding.1 as isize;
                                if ih < 0 || iw < 0 || ih >= h as isize || iw >= wd as isize {
                                    continue;
                                }
                                let xi =
                                    ((ni * c + grp * cg + ci) * h + ih as usize) * wd + iw as usize;
                                let wi = ((oi * cg + ci) * kh + i) * kw + j;
                                dx[xi] += wv[wi] as f64 * g;
                                dw[wi] += xv[xi] as f64 * g;
                            }
                        }
                    }
                }
            }
        }
    }
    (dx, dw, db)
}

fn assert_close(got: &Tensor, want: &[f64], what: &str) {
    glassbox_testkit::assert_close(what, &got.to_vec(), want, 1e-3);
}

#[test]
fn batch_split_paths_match_naive_loops() {
    // Big enough to take the batch-parallel path (≥ 1 MFLOP), odd batch sizes so the per-thread
    // runs are uneven, plus batch 1, one channel, strides, dilation, groups and 1×1 kernels.
    let mut rng = Rng::new(21);
    let cases = [
        (
            [5, 3, 24, 24],
            [8, 3, 3, 3],
            Conv2dParams::default().padding(1, 1),
        ),
        (
            [3, 1, 28, 28],
            [6, 1, 5, 5],
            Conv2dParams::default().padding(2, 2),
        ),
        ([7, 6, 14, 14], [16, 6, 5, 5], Conv2dParams::default()),
        ([1, 6, 14, 14], [16, 6, 5, 5], Conv2dParams::default()),
        (
            [4, 4, 23, 21],
            [6, 2, 3, 2],
            Conv2dParams::default()
                .groups(2)
                .stride(2, 3)
                .padding(1, 2)
                .dilation(2, 1),
        ),
        ([5, 16, 17, 19], [12, 16, 1, 1], Conv2dParams::default()),
        (
            [3, 2, 31, 29],
            [5, 2, 4, 3],
            Conv2dParams::default().stride(2, 2),
        ),
        // Unit stride with asymmetric padding, output rows of 16, 19 and 6 (< 8) elements.
        (
            [3, 2, 9, 13],
            [4, 2, 2, 4],
            Conv2dParams::default().padding(1, 3),
        ),
        (
            [2, 3, 11, 17],
            [5, 3, 3, 1],
            Conv2dParams::default().padding(2, 1),
        ),
        (
            [3, 3, 5, 4],
            [2, 3, 3, 3],
            Conv2dParams::default().padding(1, 2),
        ),
    ];
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for (xs, ws, p) in &cases {
            let x = Tensor::rand_normal(xs, 0.0, 1.0, &mut rng);
            let w = Tensor::rand_normal(ws, 0.0, 1.0, &mut rng);
            let b = Tensor::rand_normal(&[ws[0]], 0.0, 1.0, &mut rng);
            let y = pool.install(|| conv2d(&x, &w, Some(&b), p)).unwrap();
            let want: Vec<f64> = naive(&x, &w, Some(&b), p)
                .iter()
                .map(|&v| v as f64)
                .collect();
            assert_close(&y, &want, &format!("forward {xs:?} {p:?} t{threads}"));
            let gy = Tensor::rand_normal(y.shape(), 0.0, 1.0, &mut rng);
            let (dx, dw, db) = naive_grads(&x, &w, &gy, p);
            let all = ConvGradsWanted {
                input: true,
                weight: true,
                bias: true,
            };
            let g = pool
                .install(|| conv2d_backward(&gy, &x, &w, p, all))
                .unwrap();
            let tag = format!("{xs:?} {p:?} t{threads}");
            assert_close(g.input.as_ref().unwrap(), &dx, &format!("dx {tag}"));
            assert_close(g.weight.as_ref().unwrap(), &dw, &format!("dw {tag}"));
            assert_close(g.bias.as_ref().unwrap(), &db, &format!("db {tag}"));
            // The single-gradient entry points and partial requests agree with the oracle.
            let dxi = pool
                .install(|| conv2d_backward_input(&gy, &w, xs, p))
                .unwrap();
            assert_close(&dxi, &dx, &format!("dx alone {tag}"));
            let dwi = pool
                .install(|| conv2d_backward_weight(&gy, &x, ws, p))
                .unwrap();
            assert_close(&dwi, &dw, &format!("dw alone {tag}"));
            let some = ConvGradsWanted {
                input: false,
                weight: true,
                bias: true,
            };
            let g = pool
                .install(|| conv2d_backward(&gy, &x, &w, p, some))
                .unwrap();
            assert!(g.input.is_none());
            assert_close(
                g.weight.as_ref().unwrap(),
                &dw,
                &format!("dw partial {tag}"),
            );
            assert_close(g.bias.as_ref().unwrap(), &db, &format!("db partial {tag}"));
        }
    }
}

#[test]
fn fused_backward_rejects_bad_shapes_and_handles_empty_batches() {
    let p = Conv2dParams::default();
    let (x, w) = (Tensor::zeros(&[2, 3, 6, 6]), Tensor::zeros(&[4, 3, 3, 3]));
    let all = ConvGradsWanted {
        input: true,
        weight: true,
        bias: true,
    };
    assert!(conv2d_backward(&Tensor::zeros(&[2, 4, 5, 4]), &x, &w, &p, all).is_err());
    assert!(conv2d_backward(&Tensor::zeros(&[2, 4, 4, 4]), &w, &x, &p, all).is_err());
    let x0 = Tensor::zeros(&[0, 3, 6, 6]);
    let g = conv2d_backward(&Tensor::zeros(&[0, 4, 4, 4]), &x0, &w, &p, all).unwrap();
    assert_eq!(g.input.unwrap().shape(), &[0, 3, 6, 6]);
    assert_eq!(g.weight.unwrap().to_vec(), vec![0.0; 108]);
    assert_eq!(g.bias.unwrap().to_vec(), vec![0.0; 4]);
    let y = conv2d(&x0, &w, Some(&Tensor::ones(&[4])), &p).unwrap();
    assert_eq!(y.shape(), &[0, 4, 4, 4]);
    let g1 = conv1d_backward(
        &Tensor::ones(&[1, 2, 3]),
        &Tensor::ones(&[1, 1, 5]),
        &Tensor::ones(&[2, 1, 3]),
        &Conv1dParams::default(),
        all,
    )
    .unwrap();
    assert_eq!(g1.input.unwrap().to_vec(), vec![2., 4., 6., 4., 2.]);
    assert_eq!(g1.weight.unwrap().to_vec(), vec![3.0; 6]);
    assert_eq!(g1.bias.unwrap().to_vec(), vec![3.0, 3.0]);
}

#[test]
fn padding_wider_than_the_input_with_dilation() {
    // Regression (found by the conv2d proptest): a 1×1 image, padding (1, 2), dilation
    // (1, 2): some kernel columns have no tap inside the row, and the general im2col must
    // not compute a start index for them.
    let x = Tensor::from_vec(vec![1.5], &[1, 1, 1, 1]).unwrap();
    let w = Tensor::from_vec((0..6).map(|v| v as f32 - 2.0).collect(), &[1, 1, 2, 3]).unwrap();
    let p = Conv2dParams::default().padding(1, 2).dilation(1, 2);
    let y = conv2d(&x, &w, None, &p).unwrap();
    let want = naive(&x, &w, None, &p);
    assert_eq!(y.shape(), &[1, 1, 2, 1]);
    for (g, w) in y.to_vec().iter().zip(&want) {
        assert!((g - w).abs() < 1e-6, "{g} vs {w}");
    }
}
