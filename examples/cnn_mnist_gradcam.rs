//! A small CNN on a subset of MNIST (6,000 training / 1,000 test digits, 3 epochs), then
//! Grad-CAM and Integrated Gradients heatmaps of five test digits written as PNGs to
//! `target/cnn_mnist_gradcam/`.
//!
//! `cargo run --release --example cnn_mnist_gradcam`

use glassbox::data::idx::{read_idx_images, read_idx_labels};
use glassbox::explain::plot::{heatmap_png, HeatmapConfig};
use glassbox::gradient::{grad_cam, integrated_gradients};
use glassbox::prelude::*;
use ndarray::{s, Array2, Axis};

fn load(images: &str, labels: &str, n: usize) -> Result<(Array2<f64>, Vec<usize>), Error> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist/");
    let x = read_idx_images(format!("{dir}{images}"))?;
    let y = read_idx_labels(format!("{dir}{labels}"))?;
    let x = x
        .slice(s![..n, .., ..])
        .to_owned()
        .into_shape_with_order((n, 784))
        .expect("28x28");
    Ok((
        x.mapv(|v| v as f64 / 255.0),
        y.iter().take(n).map(|&v| v as usize).collect(),
    ))
}

fn main() -> Result<(), Error> {
    let (x_train, y_train) = load(
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        6000,
    )?;
    let (x_test, y_test) = load(
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        1000,
    )?;
    let arch = ModelSpec::parse("cnn:8,16")?.resolve(&[1, 28, 28], 10)?;
    println!("{}", arch.describe());
    let mut net = arch.build(0)?;
    let train = TrainData::new(
        to_f32(x_train.view()).into_dyn(),
        &Targets::Classes {
            labels: y_train,
            n_classes: 10,
        },
    )?;
    let config = TrainConfig {
        epochs: 3,
        batch_size: 64,
        lr: 2e-3,
        ..TrainConfig::default()
    };
    Trainer::new(config)
        .with_callback(ProgressBar::new())
        .fit(&mut net, &train, None)?;

    net.eval();
    let pred = net.predict(&to_f32(x_test.view()))?;
    println!(
        "test accuracy on 1,000 MNIST digits: {:.2}%",
        100.0 * accuracy(&y_test, &pred)?
    );

    let xs = x_test.slice(s![0..5, ..]).to_owned();
    let targets = pred[..5].to_vec();
    let cam = grad_cam(
        &net,
        xs.view(),
        &targets,
        &arch.gradcam_layer().expect("a CNN"),
    )?;
    let ig = integrated_gradients(&net, xs.view(), Array2::zeros((1, 784)).view(), &targets)?;
    let out = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/cnn_mnist_gradcam"
    ));
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    for i in 0..5 {
        let img = xs
            .index_axis(Axis(0), i)
            .to_owned()
            .into_shape_with_order((28, 28))
            .expect("28x28");
        for (name, a) in [("gradcam", &cam), ("ig", &ig.attributions)] {
            let map = a
                .index_axis(Axis(0), i)
                .to_owned()
                .into_shape_with_order((28, 28))
                .expect("28x28");
            let png = heatmap_png(
                img.view(),
                map.view(),
                &HeatmapConfig {
                    scale: 8,
                    ..HeatmapConfig::default()
                },
            )?;
            let path = out.join(format!("digit{i}_pred{}_{name}.png", targets[i]));
            std::fs::write(&path, png).map_err(|e| Error::io(&path, e))?;
        }
        println!(
            "digit {i}: predicted {} (true {}), IG convergence delta {:.2e}",
            targets[i], y_test[i], ig.convergence_delta[i]
        );
    }
    println!("heatmaps written to {}", out.display());
    Ok(())
}
