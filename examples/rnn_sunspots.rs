//! One-step-ahead forecasts of yearly sunspot numbers with an LSTM and a GRU (hidden 32,
//! 20-year windows, first 80% of years for training), compared with the naive last-value
//! forecast on the remaining years.
//!
//! `cargo run --release --example rnn_sunspots`

#[path = "../tests/it/nn_support.rs"]
mod nn_support;

use glassbox_nn::CellKind;

fn main() {
    for (name, kind) in [("LSTM", CellKind::Lstm), ("GRU", CellKind::Gru)] {
        let r = nn_support::train_sunspots(kind, 32, 20, 150, 0);
        println!(
            "{name}: test MSE {:.1} vs naive {:.1} ({:.1}% lower), trained in {:.1} s",
            r.model_mse,
            r.naive_mse,
            100.0 * (1.0 - r.model_mse / r.naive_mse),
            r.seconds
        );
    }
}
