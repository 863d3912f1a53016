//! Trains the 64-128-64-10 MLP on the bundled `data/tabular/digits.csv` (standardised,
//! stratified 80/20 split, Adam 1e-3, batch 32, 30 epochs) and prints the test accuracy.
//!
//! `cargo run --release --example mlp_digits`

#[path = "../tests/it/nn_support.rs"]
mod nn_support;

fn main() {
    let (_, acc, spe) = nn_support::train_digits(30, 0);
    println!(
        "digits MLP: test accuracy {:.2}%, {spe:.4} s/epoch",
        100.0 * acc
    );
}
