//! Infidelity (Yeh et al., 2019), as Captum's `infidelity`.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::error::{ExplainError, Result};
use crate::predictor::{
    check_matrix, check_target, predict_checked, predict_chunked, Predictor, DEFAULT_MAX_BATCH_ROWS,
};
use crate::rng::Rng;

const OP: &str = "infidelity";

/// Settings of [`infidelity`].
#[derive(Debug, Clone, PartialEq)]
pub struct InfidelityConfig {
    /// Perturbations per input (Captum default 10).
    pub n_perturb_samples: usize,
    /// Rescale attributions by the least-squares optimal `β` first (Captum `normalize`).
    pub normalize: bool,
    /// Seed passed to the perturbation function's generator.
    pub seed: u64,
    /// Cap on rows per predictor call.
    pub max_batch_rows: usize,
}

impl Default for InfidelityConfig {
    fn default() -> Self {
        InfidelityConfig {
            n_perturb_samples: 10,
            normalize: false,
            seed: 0,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
        }
    }
}

/// A perturbation for [`infidelity`]: `I ~ N(0, std²)` per feature, perturbed input
/// `x − I` (Captum's documented example).
pub fn gaussian_perturbation(
    std: f64,
) -> impl Fn(ArrayView1<f64>, &mut Rng) -> (Array1<f64>, Array1<f64>) + Sync {
    move |x: ArrayView1<f64>, rng: &mut Rng| {
        let noise: Array1<f64> = (0..x.len()).map(|_| std * rng.normal()).collect();
        let perturbed = &x - &noise;
        (noise, perturbed)
    }
}

/// Infidelity of attributions `φ` of rows `x` for output `target`:
///
/// `INFD = E_I[(Iᵀφ − (f(x) − f(x̃)))²]`, where `perturb(x, rng)` returns the
/// perturbation `I` and the perturbed input `x̃` (usually `x − I`). With `normalize`,
/// `φ` is first scaled by `β = E[Iᵀφ·Δf] / E[(Iᵀφ)²]`. One value per input; lower is
/// better.
pub fn infidelity<P, Q>(
    predictor: &P,
    x: ArrayView2<f64>,
    attributions: ArrayView2<f64>,
    target: usize,
    perturb: Q,
    config: &InfidelityConfig,
) -> Result<Array1<f64>>
where
    P: Predictor + ?Sized,
    Q: Fn(ArrayView1<f64>, &mut Rng) -> (Array1<f64>, Array1<f64>),
{
    check_matrix(OP, "inputs", x)?;
    check_matrix(OP, "attributions", attributions)?;
    if x.dim() != attributions.dim() {
        return Err(ExplainError::ShapeMismatch {
            op: OP,
            what: "attributions",
            expected: x.shape().to_vec(),
            found: attributions.shape().to_vec(),
        });
    }
    let s = config.n_perturb_samples;
    if s == 0 {
        return Err(ExplainError::invalid(
            OP,
            "n_perturb_samples",
            "must be positive",
        ));
    }
    let (n, m) = x.dim();
    let fx = predict_checked(OP, predictor, x, None)?;
    check_target(OP, target, fx.ncols())?;
    let mut rng = Rng::new(config.seed);
    let mut dots = Array2::zeros((n, s));
    let mut batch = Array2::zeros((n * s, m));
    for i in 0..n {
        for t in 0..s {
            let (pert, xp) = perturb(x.row(i), &mut rng);
            if pert.len() != m || xp.len() != m {
                return Err(ExplainError::ShapeMismatch {
                    op: OP,
                    what: "perturbation function output",
                    expected: vec![m],
                    found: vec![pert.len(), xp.len()],
                });
            }
            dots[[i, t]] = pert.dot(&attributions.row(i));
            batch.row_mut(i * s + t).assign(&xp);
        }
    }
    let y = predict_chunked(
        OP,
        predictor,
        batch.view(),
        Some(fx.ncols()),
        config.max_batch_rows,
    )?;
    let mut out = Array1::zeros(n);
    for i in 0..n {
        let diffs: Vec<f64> = (0..s)
            .map(|t| fx[[i, target]] - y[[i * s + t, target]])
            .collect();
        let beta = if config.normalize {
            let num: f64 = (0..s).map(|t| dots[[i, t]] * diffs[t]).sum();
            let den: f64 = (0..s).map(|t| dots[[i, t]] * dots[[i, t]]).sum();
            if den != 0.0 {
                num / den
            } else {
                0.0
            }
        } else {
            1.0
        };
        out[i] = (0..s)
            .map(|t| (beta * dots[[i, t]] - diffs[t]).powi(2))
            .sum::<f64>()
            / s as f64;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Axis};

    #[test]
    fn exact_attributions_of_a_linear_model_have_zero_infidelity() {
        // f = w·x: f(x) − f(x − I) = w·I, so φ = w (gradient) gives INFD = 0, and φ = 2w
        // gives E[(w·I)²] = σ²‖w‖² in expectation (0 again after normalisation).
        let w = array![1.0, -2.0, 0.5];
        let wc = w.clone();
        let f = move |x: ArrayView2<f64>| x.dot(&wc).insert_axis(Axis(1));
        let x = array![[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]];
        let attr = ndarray::stack(Axis(0), &[w.view(), w.view()]).unwrap();
        let cfg = InfidelityConfig::default();
        let inf = infidelity(
            &f,
            x.view(),
            attr.view(),
            0,
            gaussian_perturbation(0.1),
            &cfg,
        )
        .unwrap();
        assert!(inf.iter().all(|v| v.abs() < 1e-20), "{inf:?}");
        let doubled = &attr * 2.0;
        let inf = infidelity(
            &f,
            x.view(),
            doubled.view(),
            0,
            gaussian_perturbation(0.1),
            &cfg,
        )
        .unwrap();
        assert!(inf.iter().all(|&v| v > 0.0));
        let norm = InfidelityConfig {
            normalize: true,
            ..cfg
        };
        let inf = infidelity(
            &f,
            x.view(),
            doubled.view(),
            0,
            gaussian_perturbation(0.1),
            &norm,
        )
        .unwrap();
        assert!(inf.iter().all(|v| v.abs() < 1e-20));
    }
}
