//! Tabular explanations on breast_cancer: an MLP, Kernel SHAP for five test patients (with
//! the efficiency check), mean |SHAP| per feature, and IF–THEN rules of a surrogate tree
//! with their fidelity to the network.
//!
//! `cargo run --release --example tabular_explain`

use glassbox::explain::shapley::{Background, KernelShap, KernelShapConfig};
use glassbox::explain::surrogate::{GlobalSurrogate, LabelRule, TreeConfig};
use glassbox::prelude::*;
use ndarray::Axis;

fn main() -> Result<(), Error> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/tabular/breast_cancer.csv"
    );
    let set = fit_table(&read_csv(path, &CsvOptions::default())?, "target")?;
    let Targets::Classes { labels, n_classes } = &set.targets else {
        unreachable!("classes")
    };
    let (train_idx, test_idx) = stratified_train_test_split(labels, 0.25, 0)?;
    let pick = |idx: &[usize]| idx.iter().map(|&i| labels[i]).collect::<Vec<_>>();
    let (x_train, x_test) = (
        set.x.select(Axis(0), &train_idx),
        set.x.select(Axis(0), &test_idx),
    );

    let arch = ModelSpec::parse("mlp:32,16")?.resolve(&[set.x.ncols()], *n_classes)?;
    let mut net = arch.build(0)?;
    let train = TrainData::new(
        x_train.mapv(|v| v as f32).into_dyn(),
        &Targets::Classes {
            labels: pick(&train_idx),
            n_classes: *n_classes,
        },
    )?;
    let config = TrainConfig {
        epochs: 40,
        lr: 3e-3,
        ..TrainConfig::default()
    };
    Trainer::new(config).fit(&mut net, &train, None)?;
    net.eval();
    let f = net.proba_predictor();
    let pred = net.predict(&to_f32(x_test.view()))?;
    println!(
        "test accuracy: {:.2}%",
        100.0 * accuracy(&pick(&test_idx), &pred)?
    );

    let background = Background::kmeans(x_train.view(), 10, 0)?;
    let shap = KernelShap::new(&f, background, KernelShapConfig::default())?
        .explain(x_test.slice(ndarray::s![0..5, ..]))?;
    println!(
        "Kernel SHAP efficiency gap over 5 patients: {:.2e}",
        shap.efficiency_gap()
    );
    let malignant = shap.for_output(0)?; // class 0 = malignant
    let mut mean_abs: Vec<(f64, &str)> = (0..set.x.ncols())
        .map(|j| {
            (
                malignant.column(j).mapv(f64::abs).mean().unwrap_or(0.0),
                set.feature_names[j].as_str(),
            )
        })
        .collect();
    mean_abs.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("top features by mean |SHAP| (p(malignant)):");
    for (v, name) in mean_abs.iter().take(8) {
        println!(
            "  {name:<24} {v:.4}  {}",
            "█".repeat((v * 200.0).round() as usize)
        );
    }

    let tree = TreeConfig {
        max_depth: Some(3),
        min_samples_leaf: 5,
        ..TreeConfig::default()
    };
    let surrogate = GlobalSurrogate::fit(&f, x_train.view(), LabelRule::Argmax, &tree)?;
    let mut rules = surrogate.rules(&f, x_train.view())?;
    rules.feature_names = Some(set.feature_names.clone());
    rules.class_names = Some(vec!["malignant".into(), "benign".into()]);
    println!("surrogate rules (standardised feature units):\n{rules}");
    println!(
        "fidelity on the test set: {:.1}%",
        100.0 * surrogate.fidelity(&f, x_test.view())?
    );
    Ok(())
}
