//! 5-fold stratified cross-validation of an MLP on the bundled digits: mean ± std of the
//! test-fold accuracy.
//!
//! `cargo run --release --example cross_validation`

use glassbox::data::split::StratifiedKFold;
use glassbox::metrics::CvScores;
use glassbox::prelude::*;
use ndarray::Axis;

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
    let x = table.to_array(&pixels)?.mapv(|v| v / 16.0);
    let arch = ModelSpec::parse("mlp:128,64")?.resolve(&[64], 10)?;
    let folds = StratifiedKFold::new(5).shuffled(0).split(&labels)?;
    let mut scores = Vec::new();
    for (k, fold) in folds.iter().enumerate() {
        let pick = |idx: &[usize]| idx.iter().map(|&i| labels[i]).collect::<Vec<_>>();
        let mut net = arch.build(k as u64)?;
        let train = TrainData::new(
            x.select(Axis(0), &fold.train).mapv(|v| v as f32).into_dyn(),
            &Targets::Classes {
                labels: pick(&fold.train),
                n_classes: 10,
            },
        )?;
        let config = TrainConfig {
            epochs: 20,
            lr: 2e-3,
            seed: k as u64,
            ..TrainConfig::default()
        };
        Trainer::new(config).fit(&mut net, &train, None)?;
        let proba = predict_proba(&net, x.select(Axis(0), &fold.test).view())?;
        let acc = accuracy(&pick(&fold.test), &glassbox::eval::argmax_rows(&proba))?;
        println!("fold {}: accuracy {:.4}", k + 1, acc);
        scores.push(acc);
    }
    let cv = CvScores::from_scores(scores);
    println!("5-fold accuracy: {:.4} ± {:.4}", cv.mean, cv.std);
    Ok(())
}
