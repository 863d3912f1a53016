//! SmoothGrad / NoiseTunnel (Smilkov et al., 2017; Adebayo et al., 2018): average any
//! attribution method over Gaussian-noised copies of the input, as Captum's `NoiseTunnel`.

use glassbox_tensor::Tensor;
use ndarray::{ArrayD, IxDyn};

use super::core::{batch_size, expand_targets};
use super::error::{GradientError, Result};
use crate::rng::Rng;

const OP: &str = "noise_tunnel";

/// How the attributions of the noisy copies are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoiseTunnelKind {
    /// Mean.
    #[default]
    SmoothGrad,
    /// Mean of squares.
    SmoothGradSq,
    /// Variance (mean of squares − square of mean).
    VarGrad,
}

/// Settings of [`noise_tunnel`] (Captum's defaults: 5 samples, σ = 1).
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseTunnelConfig {
    /// Combination rule.
    pub kind: NoiseTunnelKind,
    /// Noisy copies per input.
    pub samples: usize,
    /// Standard deviation of the Gaussian noise.
    pub stdev: f64,
    /// Seed of the noise.
    pub seed: u64,
    /// Most rows (inputs × samples) handed to `method` in one call.
    pub max_rows: usize,
}

impl Default for NoiseTunnelConfig {
    fn default() -> Self {
        NoiseTunnelConfig {
            kind: NoiseTunnelKind::SmoothGrad,
            samples: 5,
            stdev: 1.0,
            seed: 0,
            max_rows: 4096,
        }
    }
}

/// Runs `method(noisy_batch, targets)` on `config.samples` noisy copies of every row of
/// `x` (rows of one input are consecutive; whole inputs per call, at most
/// `config.max_rows` rows unless one input alone needs more) and combines them.
/// `method` returns attributions shaped like its batch.
pub fn noise_tunnel<F>(
    x: &Tensor,
    targets: &[usize],
    config: &NoiseTunnelConfig,
    mut method: F,
) -> Result<ArrayD<f64>>
where
    F: FnMut(&Tensor, &[usize]) -> Result<ArrayD<f64>>,
{
    let targets = expand_targets(OP, x, targets)?;
    let n = batch_size(OP, x)?;
    if config.samples == 0 || !(config.stdev >= 0.0 && config.stdev.is_finite()) {
        return Err(GradientError::InvalidArgument {
            op: OP,
            field: "samples / stdev",
            reason: format!(
                "need samples > 0 and a finite stdev >= 0, got {} and {}",
                config.samples, config.stdev
            ),
        });
    }
    let d = x.len() / n;
    let s = config.samples;
    let xs = x.contiguous().to_vec();
    let mut rng = Rng::new(config.seed);
    let per_call = (config.max_rows / s).max(1);
    let (mut sum, mut sq) = (vec![0f64; n * d], vec![0f64; n * d]);
    let mut shape = x.shape().to_vec();
    let mut i0 = 0;
    while i0 < n {
        let m = per_call.min(n - i0);
        let mut buf = Vec::with_capacity(m * s * d);
        let mut tg = Vec::with_capacity(m * s);
        for i in i0..i0 + m {
            for _ in 0..s {
                buf.extend(
                    xs[i * d..(i + 1) * d]
                        .iter()
                        .map(|&v| v + (config.stdev * rng.normal()) as f32),
                );
                tg.push(targets[i]);
            }
        }
        shape[0] = m * s;
        let a = method(&Tensor::from_vec(buf, &shape)?, &tg)?;
        if a.len() != m * s * d {
            return Err(GradientError::Shape {
                op: OP,
                what: "attributions of the wrapped method",
                expected: format!("{shape:?}"),
                found: a.shape().to_vec(),
            });
        }
        let flat = a.as_standard_layout();
        let flat = flat.as_slice().expect("standard layout");
        for (k, chunk) in flat.chunks(d).enumerate() {
            let i = i0 + k / s;
            for (j, &v) in chunk.iter().enumerate() {
                sum[i * d + j] += v;
                sq[i * d + j] += v * v;
            }
        }
        i0 += m;
    }
    let sf = s as f64;
    let out: Vec<f64> = (0..n * d)
        .map(|k| match config.kind {
            NoiseTunnelKind::SmoothGrad => sum[k] / sf,
            NoiseTunnelKind::SmoothGradSq => sq[k] / sf,
            NoiseTunnelKind::VarGrad => sq[k] / sf - (sum[k] / sf).powi(2),
        })
        .collect();
    Ok(ArrayD::from_shape_vec(IxDyn(x.shape()), out).expect("shape"))
}
