//! An LSTM forecasting yearly sunspot numbers from the previous 24 years (bundled
//! `data/timeseries/sunspots.csv`), compared with the naive "same as last year" forecast on
//! the last 20% of the series.
//!
//! `cargo run --release --example lstm_sunspots`

use glassbox::prelude::*;
use ndarray::Array2;

const WINDOW: usize = 24;

fn main() -> Result<(), Error> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/timeseries/sunspots.csv");
    let table = read_csv(path, &CsvOptions::default())?;
    let series: Vec<f64> = table.to_array(&["SUNACTIVITY"])?.column(0).to_vec();
    let (mean, std) = {
        let m = series.iter().sum::<f64>() / series.len() as f64;
        (
            m,
            (series.iter().map(|v| (v - m).powi(2)).sum::<f64>() / series.len() as f64).sqrt(),
        )
    };
    let z: Vec<f64> = series.iter().map(|v| (v - mean) / std).collect();
    let n = z.len() - WINDOW;
    let x = Array2::from_shape_fn((n, WINDOW), |(i, t)| z[i + t]);
    let y: Vec<f64> = (0..n).map(|i| z[i + WINDOW]).collect();
    let split = n * 4 / 5;
    let arch = ModelSpec::parse("lstm:32")?.resolve(&[WINDOW, 1], 1)?;
    println!("{}", arch.describe());
    let mut net = arch.build(0)?;
    let train = TrainData::new(
        to_f32(x.slice(ndarray::s![..split, ..])).into_dyn(),
        &Targets::Values(y[..split].iter().map(|&v| v as f32).collect()),
    )?;
    let config = TrainConfig {
        epochs: 60,
        batch_size: 16,
        lr: 5e-3,
        ..TrainConfig::default()
    };
    Trainer::new(config)
        .with_callback(ProgressBar::new())
        .fit(&mut net, &train, None)?;

    net.eval();
    let pred = net.predict_outputs(&to_f32(x.slice(ndarray::s![split.., ..])))?;
    let unscale = |v: f64| v * std + mean;
    let (mut mse, mut naive) = (0.0, 0.0);
    for (k, i) in (split..n).enumerate() {
        let truth = unscale(y[i]);
        mse += (unscale(f64::from(pred[[k, 0]])) - truth).powi(2);
        naive += (unscale(z[i + WINDOW - 1]) - truth).powi(2);
    }
    let m = (n - split) as f64;
    println!(
        "test MSE: LSTM {:.1}, naive forecast {:.1} ({:+.1}%)",
        mse / m,
        naive / m,
        100.0 * (mse / naive - 1.0)
    );
    Ok(())
}
