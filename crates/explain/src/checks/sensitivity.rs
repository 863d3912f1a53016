//! Max-sensitivity (Yeh et al., 2019), as Captum's `sensitivity_max`.

use ndarray::{Array1, Array2, ArrayView2};

use crate::error::{ExplainError, Result};
use crate::predictor::check_matrix;
use crate::rng::Rng;

const OP: &str = "max_sensitivity";

/// Settings of [`max_sensitivity`].
#[derive(Debug, Clone, PartialEq)]
pub struct SensitivityConfig {
    /// Half-width of the L∞ ball the uniform perturbations are drawn from (Captum 0.02).
    pub radius: f64,
    /// Perturbations per input (Captum default 10).
    pub n_perturb_samples: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for SensitivityConfig {
    fn default() -> Self {
        SensitivityConfig {
            radius: 0.02,
            n_perturb_samples: 10,
            seed: 0,
        }
    }
}

/// Max-sensitivity of an explanation function:
/// `max_k ‖φ(x + δ_k) − φ(x)‖₂ / ‖φ(x)‖₂` with `δ_k ~ U[−r, r]^d` (Captum's default
/// perturbation and Frobenius norm; a zero `‖φ(x)‖` is replaced by 1). `explain` maps a
/// batch of rows to attributions of the same shape; it is called once on `x` and once on
/// all perturbed copies together. One value per input; lower is better.
pub fn max_sensitivity<F>(
    explain: F,
    x: ArrayView2<f64>,
    config: &SensitivityConfig,
) -> Result<Array1<f64>>
where
    F: Fn(ArrayView2<f64>) -> Result<Array2<f64>>,
{
    check_matrix(OP, "inputs", x)?;
    if config.n_perturb_samples == 0 || !(config.radius.is_finite() && config.radius >= 0.0) {
        return Err(ExplainError::invalid(
            OP,
            "n_perturb_samples / radius",
            "need n_perturb_samples >= 1 and a finite radius >= 0",
        ));
    }
    let (n, m) = x.dim();
    let s = config.n_perturb_samples;
    let base = explain(x)?;
    let check = |a: &Array2<f64>, rows: usize| -> Result<()> {
        if a.dim() != (rows, m) {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what: "explanation output",
                expected: vec![rows, m],
                found: a.shape().to_vec(),
            });
        }
        Ok(())
    };
    check(&base, n)?;
    let mut rng = Rng::new(config.seed);
    let mut batch = Array2::zeros((n * s, m));
    for i in 0..n {
        for t in 0..s {
            for j in 0..m {
                batch[[i * s + t, j]] =
                    x[[i, j]] + rng.uniform_range(-config.radius, config.radius);
            }
        }
    }
    let pert = explain(batch.view())?;
    check(&pert, n * s)?;
    let mut out = Array1::zeros(n);
    for i in 0..n {
        let norm = base.row(i).dot(&base.row(i)).sqrt();
        let norm = if norm == 0.0 { 1.0 } else { norm };
        out[i] = (0..s)
            .map(|t| {
                let d = &pert.row(i * s + t) - &base.row(i);
                d.dot(&d).sqrt() / norm
            })
            .fold(0.0, f64::max);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn constant_explanations_have_zero_and_identity_has_bounded_sensitivity() {
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        let constant = |b: ArrayView2<f64>| Ok(Array2::from_elem(b.dim(), 0.5));
        let s = max_sensitivity(constant, x.view(), &SensitivityConfig::default()).unwrap();
        assert!(s.iter().all(|&v| v == 0.0));
        // φ(x) = x: ‖δ‖ ≤ r·√d, so the ratio is at most r·√2/‖x‖ and positive.
        let identity = |b: ArrayView2<f64>| Ok(b.to_owned());
        let s = max_sensitivity(identity, x.view(), &SensitivityConfig::default()).unwrap();
        for (i, v) in s.iter().enumerate() {
            let bound = 0.02 * 2f64.sqrt() / x.row(i).dot(&x.row(i)).sqrt();
            assert!(*v > 0.0 && *v <= bound + 1e-15, "{v} vs {bound}");
        }
    }
}
