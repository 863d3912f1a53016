//! Learning-rate schedules against PyTorch 2.15. The expected values were printed by
//! this script (lr after each of 12 `scheduler.step()` calls, starting from lr 0.1):
//!
//! ```python
//! p = torch.nn.Parameter(torch.zeros(1)); o = torch.optim.SGD([p], lr=0.1); s = make(o)
//! for i in range(12): o.step(); s.step(); print(o.param_groups[0]['lr'])
//! # StepLR(o, 3, 0.5); MultiStepLR(o, [2, 5, 9], 0.1); ExponentialLR(o, 0.9);
//! # CosineAnnealingLR(o, 5, 0.01); LinearLR(o, 0.25, 1.0, 4);
//! # ReduceLROnPlateau(o, 'min', factor=0.5, patience=1, cooldown=1, min_lr=0.02)
//! #   stepped with metrics [1.0, .9, .95, .95, .95, .89, .9, .9, .9, .9, .9, .9]
//! ```

use glassbox_optim::{LrScheduler, PlateauMode, ReduceLrOnPlateau, Schedule};

fn check(schedule: Schedule, expected: &[f64]) {
    let mut s = LrScheduler::new(schedule.clone(), 0.1).unwrap();
    for (i, &want) in expected.iter().enumerate() {
        let got = s.step();
        assert!(
            (got - want).abs() < 1e-12,
            "{schedule:?}: step {}: got {got}, PyTorch {want}",
            i + 1
        );
    }
}

#[test]
fn step_lr() {
    check(
        Schedule::Step {
            step_size: 3,
            gamma: 0.5,
        },
        &[
            0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.00625,
        ],
    );
}

#[test]
fn multi_step_lr() {
    check(
        Schedule::MultiStep {
            milestones: vec![2, 5, 9],
            gamma: 0.1,
        },
        &[
            0.1, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001, 1e-4, 1e-4, 1e-4, 1e-4,
        ],
    );
}

#[test]
fn exponential_lr() {
    let expected: Vec<f64> = (1..=12).map(|e| 0.1 * 0.9f64.powi(e)).collect();
    check(Schedule::Exponential { gamma: 0.9 }, &expected);
    // The first values as printed by PyTorch.
    check(
        Schedule::Exponential { gamma: 0.9 },
        &[
            0.09000000000000001,
            0.08100000000000002,
            0.07290000000000002,
        ],
    );
}

#[test]
fn cosine_annealing_lr() {
    check(
        Schedule::CosineAnnealing {
            t_max: 5,
            eta_min: 0.01,
        },
        &[
            0.09140576474687263,
            0.06890576474687263,
            0.04109423525312736,
            0.018594235253127367,
            0.01,
            0.018594235253127367,
            0.04109423525312739,
            0.06890576474687267,
            0.09140576474687269,
            0.10000000000000006,
            0.09140576474687272,
            0.06890576474687268,
        ],
    );
}

#[test]
fn linear_warmup_lr() {
    check(
        Schedule::LinearWarmup {
            warmup_steps: 4,
            start_factor: 0.25,
        },
        &[
            0.04375, 0.0625, 0.08125, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1,
        ],
    );
}

#[test]
fn warmup_cosine_starts_low_peaks_and_ends_at_eta_min() {
    let s = Schedule::WarmupCosine {
        warmup_steps: 2,
        total_steps: 6,
        start_factor: 0.5,
        eta_min: 0.0,
    };
    assert!((s.lr_at(0.1, 0) - 0.05).abs() < 1e-12);
    assert!((s.lr_at(0.1, 2) - 0.1).abs() < 1e-12);
    assert!((s.lr_at(0.1, 4) - 0.05).abs() < 1e-12);
    assert!(s.lr_at(0.1, 6).abs() < 1e-12);
    assert!(s.lr_at(0.1, 60).abs() < 1e-12);
}

#[test]
fn reduce_on_plateau_lr() {
    let metrics = [
        1.0, 0.9, 0.95, 0.95, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9,
    ];
    let expected = [
        0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02,
    ];
    let mut s = ReduceLrOnPlateau::new(PlateauMode::Min, 0.1)
        .unwrap()
        .with_factor(0.5)
        .unwrap()
        .with_patience(1)
        .with_cooldown(1)
        .with_min_lr(0.02);
    for (i, (&m, &want)) in metrics.iter().zip(&expected).enumerate() {
        let got = s.step(m);
        assert!(
            (got - want).abs() < 1e-12,
            "step {}: got {got}, PyTorch {want}",
            i + 1
        );
    }
}

#[test]
fn schedulers_resume_exactly_from_serialised_state() {
    let mut s = LrScheduler::new(
        Schedule::CosineAnnealing {
            t_max: 7,
            eta_min: 0.0,
        },
        0.3,
    )
    .unwrap();
    for _ in 0..3 {
        s.step();
    }
    let json = serde_json::to_string(&s).unwrap();
    let mut restored: LrScheduler = serde_json::from_str(&json).unwrap();
    for _ in 0..5 {
        assert_eq!(s.step(), restored.step());
    }
    let mut p = ReduceLrOnPlateau::new(PlateauMode::Max, 1.0)
        .unwrap()
        .with_patience(0);
    p.step(0.5);
    p.step(0.4);
    let mut q: ReduceLrOnPlateau =
        serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    for m in [0.3, 0.6, 0.2] {
        assert_eq!(p.step(m), q.step(m));
    }
}
