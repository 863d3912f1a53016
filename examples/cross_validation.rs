//! 5-fold stratified cross-validation of an MLP on the bundled digits: mean ± std of the
//! test-fold accuracy, the way scikit-learn's
//! `cross_val_score(MLPClassifier(hidden_layer_sizes=(128, 64)), X, y, cv=5)` reports it.
//!
//! `cargo run --release --example cross_validation`

use glassbox::prelude::*;

fn main() -> Result<(), Error> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/tabular/digits.csv");
    let table = read_csv(path, &CsvOptions::default())?;
    let labels: Vec<usize> = table
        .to_array(&["target"])?
        .column(0)
        .iter()
        .map(|&v| v as usize)
        .collect();
    let pixels: Vec<&str> = table
        .column_names()
        .into_iter()
        .filter(|c| *c != "target")
        .collect();
    let x = to_f32(table.to_array(&pixels)?.mapv(|v| v / 16.0).view());
    let arch = ModelSpec::parse("mlp:128,64")?.resolve(&[64], 10)?;
    let config = TrainConfig {
        epochs: 20,
        lr: 2e-3,
        ..TrainConfig::default()
    };
    let folds = StratifiedKFold::new(5).shuffled(0).split(&labels)?;
    let cv = cross_validate(
        || Classifier::new(arch.clone(), config.clone(), 0),
        x.view(),
        &labels,
        &folds,
        |y, predicted: &Vec<usize>| accuracy(y, predicted),
        false,
    )?;
    for (k, acc) in cv.scores.iter().enumerate() {
        println!("fold {}: accuracy {acc:.4}", k + 1);
    }
    println!("5-fold accuracy: {:.4} ± {:.4}", cv.mean, cv.std);
    Ok(())
}
