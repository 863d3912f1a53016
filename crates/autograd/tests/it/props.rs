//! Property tests: every elementwise, arithmetic and reduction op against central finite
//! differences, over random shapes and broadcast shapes.

use glassbox_autograd::Var;
use glassbox_tensor::Tensor;
use proptest::prelude::*;

use crate::strategies::{assert_grad, away, axes, broadcast_pair, distinct, shape, tensor, values};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn add_sub_mul_broadcast((a, b) in broadcast_pair(-2.0, 2.0)) {
        assert_grad(|v| v[0].add(&v[1]), &[a.clone(), b.clone()])?;
        assert_grad(|v| v[0].sub(&v[1]), &[a.clone(), b.clone()])?;
        assert_grad(|v| v[0].mul(&v[1]), &[a, b])?;
    }

    #[test]
    fn div_broadcast((a, b) in broadcast_pair(-2.0, 2.0)) {
        let b = away(&b, 0.0, 0.5);
        assert_grad(|v| v[0].div(&v[1]), &[a, b])?;
    }

    #[test]
    fn pow_broadcast((a, b) in broadcast_pair(0.5, 2.0)) {
        let b = b.map(|x| x - 1.25); // exponents in [-0.75, 0.75)
        assert_grad(|v| v[0].pow(&v[1]), &[a, b])?;
    }

    #[test]
    fn maximum_minimum_broadcast((a, b) in broadcast_pair(-2.0, 2.0)) {
        // a on the grid 0.2·k, b on 0.2·k + 0.1: never within 0.1 of each other
        let a = a.map(|x| (x * 5.0).round() / 5.0);
        let b = b.map(|x| (x * 5.0).round() / 5.0 + 0.1);
        assert_grad(|v| v[0].maximum(&v[1]), &[a.clone(), b.clone()])?;
        assert_grad(|v| v[0].minimum(&v[1]), &[a, b])?;
    }

    #[test]
    fn scalar_ops(x in tensor(0.5, 2.0), c in -2.0f32..2.0) {
        assert_grad(|v| Ok(v[0].neg()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].add_scalar(c)), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].mul_scalar(c)), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].div_scalar(c + 3.0)), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].powf(c)), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].square()), &[x])?;
    }

    #[test]
    fn smooth_unary(x in tensor(-2.0, 2.0)) {
        assert_grad(|v| Ok(v[0].exp()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].sin()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].cos()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].erf()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].tanh()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].sigmoid()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].gelu()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].gelu_tanh()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].silu()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].softplus()), &[x.mul_scalar(6.0)])?;
        assert_grad(|v| Ok(v[0].ln_1p()), &[x.map(|e| e * 0.2 + 0.5)])?;
    }

    #[test]
    fn positive_domain_unary(x in tensor(0.5, 3.0)) {
        assert_grad(|v| Ok(v[0].ln()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].sqrt()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].recip()), &[x])?;
    }

    #[test]
    fn kinked_unary(x in tensor(-2.0, 2.0), slope in 0.01f32..0.5, alpha in 0.5f32..2.0) {
        let x = away(&x, 0.0, 0.05);
        assert_grad(|v| Ok(v[0].relu()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].leaky_relu(slope)), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].elu(alpha)), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].abs()), std::slice::from_ref(&x))?;
        // clamp bounds at ±1: values kept at least 0.03 away from them
        let x = x.map(|e| {
            let b = if e >= 0.0 { 1.0 } else { -1.0 };
            if (e - b).abs() < 0.03 {
                b + 0.03f32.copysign(e - b)
            } else {
                e
            }
        });
        assert_grad(|v| Ok(v[0].clamp(-1.0, 1.0)), &[x])?;
    }

    #[test]
    fn sum_mean_var_logsumexp(
        (x, ax) in shape(3).prop_flat_map(|s| {
            let r = s.len();
            (values(s, -2.0, 2.0), axes(r))
        }),
        keepdim in any::<bool>(),
        correction in 0usize..=1,
    ) {
        assert_grad(|v| v[0].sum_axes(&ax, keepdim), std::slice::from_ref(&x))?;
        assert_grad(|v| v[0].mean_axes(&ax, keepdim), std::slice::from_ref(&x))?;
        assert_grad(|v| v[0].logsumexp_axes(&ax, keepdim), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].sum_all()), std::slice::from_ref(&x))?;
        assert_grad(|v| Ok(v[0].mean_all()), std::slice::from_ref(&x))?;
        let n: usize = ax.iter().map(|&a| x.shape()[a]).product();
        if n > correction {
            assert_grad(|v| v[0].var_axes(&ax, correction, keepdim), &[x])?;
        }
    }

    #[test]
    fn max_min_axes(
        (x, ax) in shape(3).prop_flat_map(|s| {
            let r = s.len();
            (distinct(s), axes(r))
        }),
        keepdim in any::<bool>(),
    ) {
        assert_grad(|v| v[0].max_axes(&ax, keepdim), std::slice::from_ref(&x))?;
        assert_grad(|v| v[0].min_axes(&ax, keepdim), &[x])?;
    }
}

#[test]
fn max_ties_split_evenly_even_under_broadcast() {
    // Explicit tie check (finite differences are undefined at ties).
    let x = Var::parameter(Tensor::from_vec(vec![1.0, 1.0, 1.0, 0.0], &[2, 2]).unwrap());
    x.max_axes(&[0, 1], false).unwrap().backward().unwrap();
    let third = 1.0 / 3.0;
    assert_eq!(x.grad().unwrap().to_vec(), vec![third, third, third, 0.0]);
}
