//! Kernel oracles: every fast path against a direct index loop, over random shapes
//! (including size-1 axes and rank 0) and strided/transposed views.

use glassbox_tensor::conv::{conv2d, conv_out_len, Conv2dParams};
use glassbox_tensor::pool::{avg_pool2d, max_pool2d, Pool2dParams};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;
use proptest::prelude::*;

type TensorOp = fn(&Tensor, &Tensor) -> Tensor;
type ScalarOp = fn(f32, f32) -> f32;

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_normal(shape, 0.0, 1.0, &mut Rng::new(seed))
}

/// Row-major multi-index of flat position `i` in `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}

/// The operand index that broadcasting maps output index `out` to.
fn operand_index(out: &[usize], shape: &[usize]) -> Vec<usize> {
    let lead = out.len() - shape.len();
    shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if d == 1 { 0 } else { out[lead + i] })
        .collect()
}

/// An output shape and two operand shapes that broadcast to it.
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<usize>)> {
    prop::collection::vec(1usize..5, 0..5).prop_flat_map(|out| {
        let r = out.len();
        let mk = move |out: Vec<usize>| {
            (0..=r, prop::collection::vec(any::<bool>(), r)).prop_map(move |(drop, ones)| {
                out[drop..]
                    .iter()
                    .zip(&ones[drop..])
                    .map(|(&d, &one)| if one { 1 } else { d })
                    .collect::<Vec<_>>()
            })
        };
        (Just(out.clone()), mk(out.clone()), mk(out))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn broadcasting_ops_equal_index_loop((_, sa, sb) in broadcast_pair(), seed in any::<u64>()) {
        let a = rand(&sa, seed);
        let b = rand(&sb, seed ^ 1).add_scalar(3.0); // keep divisors away from 0
        let ops: [(&str, TensorOp, ScalarOp); 6] = [
            ("add", |x, y| x.add(y), |x, y| x + y),
            ("sub", |x, y| x.sub(y), |x, y| x - y),
            ("mul", |x, y| x.mul(y), |x, y| x * y),
            ("div", |x, y| x.div(y), |x, y| x / y),
            ("maximum", |x, y| x.maximum(y), f32::max),
            ("lt", |x, y| x.lt(y), |x, y| if x < y { 1.0 } else { 0.0 }),
        ];
        let shape = glassbox_tensor::broadcast_shapes("test", &sa, &sb).unwrap();
        for (name, op, f) in ops {
            let got = op(&a, &b);
            prop_assert_eq!(got.shape(), &shape[..]);
            for (i, g) in got.to_vec().into_iter().enumerate() {
                let o = unravel(i, &shape);
                let want = f(a.get(&operand_index(&o, &sa)).unwrap(), b.get(&operand_index(&o, &sb)).unwrap());
                prop_assert_eq!(g, want, "{} at {:?}", name, o);
            }
        }
    }

    #[test]
    fn strided_operands_agree_with_contiguous(shape in prop::collection::vec(1usize..5, 2..5), seed in any::<u64>()) {
        let a = rand(&shape, seed);
        let r = shape.len();
        let at = a.transpose(0, r - 1);
        let b = rand(at.shape(), seed ^ 7);
        let want = at.contiguous().mul(&b).exp();
        prop_assert_eq!(at.mul(&b).exp().to_vec(), want.to_vec());
        prop_assert_eq!(b.mul(&at).to_vec(), b.mul(&at.contiguous()).to_vec());
    }

    #[test]
    fn matmul_equals_naive_f64(
        m in 1usize..40, k in 1usize..40, n in 1usize..40,
        batch_a in prop::collection::vec(1usize..3, 0..3),
        bcast in any::<bool>(), ta in any::<bool>(), tb in any::<bool>(), seed in any::<u64>(),
    ) {
        let batch_b: Vec<usize> = if bcast { batch_a.iter().map(|_| 1).collect() } else { batch_a.clone() };
        let shape = |batch: &[usize], r: usize, c: usize, t: bool| {
            let mut s = batch.to_vec();
            if t { s.extend([c, r]) } else { s.extend([r, c]) }
            s
        };
        let mut a = rand(&shape(&batch_a, m, k, ta), seed);
        let mut b = rand(&shape(&batch_b, k, n, tb), seed ^ 3);
        if ta { a = a.t(); }
        if tb { b = b.t(); }
        let c = a.matmul(&b);
        let cp = a.matmul_portable(&b);
        let mut want_shape = batch_a.clone();
        want_shape.extend([m, n]);
        prop_assert_eq!(c.shape(), &want_shape[..]);
        let nb: usize = batch_a.iter().product();
        for bi in 0..nb {
            let bidx = unravel(bi, &batch_a);
            let bidx_b = operand_index(&bidx, &batch_b);
            for i in 0..m {
                for j in 0..n {
                    let mut s = 0.0f64;
                    let mut s_abs = 0.0f64;
                    for p in 0..k {
                        let ai: Vec<usize> = bidx.iter().copied().chain([i, p]).collect();
                        let bj: Vec<usize> = bidx_b.iter().copied().chain([p, j]).collect();
                        let prod = a.get(&ai).unwrap() as f64 * b.get(&bj).unwrap() as f64;
                        s += prod;
                        s_abs += prod.abs();
                    }
                    let ci: Vec<usize> = bidx.iter().copied().chain([i, j]).collect();
                    for (name, t) in [("gemm", &c), ("portable", &cp)] {
                        let g = t.get(&ci).unwrap() as f64;
                        prop_assert!((g - s).abs() <= 1e-4 * s_abs.max(1.0), "{} {:?}: {} vs {}", name, ci, g, s);
                    }
                }
            }
        }
    }

    #[test]
    fn reshape_and_permute_round_trip(shape in prop::collection::vec(1usize..5, 0..5), seed in any::<u64>()) {
        let a = rand(&shape, seed);
        let flat = a.reshape(&[a.len()]);
        prop_assert_eq!(flat.reshape(&shape).to_vec(), a.to_vec());
        let r = shape.len();
        let p = Rng::new(seed).permutation(r);
        let mut inv = vec![0; r];
        for (i, &x) in p.iter().enumerate() { inv[x] = i; }
        let back = a.permute(&p).permute(&inv);
        prop_assert_eq!(back.to_vec(), a.to_vec());
        for (i, v) in a.permute(&p).to_vec().into_iter().enumerate() {
            let pi = unravel(i, a.permute(&p).shape());
            let mut src = vec![0; r];
            for (d, &ax) in p.iter().enumerate() { src[ax] = pi[d]; }
            prop_assert_eq!(v, a.get(&src).unwrap());
        }
    }

    #[test]
    fn reductions_equal_loops(shape in prop::collection::vec(1usize..5, 1..5), mask in any::<u8>(), keep in any::<bool>(), seed in any::<u64>()) {
        let a = rand(&shape, seed);
        let axes: Vec<usize> = (0..shape.len()).filter(|i| mask & (1 << i) != 0).collect();
        let s = a.sum_axes(&axes, keep);
        let mx = a.max_axes(&axes, keep);
        let out_keep: Vec<usize> = shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
        prop_assert_eq!(s.len(), out_keep.iter().product::<usize>());
        let mut sums = vec![0.0f64; s.len()];
        let mut maxs = vec![f32::NEG_INFINITY; s.len()];
        for i in 0..a.len() {
            let idx = unravel(i, &shape);
            let o: Vec<usize> = idx.iter().enumerate().map(|(d, &x)| if axes.contains(&d) { 0 } else { x }).collect();
            let mut flat = 0;
            for (d, &x) in o.iter().enumerate() { flat = flat * out_keep[d] + x; }
            let v = a.get(&idx).unwrap();
            sums[flat] += v as f64;
            maxs[flat] = maxs[flat].max(v);
        }
        for (g, w) in s.to_vec().iter().zip(&sums) {
            prop_assert!((*g as f64 - w).abs() < 1e-4);
        }
        prop_assert_eq!(mx.to_vec(), maxs);
    }

    #[test]
    fn softmax_sums_to_one_and_is_shift_invariant(shape in prop::collection::vec(1usize..6, 1..4), axis_pick in any::<usize>(), shift in -50.0f32..50.0, scale in 0.1f32..100.0, seed in any::<u64>()) {
        let axis = axis_pick % shape.len();
        let x = rand(&shape, seed).mul_scalar(scale);
        let s = x.softmax(axis);
        for v in s.sum_axes(&[axis], false).to_vec() {
            prop_assert!((v - 1.0).abs() < 1e-5);
        }
        let s2 = x.add_scalar(shift).softmax(axis);
        for (a, b) in s.to_vec().iter().zip(s2.to_vec()) {
            prop_assert!((a - b).abs() < 1e-5);
        }
        let ls = x.log_softmax(axis);
        for (a, b) in ls.exp().to_vec().iter().zip(s.to_vec()) {
            prop_assert!((a - b).abs() < 1e-5);
        }
    }
}

/// Direct nested-loop convolution in f64.
fn naive_conv(x: &Tensor, w: &Tensor, p: &Conv2dParams) -> Vec<f32> {
    let (xs, ws) = (x.shape(), w.shape());
    let (n, h, wd) = (xs[0], xs[2], xs[3]);
    let (o, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let oh = conv_out_len(h, kh, p.stride.0, p.padding.0, p.dilation.0).unwrap();
    let ow = conv_out_len(wd, kw, p.stride.1, p.padding.1, p.dilation.1).unwrap();
    let og = o / p.groups;
    let mut out = vec![];
    for ni in 0..n {
        for oi in 0..o {
            for y in 0..oh {
                for xx in 0..ow {
                    let mut s = 0.0f64;
                    for ci in 0..cg {
                        for i in 0..kh {
                            for j in 0..kw {
                                let ih = (y * p.stride.0 + i * p.dilation.0) as isize
                                    - p.padding.0 as isize;
                                let iw = (xx * p.stride.1 + j * p.dilation.1) as isize
                                    - p.padding.1 as isize;
                                if ih >= 0 && iw >= 0 && (ih as usize) < h && (iw as usize) < wd {
                                    let c = (oi / og) * cg + ci;
                                    s += x.get(&[ni, c, ih as usize, iw as usize]).unwrap() as f64
                                        * w.get(&[oi, ci, i, j]).unwrap() as f64;
                                }
                            }
                        }
                    }
                    out.push(s as f32);
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn conv2d_equals_direct_loops(
        n in 1usize..4, cg in 1usize..4, og in 1usize..4, groups in 1usize..3,
        h in 1usize..9, w in 1usize..9, kh in 1usize..4, kw in 1usize..4,
        s in (1usize..3, 1usize..3), pad in (0usize..3, 0usize..3), dil in (1usize..3, 1usize..3),
        seed in any::<u64>(),
    ) {
        let p = Conv2dParams::default().stride(s.0, s.1).padding(pad.0, pad.1).dilation(dil.0, dil.1).groups(groups);
        prop_assume!(conv_out_len(h, kh, s.0, pad.0, dil.0).is_some() && conv_out_len(w, kw, s.1, pad.1, dil.1).is_some());
        let x = rand(&[n, cg * groups, h, w], seed);
        let wt = rand(&[og * groups, cg, kh, kw], seed ^ 5);
        let y = conv2d(&x, &wt, None, &p).unwrap();
        for (g, e) in y.to_vec().iter().zip(naive_conv(&x, &wt, &p)) {
            prop_assert!((g - e).abs() < 1e-4, "{:?}: {} vs {}", p, g, e);
        }
    }

    #[test]
    fn pooling_equals_direct_loops(
        nc in (1usize..3, 1usize..3), h in 1usize..9, w in 1usize..9,
        k in (1usize..4, 1usize..4), s in (1usize..3, 1usize..3), pad in (0usize..2, 0usize..2),
        include in any::<bool>(), seed in any::<u64>(),
    ) {
        prop_assume!(2 * pad.0 <= k.0 && 2 * pad.1 <= k.1 && h + 2 * pad.0 >= k.0 && w + 2 * pad.1 >= k.1);
        let p = Pool2dParams::new(k.0, k.1).stride(s.0, s.1).padding(pad.0, pad.1).count_include_pad(include);
        let x = rand(&[nc.0, nc.1, h, w], seed);
        let (mx, idx) = max_pool2d(&x, &p).unwrap();
        let av = avg_pool2d(&x, &p).unwrap();
        let (oh, ow) = (mx.shape()[2], mx.shape()[3]);
        prop_assert_eq!(oh, (h + 2 * pad.0 - k.0) / s.0 + 1);
        prop_assert_eq!(ow, (w + 2 * pad.1 - k.1) / s.1 + 1);
        for a in 0..nc.0 {
            for b in 0..nc.1 {
                for y in 0..oh {
                    for z in 0..ow {
                        let (mut best, mut sum, mut cnt) = (f32::NEG_INFINITY, 0.0f64, 0usize);
                        for i in 0..k.0 {
                            for j in 0..k.1 {
                                let ih = (y * s.0 + i) as isize - pad.0 as isize;
                                let iw = (z * s.1 + j) as isize - pad.1 as isize;
                                if ih >= 0 && iw >= 0 && (ih as usize) < h && (iw as usize) < w {
                                    let v = x.get(&[a, b, ih as usize, iw as usize]).unwrap();
                                    best = best.max(v);
                                    sum += v as f64;
                                    cnt += 1;
                                }
                            }
                        }
                        let div = if include { (k.0 * k.1) as f64 } else { cnt as f64 };
                        prop_assert_eq!(mx.get(&[a, b, y, z]).unwrap(), best);
                        let flat = idx[[a, b, y, z]];
                        prop_assert_eq!(x.get(&[a, b, flat / w, flat % w]).unwrap(), best);
                        prop_assert!((av.get(&[a, b, y, z]).unwrap() as f64 - sum / div).abs() < 1e-5);
                    }
                }
            }
        }
    }
}
