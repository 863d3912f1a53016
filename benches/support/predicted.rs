//! Shared by the IG benches: the class each row of a batch is predicted as.

use glassbox_autograd::{no_grad, Var};
use glassbox_nn::Module;
use glassbox_tensor::Tensor;

/// The arg-max output of `net` for every row of `x` (`[rows, features]`), computed without a
/// graph.
pub fn predicted_classes(net: &dyn Module, x: &Tensor) -> Vec<usize> {
    let out = no_grad(|| net.forward(&Var::constant(x.clone())))
        .expect("the bench network accepts its inputs")
        .value();
    let (rows, classes) = (out.shape()[0], out.shape()[1]);
    let values = out.to_vec();
    (0..rows)
        .map(|i| {
            let row = &values[i * classes..(i + 1) * classes];
            (0..classes)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .expect("at least one class")
        })
        .collect()
}
