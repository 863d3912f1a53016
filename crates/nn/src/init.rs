//! PyTorch's default initialisation for each layer, drawn from a seeded
//! [`Rng`](glassbox_tensor::rng::Rng) so the same seed gives the same model everywhere.
//!
//! | layer | weight | bias |
//! | --- | --- | --- |
//! | Linear, Conv | `kaiming_uniform(a = √5)` = U(−1/√fan_in, 1/√fan_in) | U(−1/√fan_in, 1/√fan_in) |
//! | RNN, LSTM, GRU | U(−1/√hidden, 1/√hidden) | same |
//! | Embedding | N(0, 1) | — |
//! | BatchNorm, LayerNorm | 1 | 0 |

use glassbox_tensor::rng::{fan_in_out, Rng};
use glassbox_tensor::Tensor;

/// `kaiming_uniform_(w, a=sqrt(5))`: U(−b, b) with `b = 1/sqrt(fan_in)`, fan-in taken from
/// the shape as PyTorch does (`shape[1] * prod(shape[2..])`).
pub fn default_weight(shape: &[usize], rng: &mut Rng) -> Tensor {
    Tensor::kaiming_uniform(shape, 5f32.sqrt(), rng)
}

/// The default bias: U(−1/√fan_in, 1/√fan_in) where `fan_in` comes from `weight_shape`.
pub fn default_bias(len: usize, weight_shape: &[usize], rng: &mut Rng) -> Tensor {
    let (fan_in, _) = fan_in_out(weight_shape);
    let bound = if fan_in > 0 {
        1.0 / (fan_in as f32).sqrt()
    } else {
        0.0
    };
    Tensor::rand_uniform(&[len], -bound, bound, rng)
}

/// U(−b, b) of the given shape.
pub fn uniform(shape: &[usize], bound: f32, rng: &mut Rng) -> Tensor {
    Tensor::rand_uniform(shape, -bound, bound, rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_default_bounds_follow_fan_in() {
        let mut rng = Rng::new(3);
        let w = default_weight(&[50, 16], &mut rng);
        let b = default_bias(50, &[50, 16], &mut rng);
        let bound = 0.25 + 1e-6; // 1/sqrt(16)
        assert!(w.to_vec().iter().all(|x| x.abs() <= bound));
        assert!(b.to_vec().iter().all(|x| x.abs() <= bound));
        // Uniform on [-0.25, 0.25] has std 0.25/sqrt(3) ~ 0.144: the draw is not degenerate.
        let v = w.to_vec();
        let var = v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32;
        assert!((var.sqrt() - 0.1443).abs() < 0.02, "std {}", var.sqrt());
    }
}
