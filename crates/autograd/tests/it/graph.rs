//! Graph semantics: no-grad allocates nothing, long chains, accumulation, retain_graph,
//! retain_grad, threads.

use glassbox_autograd::{no_grad, nodes_recorded, AutogradError, NoGradGuard, Var};
use glassbox_tensor::Tensor;

#[test]
fn no_grad_records_no_nodes() {
    let w = Var::parameter(Tensor::ones(&[4, 3]));
    let x = Var::leaf(Tensor::ones(&[2, 4]), true);
    let before = nodes_recorded();
    let y = no_grad(|| {
        let h = x.matmul(&w).unwrap().relu().exp();
        h.sum_axes(&[1], false).unwrap().softmax(0).unwrap()
    });
    assert_eq!(
        nodes_recorded(),
        before,
        "no-grad forward recorded graph nodes"
    );
    assert!(!y.requires_grad() && y.is_leaf());
    {
        let _g = NoGradGuard::new();
        let z = w.mul_scalar(2.0).add(&w).unwrap();
        assert!(!z.requires_grad());
    }
    assert_eq!(nodes_recorded(), before);
    // With recording on, the same forward records one node per op.
    let _y = x.matmul(&w).unwrap().relu();
    assert_eq!(nodes_recorded(), before + 2);
    // A no-grad result cannot be backpropagated.
    assert!(matches!(
        y.sum_all().backward(),
        Err(AutogradError::NoGradient { .. })
    ));
}

#[test]
fn chain_of_100k_ops_backpropagates_and_drops() {
    // Run on a thread with a small (256 KiB) stack to prove nothing recurses.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let x = Var::parameter(Tensor::from_vec(vec![1.0], &[1]).unwrap());
            let mut y = x.clone();
            for _ in 0..100_000 {
                y = y.mul_scalar(1.0).add_scalar(0.0);
            }
            // 200,000 recorded ops; d y / d x = 1
            y.sum_all().backward().unwrap();
            assert_eq!(x.grad().unwrap().to_vec(), vec![1.0]);
            // A second, un-backpropagated chain is dropped without recursion.
            let mut z = x.clone();
            for _ in 0..100_000 {
                z = z.add_scalar(1.0);
            }
            assert_eq!(z.value().to_vec(), vec![100_001.0]);
            drop(z);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn gradients_accumulate_until_zeroed() {
    let x = Var::parameter(Tensor::from_vec(vec![2.0], &[1]).unwrap());
    for _ in 0..3 {
        x.square().sum_all().backward().unwrap();
    }
    assert_eq!(x.grad().unwrap().to_vec(), vec![12.0]);
    x.zero_grad();
    assert!(x.grad().is_none());
    x.square().sum_all().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![4.0]);
}

#[test]
fn graph_is_freed_unless_retained() {
    let x = Var::parameter(Tensor::from_vec(vec![3.0], &[1]).unwrap());
    let y = x.square().sum_all();
    y.backward_retain_graph(None).unwrap();
    y.backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![12.0]);
    let err = y.backward().unwrap_err();
    assert!(matches!(err, AutogradError::GraphFreed { .. }), "{err}");
    assert!(err.to_string().contains("backward_retain_graph"));
}

#[test]
fn shared_subexpressions_sum_their_paths() {
    // y = a·a + a, with `a = 2x` used three times: dy/dx = 2 (2a + 1) = 2 · 13 = 26 at x = 3
    let x = Var::parameter(Tensor::from_vec(vec![3.0], &[1]).unwrap());
    let a = x.mul_scalar(2.0);
    let y = a.mul(&a).unwrap().add(&a).unwrap().sum_all();
    y.backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![26.0]);
}

#[test]
fn retain_grad_keeps_intermediate_gradients_only_on_request() {
    let x = Var::parameter(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
    let h = x.mul_scalar(3.0);
    let k = h.exp();
    h.retain_grad();
    k.sum_all().backward().unwrap();
    // d sum(exp(h)) / dh = exp(h)
    let gh = h.grad().unwrap().to_vec();
    assert!((gh[0] - 3f32.exp()).abs() < 1e-4 && (gh[1] - 6f32.exp()).abs() < 1e-2);
    assert!(k.grad().is_none());
}

#[test]
fn backward_errors_are_typed() {
    let x = Var::parameter(Tensor::ones(&[2, 3]));
    let y = x.mul_scalar(2.0);
    let e = y.backward().unwrap_err();
    assert_eq!(e, AutogradError::NonScalarBackward { shape: vec![2, 3] });
    let e = y.backward_with(&Tensor::ones(&[3])).unwrap_err();
    assert!(matches!(e, AutogradError::GradShape { .. }), "{e}");
    // The failed calls did not consume the graph.
    y.backward_with(&Tensor::ones(&[2, 3])).unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![2.0; 6]);
}

#[test]
fn detach_cuts_the_graph() {
    let x = Var::parameter(Tensor::from_vec(vec![2.0], &[1]).unwrap());
    let d = x.square().detach();
    let y = x.mul(&d).unwrap().sum_all(); // treated as x · const(4)
    y.backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![4.0]);
}

#[test]
fn many_threads_share_parameters() {
    let w = Var::parameter(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3, 1]).unwrap());
    std::thread::scope(|s| {
        for i in 0..4 {
            let w = &w;
            s.spawn(move || {
                let x = Var::leaf(Tensor::full(&[1, 3], i as f32), true);
                // inference from a worker thread
                let y = no_grad(|| x.matmul(w).unwrap());
                assert_eq!(y.value().to_vec(), vec![6.0 * i as f32]);
                // input saliency from a worker thread: dy/dx = wᵀ
                x.matmul(w).unwrap().sum_all().backward().unwrap();
                assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 2.0, 3.0]);
            });
        }
    });
    // every thread's backward also accumulated into the shared parameter: Σ_i i · 1 = 6
    assert_eq!(w.grad().unwrap().to_vec(), vec![6.0; 3]);
}

/// Gradient with respect to the input of a two-layer network against finite differences.
#[test]
fn two_layer_network_input_gradient() {
    let mut rng = glassbox_tensor::rng::Rng::new(11);
    let w1 = Tensor::rand_normal(&[5, 8], 0.0, 0.5, &mut rng);
    let b1 = Tensor::rand_normal(&[8], 0.0, 0.5, &mut rng);
    let w2 = Tensor::rand_normal(&[8, 3], 0.0, 0.5, &mut rng);
    let x = Tensor::rand_normal(&[4, 5], 0.0, 1.0, &mut rng);
    let (w1, b1, w2) = (Var::constant(w1), Var::constant(b1), Var::constant(w2));
    let report = glassbox_autograd::gradcheck(
        |v: &[Var]| {
            let h = v[0].matmul(&w1)?.add(&b1)?.tanh();
            h.matmul(&w2)?.log_softmax(1)
        },
        &[x],
        1e-3,
        1e-2,
    )
    .unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!(report.checks, 20);
}

/// A custom op whose backward returns a gradient of the wrong shape / count.
struct BadOp {
    count: usize,
}
impl glassbox_autograd::BackwardOp for BadOp {
    fn backward(
        &self,
        _g: &Tensor,
        _inputs: &[Var],
    ) -> glassbox_autograd::Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(Tensor::zeros(&[7])); self.count])
    }
    fn name(&self) -> &'static str {
        "bad_op"
    }
}

#[test]
fn custom_op_contract_violations_are_typed_errors() {
    let x = Var::parameter(Tensor::ones(&[2]));
    let y = Var::from_op(
        Tensor::ones(&[2]),
        std::slice::from_ref(&x),
        Box::new(BadOp { count: 1 }),
    );
    let e = y.backward_with(&Tensor::ones(&[2])).unwrap_err();
    assert!(
        matches!(&e, AutogradError::GradShape { op: "bad_op", expected, found } if expected == &[2] && found == &[7]),
        "{e}"
    );
    let y = Var::from_op(
        Tensor::ones(&[2]),
        std::slice::from_ref(&x),
        Box::new(BadOp { count: 2 }),
    );
    let e = y.backward_with(&Tensor::ones(&[2])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad_op: backward returned 2 gradients for 1 inputs"
    );
    // a custom op on constants records nothing
    let c = Var::constant(Tensor::ones(&[2]));
    let z = Var::from_op(Tensor::ones(&[2]), &[c], Box::new(BadOp { count: 1 }));
    assert!(!z.requires_grad());
}
