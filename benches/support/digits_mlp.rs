//! Shared by the IG benches: the digits MLP and the class each row is predicted as.

use glassbox_autograd::{no_grad, Var};
use glassbox_nn::{Activation, Linear, Module, Sequential};
use glassbox_tensor::{rng::Rng, Tensor};

/// The 64-128-64-10 ReLU MLP of the shared digits benches, initialised from `seed`.
pub fn digits_mlp(seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    Sequential::new()
        .add(Linear::new(64, 128, true, &mut rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(128, 64, true, &mut rng).unwrap())
        .add(Activation::relu())
        .add(Linear::new(64, 10, true, &mut rng).unwrap())
}

/// The arg-max output of `net` for every row of `x` (`[rows, features]`), computed without a
/// graph.
pub fn predicted_classes(net: &dyn Module, x: &Tensor) -> Vec<usize> {
    let out = no_grad(|| net.forward(&Var::constant(x.clone())))
        .expect("the bench network accepts its inputs")
        .value();
    let classes = out.shape()[1];
    out.to_vec()
        .chunks(classes)
        .map(glassbox_tensor::ops::reduce::argmax)
        .collect()
}
