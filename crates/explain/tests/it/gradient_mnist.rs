//! A small CNN trained on an MNIST subset: Grad-CAM and IG heatmaps of ten test digits as
//! PNGs, the model-randomisation sanity check, and IG deletion curves against a random
//! ranking.

use crate::gradient_common;

use glassbox_autograd::{no_grad, Var};
use glassbox_data::idx::{images_to_f32, read_idx_images, read_idx_labels};
use glassbox_explain::checks::{deletion_curve, randomisation_check, CurveConfig};
use glassbox_explain::gradient::{
    grad_cam, integrated_gradients, interpolate, GradModel, IgConfig, Interpolation,
};
use glassbox_explain::plot::{write_heatmap_png, HeatmapConfig};
use glassbox_explain::rng::Rng as ExplainRng;
use glassbox_nn::{
    Activation, Conv2d, Conv2dConfig, Flatten, Linear, MaxPool2d, Module, Sequential,
};
use glassbox_tensor::{rng::Rng, Tensor};
use ndarray::{Array2, ArrayView2, Axis};

/// The first `n` images of a bundled MNIST split (`data/mnist/`; a missing file fails).
fn mnist(file: &str, labels: &str, n: usize) -> (Tensor, Vec<usize>) {
    let images = read_idx_images(glassbox_testkit::bundled_data(&format!("mnist/{file}")))
        .expect("bundled MNIST images");
    let y = read_idx_labels(glassbox_testkit::bundled_data(&format!("mnist/{labels}")))
        .expect("bundled MNIST labels");
    let x = images_to_f32(&images);
    let n = n.min(x.shape()[0]);
    let x = x.slice_move(ndarray::s![..n, .., .., ..]).into_dyn();
    (
        Tensor::from(x.to_owned()),
        y.iter().take(n).map(|&v| v as usize).collect(),
    )
}

fn cnn(seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    Sequential::new()
        .add(Conv2d::new(Conv2dConfig::new(1, 8, 3), &mut rng).unwrap())
        .add(Activation::relu())
        .add(MaxPool2d::new(2, 2, 0).unwrap())
        .add(Conv2d::new(Conv2dConfig::new(8, 16, 3), &mut rng).unwrap())
        .add(Activation::relu())
        .add(MaxPool2d::new(2, 2, 0).unwrap())
        .add(Flatten::new())
        .add(Linear::new(16 * 5 * 5, 10, true, &mut rng).unwrap())
}

fn out_dir() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").to_string());
    let dir = std::path::Path::new(&target).join("gradient_mnist");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rows(a: &ndarray::ArrayD<f64>) -> Array2<f64> {
    let n = a.shape()[0];
    a.clone().into_shape_with_order((n, a.len() / n)).unwrap()
}

fn run(train_images: usize, epochs: usize) {
    let (xtr, ytr) = mnist(
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        train_images,
    );
    let (xte, yte) = mnist(
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        1000,
    );
    let net = cnn(1);
    gradient_common::train(&net, &xtr, &ytr, epochs, 32, 2e-3, 0);
    let acc = gradient_common::accuracy(&net, &xte, &yte);
    eprintln!("CNN test accuracy on 1000 digits: {acc:.3}");
    assert!(acc > 0.85, "CNN accuracy {acc}");

    // ten test digits, one of each class where possible
    let mut picks = Vec::new();
    for c in 0..10 {
        if let Some(i) = yte.iter().position(|&y| y == c) {
            picks.push(i);
        }
    }
    let x = xte.try_index_select(0, &picks).unwrap();
    let t = gradient_common::predicted(&net, &x);
    let m = GradModel::new(&net);
    let cam = grad_cam(&m, &x, &t, "3", true).unwrap();
    let cam_up = interpolate(&cam, 28, 28, Interpolation::Bilinear).unwrap();
    let cfg = IgConfig {
        steps: 32,
        ..IgConfig::default()
    };
    let ig = integrated_gradients(&m, &x, &t, &cfg).unwrap();
    let worst = ig
        .convergence_delta
        .iter()
        .fold(0f64, |a, d| a.max(d.abs()));
    eprintln!("IG max |delta| on ten digits: {worst:.2e}");
    let dir = out_dir();
    let img = glassbox_explain::gradient::to_array(&x);
    for k in 0..picks.len() {
        let image = img
            .index_axis(Axis(0), k)
            .index_axis(Axis(0), 0)
            .to_owned()
            .into_dimensionality()
            .unwrap();
        let c2 = cam_up
            .index_axis(Axis(0), k)
            .index_axis(Axis(0), 0)
            .to_owned();
        let i2 = ig
            .attributions
            .index_axis(Axis(0), k)
            .index_axis(Axis(0), 0)
            .to_owned()
            .into_dimensionality()
            .unwrap();
        let hc = HeatmapConfig {
            scale: 8,
            ..HeatmapConfig::default()
        };
        let p1 = dir.join(format!("gradcam_{k}_label{}.png", yte[picks[k]]));
        let p2 = dir.join(format!("ig_{k}_label{}.png", yte[picks[k]]));
        write_heatmap_png(&p1, image.view(), c2.view(), &hc).unwrap();
        write_heatmap_png(&p2, image.view(), i2.view(), &hc).unwrap();
        assert!(
            std::fs::metadata(&p1).unwrap().len() > 100
                && std::fs::metadata(&p2).unwrap().len() > 100
        );
    }
    eprintln!("heatmaps written to {}", dir.display());

    // Randomisation sanity check: same architecture, re-initialised weights.
    let random = cnn(99);
    let rm = GradModel::new(&random);
    let ig_rand = integrated_gradients(&rm, &x, &t, &cfg).unwrap();
    // Signed maps (Adebayo et al. report rank correlation with and without absolute
    // values): |IG| = |x ⊙ ∫grad| inherits the digit's shape from x for any weights, which
    // is the input-dominance they warn about, so the signed ranks are the telling test.
    let (tr, ra) = (rows(&ig.attributions), rows(&ig_rand.attributions));
    let abs = randomisation_check(tr.view(), ra.view(), true).unwrap();
    let rho = randomisation_check(tr.view(), ra.view(), false).unwrap();
    let mean = rho.mean().unwrap();
    eprintln!("Spearman(trained, randomised IG): |IG| mean {:.3}; signed per digit {rho:.3}, mean {mean:.3}", abs.mean().unwrap());
    assert!(
        mean < 0.5,
        "randomisation check failed: mean signed Spearman {mean}"
    );

    // Deletion curves: IG order against a random order (probability of the target class).
    let predict = |b: ArrayView2<f64>| -> Array2<f64> {
        let n = b.nrows();
        let t = Tensor::from(
            b.to_owned()
                .into_shape_with_order((n, 1, 28, 28))
                .unwrap()
                .mapv(|v| v as f32)
                .into_dyn(),
        );
        let out = no_grad(|| net.forward(&Var::constant(t))).unwrap().value();
        let mut p: Array2<f64> = glassbox_explain::gradient::to_array(&out)
            .into_dimensionality()
            .unwrap();
        for mut row in p.rows_mut() {
            let mx = row.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
            row.mapv_inplace(|v| (v - mx).exp());
            let s = row.sum();
            row.mapv_inplace(|v| v / s);
        }
        p
    };
    let xr = rows(&img);
    let cc = CurveConfig {
        steps: 28,
        ..CurveConfig::default()
    };
    let (mut ig_auc, mut rand_auc) = (0.0, 0.0);
    let mut rng = ExplainRng::new(3);
    for (k, &tk) in t.iter().enumerate() {
        let xi = xr.slice(ndarray::s![k..k + 1, ..]);
        let ai = rows(&ig.attributions)
            .slice(ndarray::s![k..k + 1, ..])
            .to_owned();
        let ri = Array2::from_shape_fn((1, 784), |_| rng.uniform());
        ig_auc += deletion_curve(&predict, xi, ai.view(), tk, &cc).unwrap()[0].auc;
        rand_auc += deletion_curve(&predict, xi, ri.view(), tk, &cc).unwrap()[0].auc;
    }
    let (ig_auc, rand_auc) = (ig_auc / picks.len() as f64, rand_auc / picks.len() as f64);
    eprintln!("deletion AUC: IG {ig_auc:.3}, random {rand_auc:.3}");
    assert!(
        ig_auc < rand_auc,
        "IG deletion AUC {ig_auc} not below random {rand_auc}"
    );
}

#[test]
fn mnist_cnn_heatmaps_sanity_and_deletion() {
    run(6000, 1);
}

#[test]
#[ignore = "larger run: 30k images, 2 epochs"]
fn mnist_cnn_heatmaps_sanity_and_deletion_full() {
    run(30_000, 2);
}
