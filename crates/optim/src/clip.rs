//! Gradient clipping on raw gradient buffers (the `Var`-level wrappers are
//! [`crate::clip_grad_norm`] and [`crate::clip_grad_value`]): by global norm, as
//! `torch.nn.utils.clip_grad_norm_`, and by value, as `clip_grad_value_`.

use crate::error::{OptimError, Result};

/// Which norm [`clip_grad_norm_slices`] measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormType {
    /// `(Σ |g|^p)^(1/p)` over all gradients together, for `p >= 1`.
    P(f64),
    /// `max |g|` over all gradients.
    Inf,
}

/// The total norm of all `grads` taken as one vector (accumulated in f64).
pub fn total_norm(grads: &[&[f32]], norm: NormType) -> f64 {
    match norm {
        NormType::Inf => grads
            .iter()
            .flat_map(|g| g.iter())
            .fold(0.0f64, |m, &x| m.max((x as f64).abs())),
        NormType::P(2.0) => grads
            .iter()
            .flat_map(|g| g.iter())
            .map(|&x| (x as f64) * (x as f64))
            .sum::<f64>()
            .sqrt(),
        NormType::P(p) => grads
            .iter()
            .flat_map(|g| g.iter())
            .map(|&x| (x as f64).abs().powf(p))
            .sum::<f64>()
            .powf(1.0 / p),
    }
}

/// Scales every gradient by `min(1, max_norm / (total_norm + 1e-6))` and returns the total
/// norm measured before clipping, exactly as PyTorch's `clip_grad_norm_`.
pub fn clip_grad_norm_slices(
    grads: &mut [&mut [f32]],
    max_norm: f64,
    norm: NormType,
) -> Result<f64> {
    if !(max_norm.is_finite() && max_norm >= 0.0) {
        return Err(OptimError::InvalidHyperparameter {
            optimizer: "clip_grad_norm",
            name: "max_norm",
            value: max_norm,
            reason: "must be finite and >= 0",
        });
    }
    if let NormType::P(p) = norm {
        if !(p >= 1.0 && p.is_finite()) {
            return Err(OptimError::InvalidHyperparameter {
                optimizer: "clip_grad_norm",
                name: "norm_type",
                value: p,
                reason: "must be >= 1 (or NormType::Inf)",
            });
        }
    }
    let views: Vec<&[f32]> = grads.iter().map(|g| &**g).collect();
    let total = total_norm(&views, norm);
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        let c = coef as f32;
        for g in grads.iter_mut() {
            g.iter_mut().for_each(|x| *x *= c);
        }
    }
    Ok(total)
}

/// Clamps every gradient element into `[-clip, clip]`.
pub fn clip_grad_value_slices(grads: &mut [&mut [f32]], clip: f64) -> Result<()> {
    if !(clip.is_finite() && clip >= 0.0) {
        return Err(OptimError::InvalidHyperparameter {
            optimizer: "clip_grad_value",
            name: "clip_value",
            value: clip,
            reason: "must be finite and >= 0",
        });
    }
    let c = clip as f32;
    for g in grads.iter_mut() {
        g.iter_mut().for_each(|x| *x = x.clamp(-c, c));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_clipping_rescales_to_max_norm() {
        // ||(3, 4)|| = 5; clipping to 1 gives (0.6, 0.8) up to the 1e-6 guard.
        let mut a = [3.0f32];
        let mut b = [4.0f32];
        let total = clip_grad_norm_slices(&mut [&mut a, &mut b], 1.0, NormType::P(2.0)).unwrap();
        assert!((total - 5.0).abs() < 1e-12);
        assert!((a[0] - 0.6).abs() < 1e-6 && (b[0] - 0.8).abs() < 1e-6);
    }

    #[test]
    fn small_gradients_are_untouched() {
        let mut a = [0.1f32, -0.2];
        clip_grad_norm_slices(&mut [&mut a], 10.0, NormType::Inf).unwrap();
        assert_eq!(a, [0.1, -0.2]);
    }

    #[test]
    fn value_clipping_clamps() {
        let mut a = [3.0f32, -0.5, -7.0];
        clip_grad_value_slices(&mut [&mut a], 1.0).unwrap();
        assert_eq!(a, [1.0, -0.5, -1.0]);
        assert!(clip_grad_value_slices(&mut [&mut a], -1.0).is_err());
    }
}
