//! Property tests: matmul, shape and index ops, layer norm, softmax, losses, convolution, pooling,
//! dropout and embedding against central finite differences.

use glassbox_autograd::ops::conv::{conv1d, conv2d};
use glassbox_autograd::ops::dropout::dropout;
use glassbox_autograd::ops::embedding::embedding;
use glassbox_autograd::ops::loss::{cross_entropy, nll_loss, CrossEntropyOptions, Reduction};
use glassbox_autograd::ops::pool::{
    adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d,
};
use glassbox_autograd::Var;
use glassbox_tensor::conv::{Conv1dParams, Conv2dParams};
use glassbox_tensor::pool::Pool2dParams;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

use crate::strategies::{assert_grad, distinct, shape, values};

fn reduction() -> impl Strategy<Value = Reduction> {
    prop_oneof![
        Just(Reduction::Mean),
        Just(Reduction::Sum),
        Just(Reduction::None)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn matmul_2d_batched_and_vectors(
        (m, k, n) in (1usize..=4, 1usize..=4, 1usize..=4),
        batch in prop::collection::vec(1usize..=3, 0..=2),
        bcast in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut sa = batch.clone();
        sa.extend([m, k]);
        // the rhs either has the same batch axes or none (broadcast over the batch)
        let mut sb = if bcast { vec![] } else { batch.clone() };
        sb.extend([k, n]);
        let a = Tensor::rand_uniform(&sa, -1.0, 1.0, &mut rng);
        let b = Tensor::rand_uniform(&sb, -1.0, 1.0, &mut rng);
        assert_grad(|v| v[0].matmul(&v[1]), &[a, b.clone()])?;
        let vecx = Tensor::rand_uniform(&[k], -1.0, 1.0, &mut rng);
        assert_grad(|v| v[0].matmul(&v[1]), &[vecx.clone(), b])?;
        assert_grad(|v| v[0].matmul(&v[1]), &[vecx.clone(), vecx])?;
    }

    #[test]
    fn reshape_permute_broadcast(s in shape(3), seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let x = Tensor::rand_uniform(&s, -1.0, 1.0, &mut rng);
        let n = x.len();
        let r = s.len();
        assert_grad(|v| v[0].reshape(&[n]), std::slice::from_ref(&x))?;
        let rev: Vec<usize> = (0..r).rev().collect();
        assert_grad(|v| v[0].permute(&rev), std::slice::from_ref(&x))?;
        assert_grad(|v| v[0].transpose(0, r - 1), std::slice::from_ref(&x))?;
        assert_grad(|v| v[0].unsqueeze(0)?.squeeze(0), std::slice::from_ref(&x))?;
        assert_grad(|v| v[0].flatten(0, r - 1), std::slice::from_ref(&x))?;
        let mut big = vec![2];
        big.extend(&s);
        assert_grad(|v| v[0].broadcast_to(&big), std::slice::from_ref(&x))?;
        let ones = vec![1; r];
        let small = Tensor::rand_uniform(&ones, -1.0, 1.0, &mut rng);
        assert_grad(|v| v[0].broadcast_to(&s), &[small])?;
    }

    #[test]
    fn narrow_concat_stack_pad(s in shape(3), seed in any::<u64>(), pads in (0usize..=2, 0usize..=2)) {
        let mut rng = Rng::new(seed);
        let x = Tensor::rand_uniform(&s, -1.0, 1.0, &mut rng);
        let y = Tensor::rand_uniform(&s, -1.0, 1.0, &mut rng);
        let axis = s.len() - 1;
        let len = s[axis];
        let start = (seed as usize) % len;
        assert_grad(|v| v[0].narrow(axis, start, len - start), std::slice::from_ref(&x))?;
        assert_grad(|v| Var::concat(&[v[0].clone(), v[1].clone()], 0), &[x.clone(), y.clone()])?;
        assert_grad(|v| Var::stack(&[v[0].clone(), v[1].clone()], axis), &[x.clone(), y])?;
        assert_grad(|v| v[0].pad(&[pads], 0.5), &[x])?;
    }

    #[test]
    fn index_select_gather_where(s in shape(3), seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let x = Tensor::rand_uniform(&s, -1.0, 1.0, &mut rng);
        let axis = rng.below(s.len());
        let size = s[axis];
        let picks: Vec<usize> = (0..size + 2).map(|_| rng.below(size)).collect();
        assert_grad(|v| v[0].index_select(axis, &picks), std::slice::from_ref(&x))?;
        let idx = ArrayD::from_shape_fn(IxDyn(&s), |_| rng.below(size));
        assert_grad(|v| v[0].gather(axis, &idx), std::slice::from_ref(&x))?;
        let cond = Tensor::rand_bernoulli(&s, 0.5, &mut rng).unwrap();
        let other = Tensor::rand_uniform(&s[1..], -1.0, 1.0, &mut rng);
        assert_grad(|v| Var::where_cond(&cond, &v[0], &v[1]), &[x.clone(), other])?;
        assert_grad(|v| v[0].masked_fill(&cond, 3.0), &[x])?;
    }

    #[test]
    fn layer_norm_input_weight_bias(
        lead in prop::collection::vec(1usize..=3, 0..=2),
        trailing in prop::collection::vec(1usize..=4, 1..=2),
        affine in 0usize..4,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut s = lead.clone();
        s.extend(&trailing);
        let n: usize = trailing.iter().product();
        let x = Tensor::rand_uniform(&s, -2.0, 2.0, &mut rng);
        // eps 0.1 keeps rows of nearly equal values well conditioned for the differences.
        let w = Tensor::rand_uniform(&trailing, 0.5, 1.5, &mut rng);
        let b = Tensor::rand_uniform(&trailing, -1.0, 1.0, &mut rng);
        // 0: weight and bias, 1: weight only, 2: bias only, 3: neither.
        match affine {
            0 => assert_grad(|v| v[0].layer_norm(n, Some(&v[1]), Some(&v[2]), 0.1), &[x, w, b])?,
            1 => assert_grad(|v| v[0].layer_norm(n, Some(&v[1]), None, 0.1), &[x, w])?,
            2 => assert_grad(|v| v[0].layer_norm(n, None, Some(&v[1]), 0.1), &[x, b])?,
            _ => assert_grad(|v| v[0].layer_norm(n, None, None, 0.1), &[x])?,
        }
    }

    #[test]
    fn softmax_log_softmax(s in shape(3), seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let x = Tensor::rand_uniform(&s, -2.0, 2.0, &mut rng);
        let axis = rng.below(s.len());
        assert_grad(|v| v[0].softmax(axis), std::slice::from_ref(&x))?;
        assert_grad(|v| v[0].log_softmax(axis), &[x])?;
    }

    #[test]
    fn cross_entropy_and_nll(
        (n, c) in (1usize..=5, 2usize..=5),
        seed in any::<u64>(),
        red in reduction(),
        weighted in any::<bool>(),
        smoothing in prop_oneof![Just(0.0f32), 0.0f32..0.5],
        ignore in any::<bool>(),
    ) {
        let mut rng = Rng::new(seed);
        let z = Tensor::rand_uniform(&[n, c], -3.0, 3.0, &mut rng);
        let mut t: Vec<usize> = (0..n).map(|_| rng.below(c)).collect();
        t[0] = 0; // keep at least one row that is not ignored
        let opts = CrossEntropyOptions {
            reduction: red,
            weight: weighted.then(|| (0..c).map(|_| rng.uniform_range(0.2, 2.0) as f32).collect()),
            label_smoothing: smoothing,
            ignore_index: (ignore && c > 2).then_some(c - 1),
        };
        assert_grad(|v| cross_entropy(&v[0], &t, &opts), std::slice::from_ref(&z))?;
        let nll_opts = CrossEntropyOptions { label_smoothing: 0.0, ..opts };
        assert_grad(|v| nll_loss(&v[0].log_softmax(1)?, &t, &nll_opts), &[z])?;
    }

    #[test]
    fn conv2d_stride_padding_dilation(
        (n, c, o) in (1usize..=2, 1usize..=2, 1usize..=2),
        (h, w) in (3usize..=6, 3usize..=6),
        (kh, kw) in (1usize..=3, 1usize..=3),
        (stride, pad, dil) in (1usize..=2, 0usize..=1, 1usize..=2),
        bias in any::<bool>(),
        seed in any::<u64>(),
    ) {
        prop_assume!(h + 2 * pad > dil * (kh - 1) && w + 2 * pad > dil * (kw - 1));
        let mut rng = Rng::new(seed);
        let x = Tensor::rand_uniform(&[n, c, h, w], -1.0, 1.0, &mut rng);
        let wt = Tensor::rand_uniform(&[o, c, kh, kw], -1.0, 1.0, &mut rng);
        let b = Tensor::rand_uniform(&[o], -1.0, 1.0, &mut rng);
        let p = Conv2dParams::default().stride(stride, stride).padding(pad, pad).dilation(dil, dil);
        if bias {
            assert_grad(|v| conv2d(&v[0], &v[1], Some(&v[2]), &p), &[x, wt, b])?;
        } else {
            assert_grad(|v| conv2d(&v[0], &v[1], None, &p), &[x, wt])?;
        }
    }

    #[test]
    fn conv1d_stride_padding_dilation(
        (n, c, o) in (1usize..=2, 1usize..=3, 1usize..=3),
        l in 3usize..=8,
        k in 1usize..=3,
        (stride, pad, dil) in (1usize..=2, 0usize..=2, 1usize..=2),
        seed in any::<u64>(),
    ) {
        prop_assume!(l + 2 * pad > dil * (k - 1));
        let mut rng = Rng::new(seed);
        let x = Tensor::rand_uniform(&[n, c, l], -1.0, 1.0, &mut rng);
        let wt = Tensor::rand_uniform(&[o, c, k], -1.0, 1.0, &mut rng);
        let b = Tensor::rand_uniform(&[o], -1.0, 1.0, &mut rng);
        let p = Conv1dParams::default().stride(stride).padding(pad).dilation(dil);
        assert_grad(|v| conv1d(&v[0], &v[1], Some(&v[2]), &p), &[x, wt, b])?;
    }

    #[test]
    fn pooling(
        x in (1usize..=2, 1usize..=2, 2usize..=6, 2usize..=6)
            .prop_flat_map(|(n, c, h, w)| distinct(vec![n, c, h, w])),
        k in 1usize..=2,
        stride in 1usize..=2,
        pad in 0usize..=1,
        out in (1usize..=3, 1usize..=3),
    ) {
        prop_assume!(pad * 2 <= k);
        let p = Pool2dParams::new(k, k).stride(stride, stride).padding(pad, pad);
        assert_grad(|v| max_pool2d(&v[0], &p), std::slice::from_ref(&x))?;
        assert_grad(|v| avg_pool2d(&v[0], &p), std::slice::from_ref(&x))?;
        assert_grad(|v| adaptive_avg_pool2d(&v[0], out), std::slice::from_ref(&x))?;
        let x3 = x.flatten(2, 3);
        assert_grad(|v| max_pool1d(&v[0], k, stride, pad), std::slice::from_ref(&x3))?;
        assert_grad(|v| avg_pool1d(&v[0], k, stride, pad), &[x3])?;
    }

    #[test]
    fn dropout_with_fixed_seed(x in shape(3).prop_flat_map(|s| values(s, -2.0, 2.0)), p in 0.0f32..0.9, seed in any::<u64>()) {
        // f re-seeds its generator, so every evaluation uses the same mask
        assert_grad(|v| dropout(&v[0], p, true, &mut Rng::new(seed)), &[x])?;
    }

    #[test]
    fn embedding_weight_gradient(
        (num, dim) in (1usize..=5, 1usize..=4),
        len in 1usize..=6,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let w = Tensor::rand_uniform(&[num, dim], -1.0, 1.0, &mut rng);
        let idx: Vec<usize> = (0..len).map(|_| rng.below(num)).collect();
        assert_grad(|v| embedding(&v[0], &idx, &[len]), &[w])?;
    }
}
