//! LSTM and GRU one-step-ahead forecasts of yearly sunspot numbers
//! (`timeseries/sunspots.csv`): trained on the first 80% of years, tested on the rest; the
//! issue asks for a test MSE at least 25% below the naive last-value forecast.

use crate::nn_support;

use glassbox_nn::CellKind;

#[test]
fn lstm_beats_naive_forecast_by_25_percent() {
    let r = nn_support::train_sunspots(CellKind::Lstm, 32, 20, 150, 0);
    eprintln!(
        "sunspots LSTM: test MSE {:.1}, naive {:.1} ({:.1}% lower), {:.1} s",
        r.model_mse,
        r.naive_mse,
        100.0 * (1.0 - r.model_mse / r.naive_mse),
        r.seconds
    );
    assert!(
        r.model_mse <= 0.75 * r.naive_mse,
        "MSE {} vs naive {}",
        r.model_mse,
        r.naive_mse
    );
}

#[test]
fn gru_beats_naive_forecast_by_25_percent() {
    let r = nn_support::train_sunspots(CellKind::Gru, 32, 20, 150, 0);
    eprintln!(
        "sunspots GRU: test MSE {:.1}, naive {:.1} ({:.1}% lower), {:.1} s",
        r.model_mse,
        r.naive_mse,
        100.0 * (1.0 - r.model_mse / r.naive_mse),
        r.seconds
    );
    assert!(
        r.model_mse <= 0.75 * r.naive_mse,
        "MSE {} vs naive {}",
        r.model_mse,
        r.naive_mse
    );
}
