//! Checkpoints: training resumed from a checkpoint ends with exactly the parameters of a
//! run that was never interrupted; the `Var`-level optimizer matches the slice-level rule.

use glassbox_autograd::Var;
use glassbox_nn::*;
use glassbox_optim::*;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

struct Run {
    model: Sequential,
    opt: AdamW,
    sched: LrScheduler,
    /// Drives both the shuffling and the dropout masks.
    rng: SharedRng,
}

fn new_run(seed: u64) -> Run {
    let mut init = Rng::new(seed);
    let rng: SharedRng = std::sync::Arc::new(std::sync::Mutex::new(Rng::new(42)));
    let model = Sequential::new()
        .add(Linear::new(3, 16, true, &mut init).unwrap())
        .add(Activation::tanh())
        .add(Dropout::with_rng(0.2, rng.clone()).unwrap())
        .add(Linear::new(16, 2, true, &mut init).unwrap());
    let opt = AdamW::new(model.named_parameters(), AdamWConfig::new(0.05)).unwrap();
    let sched = LrScheduler::new(
        Schedule::Step {
            step_size: 3,
            gamma: 0.5,
        },
        0.05,
    )
    .unwrap();
    Run {
        model,
        opt,
        sched,
        rng,
    }
}

fn data() -> (Tensor, Vec<usize>) {
    let x = Tensor::rand_normal(&[40, 3], 0.0, 1.0, &mut Rng::new(5));
    let xv = x.to_vec();
    let y = (0..40)
        .map(|i| usize::from(xv[3 * i] + xv[3 * i + 1] > 0.0))
        .collect();
    (x, y)
}

/// One epoch: shuffled mini-batches of 8 drawn with the run's RNG.
fn epoch(run: &mut Run, x: &Tensor, y: &[usize]) {
    let order = run.rng.lock().unwrap().permutation(40);
    for chunk in order.chunks(8) {
        let xb = x.try_index_select(0, chunk).unwrap();
        let yb: Vec<usize> = chunk.iter().map(|&i| y[i]).collect();
        run.opt.zero_grad();
        let logits = run.model.forward(&Var::constant(xb)).unwrap();
        cross_entropy(&logits, &yb, &CrossEntropyOptions::default())
            .unwrap()
            .backward()
            .unwrap();
        clip_grad_norm(run.opt.parameters(), 1.0, NormType::P(2.0)).unwrap();
        run.opt.step().unwrap();
    }
    let lr = run.sched.step();
    run.opt.set_lr(lr);
}

fn params(m: &Sequential) -> Vec<Vec<f32>> {
    m.named_parameters()
        .iter()
        .map(|(_, v)| v.value().to_vec())
        .collect()
}

#[test]
fn resumed_training_matches_uninterrupted_training_exactly() {
    let (x, y) = data();
    let mut straight = new_run(1);
    for _ in 0..6 {
        epoch(&mut straight, &x, &y);
    }

    let dir = std::env::temp_dir().join(format!("glassbox-optim-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.ckpt");
    let mut first = new_run(1);
    for _ in 0..3 {
        epoch(&mut first, &x, &y);
    }
    let rng_state = first.rng.lock().unwrap().clone();
    let ck = Checkpoint::capture(
        &first.model,
        &first.opt,
        SchedulerState::Epoch(first.sched.clone()),
        3,
        Some(rng_state),
    );
    ck.save(&path).unwrap();
    drop(first);

    // A fresh process: different initialisation, then everything restored from disk.
    let mut resumed = new_run(99);
    let ck = Checkpoint::load(&path).unwrap();
    ck.restore(&resumed.model, &mut resumed.opt).unwrap();
    resumed.sched = match ck.scheduler {
        SchedulerState::Epoch(s) => s,
        other => panic!("unexpected scheduler {other:?}"),
    };
    *resumed.rng.lock().unwrap() = ck.rng.clone().unwrap();
    assert_eq!(ck.epoch, 3);
    for _ in 3..6 {
        epoch(&mut resumed, &x, &y);
    }
    assert_eq!(params(&straight.model), params(&resumed.model));
    assert_eq!(straight.opt.lr(), resumed.opt.lr());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn var_level_step_equals_the_update_rule() {
    let p0 = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]).unwrap();
    let g = Tensor::from_vec(vec![0.1, 0.2, -0.3], &[3]).unwrap();
    let v = Var::parameter(p0.clone());
    let rule = RmsPropConfig::new(0.01)
        .with_momentum(0.9)
        .with_centered(true);
    let mut opt = RmsProp::new(vec![("w".into(), v.clone())], rule.clone()).unwrap();
    let mut p = p0.to_vec();
    let mut st = ParamState::default();
    for _ in 0..4 {
        v.set_grad(Some(g.clone()));
        opt.step().unwrap();
        rule.update("w", 0.01, &mut p, &g.to_vec(), &mut st)
            .unwrap();
    }
    assert_eq!(v.value().to_vec(), p);
    assert_eq!(opt.param_state("w").unwrap(), &st);
}

#[test]
fn optimizer_state_mismatches_are_errors() {
    let a = Var::parameter(Tensor::zeros(&[3]));
    let mut sgd = Sgd::new(
        vec![("a".into(), a.clone())],
        SgdConfig::new(0.1).with_momentum(0.9),
    )
    .unwrap();
    a.set_grad(Some(Tensor::ones(&[3])));
    sgd.step().unwrap();
    let state = sgd.state();
    let mut adam = Adam::new(vec![("a".into(), a.clone())], AdamConfig::adam(0.1)).unwrap();
    assert!(adam
        .load_state(&state)
        .unwrap_err()
        .to_string()
        .contains("SGD"));
    let b = Var::parameter(Tensor::zeros(&[4]));
    let mut other = Sgd::new(
        vec![("a".into(), b)],
        SgdConfig::new(0.1).with_momentum(0.9),
    )
    .unwrap();
    let e = other.load_state(&state).unwrap_err();
    assert!(e.to_string().contains("`a`"), "{e}");
    assert!(Sgd::new(
        vec![("a".into(), a.clone()), ("a".into(), a)],
        SgdConfig::new(0.1)
    )
    .is_err());
}

#[test]
fn clipping_vars_rescales_gradients() {
    let a = Var::parameter(Tensor::zeros(&[2]));
    a.set_grad(Some(Tensor::from_vec(vec![3.0, 4.0], &[2]).unwrap()));
    let params = vec![("a".to_string(), a.clone())];
    let n = clip_grad_norm(&params, 2.5, NormType::P(2.0)).unwrap();
    assert!((n - 5.0).abs() < 1e-9);
    let g = a.grad().unwrap().to_vec();
    assert!(
        (g[0] - 1.5).abs() < 1e-5 && (g[1] - 2.0).abs() < 1e-5,
        "{g:?}"
    );
    clip_grad_value(&params, 1.0).unwrap();
    assert_eq!(a.grad().unwrap().to_vec(), vec![1.0, 1.0]);
}
