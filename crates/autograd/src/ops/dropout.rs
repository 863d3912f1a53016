//! Dropout with a seeded mask.

use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use crate::error::{AutogradError, Result};
use crate::op::BackwardOp;
use crate::var::Var;

struct DropoutBackward {
    /// `0` or `1 / (1 − p)` per element.
    mask: Tensor,
}
impl BackwardOp for DropoutBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.try_mul(&self.mask)?)])
    }
    fn name(&self) -> &'static str {
        "dropout"
    }
}

/// Inverted dropout: during training each element is zeroed with probability `p` and the
/// survivors are scaled by `1 / (1 − p)`; the mask is drawn from `rng`, so the same seed
/// gives the same mask on every machine. With `training == false` or `p == 0` it is the
/// identity (the same `Var` is returned and `rng` is not advanced); `p == 1` gives zeros.
///
/// ```
/// use glassbox_autograd::{ops::dropout::dropout, Var};
/// use glassbox_tensor::{rng::Rng, Tensor};
/// let x = Var::parameter(Tensor::ones(&[1000]));
/// let y = dropout(&x, 0.5, true, &mut Rng::new(1)).unwrap();
/// let kept = y.value().to_vec().iter().filter(|&&v| v == 2.0).count();
/// assert!((400..600).contains(&kept));
/// ```
pub fn dropout(x: &Var, p: f32, training: bool, rng: &mut Rng) -> Result<Var> {
    if !(0.0..=1.0).contains(&p) {
        return Err(AutogradError::invalid(
            "dropout",
            format!("probability {p} is outside [0, 1]"),
        ));
    }
    if !training || p == 0.0 {
        return Ok(x.clone());
    }
    let xv = x.value();
    let mask = if p == 1.0 {
        Tensor::zeros(xv.shape())
    } else {
        let scale = 1.0 / (1.0 - p);
        Tensor::rand_bernoulli(xv.shape(), 1.0 - p, rng)?.mul_scalar(scale)
    };
    let y = xv.try_mul(&mask)?;
    Ok(Var::record(y, &[x], || DropoutBackward { mask }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_uses_the_same_mask() {
        let x = Var::parameter(Tensor::full(&[64], 3.0));
        let y = dropout(&x, 0.25, true, &mut Rng::new(7)).unwrap();
        y.sum_all().backward().unwrap();
        let (yv, g) = (y.value().to_vec(), x.grad().unwrap().to_vec());
        for (a, b) in yv.iter().zip(&g) {
            // y = 3 · m and dy/dx = m with m ∈ {0, 4/3}
            assert!((a - 3.0 * b).abs() < 1e-6);
            assert!(*b == 0.0 || (b - 4.0 / 3.0).abs() < 1e-6);
        }
        // same seed, same mask
        let y2 = dropout(&x, 0.25, true, &mut Rng::new(7)).unwrap();
        assert_eq!(y2.value().to_vec(), yv);
    }

    #[test]
    fn eval_and_edge_probabilities() {
        let x = Var::parameter(Tensor::ones(&[4]));
        let mut rng = Rng::new(0);
        assert!(dropout(&x, 0.5, false, &mut rng).unwrap().ptr_eq(&x));
        assert_eq!(
            dropout(&x, 1.0, true, &mut rng).unwrap().value().to_vec(),
            vec![0.0; 4]
        );
        assert!(dropout(&x, 1.5, true, &mut rng).is_err());
    }
}
