//! DeepLIFT with the rescale rule (Shrikumar et al., 2017), as Captum's `DeepLift`.

use glassbox_tensor::Tensor;
use ndarray::{ArrayD, IxDyn};

use super::core::{expand_targets, grad_from, Baseline};
use super::error::Result;
use super::integrated::{completeness_delta, AttributionsWithDelta};
use super::model::{GradModel, Rule};

const OP: &str = "deeplift";

/// DeepLIFT attributions `(x − baseline) ⊙ m`, where the multipliers `m` are back-propagated
/// with every elementwise nonlinearity's local slope replaced by `Δout / Δin` against the
/// baseline's activations (the plain derivative where `|Δin| < 1e-10`), and returned with
/// the convergence delta `Σ attributions − (f(x)[t] − f(baseline)[t])`, which is zero up
/// to rounding for the supported layers.
///
/// Supported models: walkable (see [`GradModel`]) chains of affine layers (Linear, Conv,
/// Flatten, average pooling, Dropout/BatchNorm in evaluation mode) and elementwise
/// activations; other layers (max pooling, softmax, layer norm) give
/// [`GradientError::UnsupportedLayer`](super::GradientError::UnsupportedLayer).
pub fn deeplift(
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    baseline: &Baseline,
) -> Result<AttributionsWithDelta> {
    model.check_walkable(OP, true)?;
    let targets = expand_targets(OP, x, targets)?;
    let base = baseline.expand(OP, x)?;
    let refs = model.reference_activations(&base)?;
    let (g, _) = grad_from(OP, model, x, 0, &targets, Rule::Rescale(&refs))?;
    let (gs, xs, bs) = (
        g.contiguous().to_vec(),
        x.contiguous().to_vec(),
        base.contiguous().to_vec(),
    );
    let attr: Vec<f64> = (0..gs.len())
        .map(|k| gs[k] as f64 * (xs[k] as f64 - bs[k] as f64))
        .collect();
    let attributions = ArrayD::from_shape_vec(IxDyn(x.shape()), attr).expect("shape");
    let convergence_delta =
        completeness_delta(model, x, &base, &targets, &attributions, usize::MAX)?;
    Ok(AttributionsWithDelta {
        attributions,
        convergence_delta,
    })
}
