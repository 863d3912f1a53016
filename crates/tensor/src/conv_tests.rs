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
