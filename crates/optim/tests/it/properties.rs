//! Properties of the update rules and clipping, with naive formulas as the oracle.

use glassbox_optim::{
    clip_grad_norm_slices, clip_grad_value_slices, AdamConfig, AdamWConfig, NormType, ParamState,
    SgdConfig, UpdateRule,
};
use proptest::prelude::*;

fn vecs(n: usize) -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    (
        prop::collection::vec(-5.0f32..5.0, n),
        prop::collection::vec(-5.0f32..5.0, n),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn plain_sgd_is_p_minus_lr_g((p0, g) in (1usize..20).prop_flat_map(vecs), lr in 0.0f64..1.0) {
        let mut p = p0.clone();
        SgdConfig::new(lr).update("p", lr, &mut p, &g, &mut ParamState::default()).unwrap();
        for i in 0..p.len() {
            let want = p0[i] - lr as f32 * g[i];
            prop_assert!((p[i] - want).abs() <= 1e-6 * (1.0 + want.abs()));
        }
    }

    #[test]
    fn first_adam_step_moves_each_coordinate_by_about_lr((p0, g) in (1usize..20).prop_flat_map(vecs)) {
        // With bias correction, step 1 is lr * g / (|g| + eps'): a sign step of size lr.
        let mut p = p0.clone();
        AdamConfig::adam(0.01).update("p", 0.01, &mut p, &g, &mut ParamState::default()).unwrap();
        for i in 0..p.len() {
            let moved = p0[i] - p[i];
            if g[i].abs() > 1e-3 {
                prop_assert!((moved - 0.01 * g[i].signum()).abs() < 1e-4, "moved {moved} for g {}", g[i]);
            }
        }
    }

    #[test]
    fn state_round_trip_continues_identically((p0, g) in (1usize..10).prop_flat_map(vecs)) {
        let rule = AdamWConfig::new(0.05).with_amsgrad(true);
        let mut a = p0.clone();
        let mut sa = ParamState::default();
        for _ in 0..3 { rule.update("p", 0.05, &mut a, &g, &mut sa).unwrap(); }
        let mut b = a.clone();
        let mut sb: ParamState = serde_json::from_str(&serde_json::to_string(&sa).unwrap()).unwrap();
        for _ in 0..3 {
            rule.update("p", 0.05, &mut a, &g, &mut sa).unwrap();
            rule.update("p", 0.05, &mut b, &g, &mut sb).unwrap();
        }
        prop_assert_eq!(a, b);
    }

    #[test]
    fn clipped_norm_never_exceeds_max((_, g) in (1usize..30).prop_flat_map(vecs), max in 0.01f64..10.0) {
        let mut g = g;
        let before: f64 = g.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
        let total = clip_grad_norm_slices(&mut [&mut g], max, NormType::P(2.0)).unwrap();
        prop_assert!((total - before).abs() < 1e-6 * (1.0 + before));
        let after: f64 = g.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
        prop_assert!(after <= max * (1.0 + 1e-5) + 1e-6);
    }

    #[test]
    fn value_clipping_bounds_every_element((_, g) in (1usize..30).prop_flat_map(vecs), c in 0.0f64..3.0) {
        let mut g = g;
        clip_grad_value_slices(&mut [&mut g], c).unwrap();
        prop_assert!(g.iter().all(|x| x.abs() <= c as f32));
    }
}

#[test]
fn mismatched_gradient_length_is_an_error_naming_the_parameter() {
    let mut p = [0.0f32; 3];
    let err = SgdConfig::new(0.1)
        .update(
            "fc1.weight",
            0.1,
            &mut p,
            &[1.0, 2.0],
            &mut ParamState::default(),
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("fc1.weight") && msg.contains('3') && msg.contains('2'),
        "{msg}"
    );
}

#[test]
fn invalid_hyperparameters_are_rejected() {
    assert!(SgdConfig::new(-0.1).validate().is_err());
    assert!(SgdConfig::new(0.1).with_nesterov(true).validate().is_err());
    assert!(AdamConfig::adam(0.1)
        .with_betas(1.0, 0.9)
        .validate()
        .is_err());
    assert!(AdamConfig::adam(0.1).validate().is_ok());
}
