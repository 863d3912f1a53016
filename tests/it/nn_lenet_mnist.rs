//! LeNet-5 on MNIST. The issue asks for ≥ 99.0% test accuracy within 10 epochs on the full
//! 60k/10k split (LeCun et al. 1998 report 0.95% error); that run takes minutes on two
//! cores and is `#[ignore]`d (`cargo test --release --test it nn_lenet_mnist -- --ignored`).
//! The smoke version trains two epochs on 6,000 images and checks 1,000 test images.

use crate::nn_support;

#[test]
fn lenet_smoke_two_epochs_on_a_subset() {
    let r = nn_support::train_lenet(Some(6000), Some(1000), 2, 1.0, 0);
    let acc = r.last().unwrap().test_accuracy;
    assert!(
        acc >= 0.9,
        "test accuracy {acc} after two epochs on 6,000 images"
    );
}

#[test]
#[ignore = "full MNIST, several minutes: run with --ignored"]
fn lenet_full_mnist_reaches_99_percent_within_10_epochs() {
    let r = nn_support::train_lenet(None, None, 10, 0.99, 0);
    let best = r.iter().map(|e| e.test_accuracy).fold(0.0, f64::max);
    let spe = r.iter().map(|e| e.seconds).sum::<f64>() / r.len() as f64;
    eprintln!(
        "LeNet full MNIST: best test accuracy {best:.4} in {} epochs, {spe:.1} s/epoch",
        r.len()
    );
    assert!(
        best >= 0.99,
        "best test accuracy {best} < 0.99 within 10 epochs"
    );
}
