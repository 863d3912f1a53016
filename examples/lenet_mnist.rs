//! LeNet-5 on the bundled full MNIST (60k train, 10k test): Adam 1e-3 with cosine decay,
//! batch 64, up to 10 epochs (stops at 99.0% test accuracy); prints seconds per epoch.
//!
//! `cargo run --release --example lenet_mnist [epochs]`

#[path = "../tests/it/nn_support.rs"]
mod nn_support;

fn main() {
    let epochs = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let r = nn_support::train_lenet(None, None, epochs, 0.99, 0);
    for e in &r {
        println!(
            "epoch {}: {:.1} s, test accuracy {:.2}%",
            e.epoch,
            e.seconds,
            100.0 * e.test_accuracy
        );
    }
}
