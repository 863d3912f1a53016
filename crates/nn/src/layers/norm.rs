//! Batch normalisation (1-D and 2-D) and layer normalisation.

use glassbox_autograd::{no_grad, Var};
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::layers::replica::{all_reduce_sum, current_replicas};
use crate::module::Module;

/// Batch normalisation over the channel dimension 1, as PyTorch's `BatchNorm1d`
/// (input `[N, C]` or `[N, C, L]`) and `BatchNorm2d` (input `[N, C, H, W]`).
///
/// Training mode normalises with the batch mean and biased variance and updates
/// `running_mean` / `running_var` (unbiased) with `momentum` (PyTorch convention:
/// `running = (1 − momentum) running + momentum batch`). Eval mode uses the running
/// statistics. `weight` starts at 1, `bias` at 0, running mean 0, running variance 1.
///
/// Under data-parallel training ([`sync_batch_statistics`](crate::sync_batch_statistics)
/// installed on the thread) the batch statistics are those of the global batch, all-reduced
/// over the replicas, so every replica normalises and updates its running statistics
/// exactly as one process training on the whole batch would.
#[derive(Debug)]
pub struct BatchNorm {
    /// Per-channel scale `[C]`.
    pub weight: Var,
    /// Per-channel shift `[C]`.
    pub bias: Var,
    /// Buffer `[C]`.
    pub running_mean: Var,
    /// Buffer `[C]`.
    pub running_var: Var,
    eps: f32,
    momentum: f32,
    spatial_dims: &'static [usize],
    name: &'static str,
    training: bool,
}

impl BatchNorm {
    fn build(c: usize, name: &'static str, spatial: &'static [usize]) -> Result<Self> {
        if c == 0 {
            return Err(NnError::InvalidConfig {
                layer: name,
                field: "num_features",
                reason: "must be > 0".into(),
            });
        }
        Ok(BatchNorm {
            weight: Var::parameter(Tensor::ones(&[c])),
            bias: Var::parameter(Tensor::zeros(&[c])),
            running_mean: Var::constant(Tensor::zeros(&[c])),
            running_var: Var::constant(Tensor::ones(&[c])),
            eps: 1e-5,
            momentum: 0.1,
            spatial_dims: spatial,
            name,
            training: true,
        })
    }

    /// `BatchNorm1d(num_features)` (eps 1e-5, momentum 0.1): input `[N, C]` or `[N, C, L]`.
    pub fn new_1d(num_features: usize) -> Result<Self> {
        Self::build(num_features, "BatchNorm1d", &[2, 3])
    }

    /// `BatchNorm2d(num_features)` (eps 1e-5, momentum 0.1): input `[N, C, H, W]`.
    pub fn new_2d(num_features: usize) -> Result<Self> {
        Self::build(num_features, "BatchNorm2d", &[4])
    }

    /// Sets epsilon.
    pub fn with_eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the running-statistics momentum.
    pub fn with_momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    fn channels(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl Module for BatchNorm {
    fn layer_kind(&self) -> crate::module::LayerKind {
        crate::module::LayerKind::Affine
    }

    fn forward(&self, x: &Var) -> Result<Var> {
        let shape = x.shape();
        let c = self.channels();
        if !self.spatial_dims.contains(&shape.len()) || shape[1] != c {
            return Err(NnError::InputShape {
                layer: self.name,
                expected: if self.name == "BatchNorm2d" {
                    format!("[N, {c}, H, W]")
                } else {
                    format!("[N, {c}] or [N, {c}, L]")
                },
                found: shape,
            });
        }
        let axes: Vec<usize> = (0..shape.len()).filter(|&a| a != 1).collect();
        let mut bshape = vec![1usize; shape.len()];
        bshape[1] = c;
        let w = self.weight.reshape(&bshape)?;
        let b = self.bias.reshape(&bshape)?;
        if self.training {
            let mut n: usize = axes.iter().map(|&a| shape[a]).product();
            let replicas = current_replicas();
            if let Some(r) = &replicas {
                // Values per channel in the global batch (exact in f32 below 2^24).
                let mut count = [n as f32];
                r.sum_f32(&mut count);
                n = count[0] as usize;
            }
            if n < 2 {
                return Err(NnError::InputShape {
                    layer: self.name,
                    expected: "more than one value per channel in training mode".into(),
                    found: shape,
                });
            }
            let (mean, centered, var) = match &replicas {
                None => {
                    let mean = x.mean_axes(&axes, true)?;
                    let centered = x.sub(&mean)?;
                    let var = centered.square().mean_axes(&axes, true)?;
                    (mean, centered, var)
                }
                Some(r) => {
                    // Global-batch statistics: sums all-reduced over the replicas (their
                    // gradients too), two passes as above.
                    let inv_n = 1.0 / n as f32;
                    let mean = all_reduce_sum(&x.sum_axes(&axes, true)?, r)?.mul_scalar(inv_n);
                    let centered = x.sub(&mean)?;
                    let sq = centered.square().sum_axes(&axes, true)?;
                    let var = all_reduce_sum(&sq, r)?.mul_scalar(inv_n);
                    (mean, centered, var)
                }
            };
            let inv_std = var.add_scalar(self.eps).sqrt().recip();
            let y = centered.mul(&inv_std)?.mul(&w)?.add(&b)?;
            no_grad(|| -> Result<()> {
                let m = self.momentum;
                let bm = mean.value().try_reshape(&[c])?;
                let unbiased = n as f32 / (n as f32 - 1.0);
                let bv = var.value().try_reshape(&[c])?.mul_scalar(unbiased);
                let rm = self
                    .running_mean
                    .value()
                    .mul_scalar(1.0 - m)
                    .try_add(&bm.mul_scalar(m))?;
                let rv = self
                    .running_var
                    .value()
                    .mul_scalar(1.0 - m)
                    .try_add(&bv.mul_scalar(m))?;
                self.running_mean.set_value(rm);
                self.running_var.set_value(rv);
                Ok(())
            })?;
            Ok(y)
        } else {
            let rm = Var::constant(self.running_mean.value().try_reshape(&bshape)?);
            let inv = self
                .running_var
                .value()
                .try_reshape(&bshape)?
                .add_scalar(self.eps)
                .rsqrt();
            Ok(x.sub(&rm)?.mul(&Var::constant(inv))?.mul(&w)?.add(&b)?)
        }
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        vec![
            ("weight".into(), self.weight.clone()),
            ("bias".into(), self.bias.clone()),
        ]
    }

    fn named_buffers(&self) -> Vec<(String, Var)> {
        vec![
            ("running_mean".into(), self.running_mean.clone()),
            ("running_var".into(), self.running_var.clone()),
        ]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        self.name
    }
}

/// Layer normalisation over the trailing `normalized_shape` dimensions, as PyTorch's
/// `LayerNorm` (biased variance, eps 1e-5, elementwise affine with weight 1 and bias 0;
/// [`LayerNorm::without_bias`] is PyTorch's `bias=False`). The forward is one fused pass per
/// row ([`Tensor::try_layer_norm`]) and, when a graph is recorded, one fused backward
/// ([`Var::layer_norm`]).
#[derive(Debug)]
pub struct LayerNorm {
    /// Scale, shaped `normalized_shape`.
    pub weight: Var,
    /// Shift, shaped `normalized_shape` (`None` for `bias=False`).
    pub bias: Option<Var>,
    normalized_shape: Vec<usize>,
    eps: f32,
    training: bool,
}

impl LayerNorm {
    /// `LayerNorm(normalized_shape)`.
    pub fn new(normalized_shape: &[usize]) -> Result<Self> {
        if normalized_shape.is_empty() || normalized_shape.contains(&0) {
            return Err(NnError::InvalidConfig {
                layer: "LayerNorm",
                field: "normalized_shape",
                reason: format!("{normalized_shape:?} must be non-empty with positive sizes"),
            });
        }
        Ok(LayerNorm {
            weight: Var::parameter(Tensor::ones(normalized_shape)),
            bias: Some(Var::parameter(Tensor::zeros(normalized_shape))),
            normalized_shape: normalized_shape.to_vec(),
            eps: 1e-5,
            training: true,
        })
    }

    /// A layer with the given `weight` and optional `bias` (same shape as `weight`, which is
    /// the normalised shape).
    pub fn from_tensors(weight: Tensor, bias: Option<Tensor>, eps: f32) -> Result<Self> {
        if let Some(b) = &bias {
            if b.shape() != weight.shape() {
                return Err(NnError::InvalidConfig {
                    layer: "LayerNorm",
                    field: "bias",
                    reason: format!(
                        "shape {:?} differs from the weight's {:?}",
                        b.shape(),
                        weight.shape()
                    ),
                });
            }
        }
        let mut ln = LayerNorm::new(weight.shape())?.with_eps(eps);
        ln.weight = Var::parameter(weight);
        ln.bias = bias.map(Var::parameter);
        Ok(ln)
    }

    /// Drops the bias (PyTorch's `bias=False`).
    pub fn without_bias(mut self) -> Self {
        self.bias = None;
        self
    }

    /// Sets epsilon.
    pub fn with_eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// Epsilon added to the variance.
    pub fn eps(&self) -> f32 {
        self.eps
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Var) -> Result<Var> {
        let shape = x.shape();
        let k = self.normalized_shape.len();
        if shape.len() < k || shape[shape.len() - k..] != self.normalized_shape[..] {
            return Err(NnError::InputShape {
                layer: "LayerNorm",
                expected: format!("[.., {:?}]", self.normalized_shape),
                found: shape,
            });
        }
        let n = self.normalized_shape.iter().product();
        Ok(x.layer_norm(n, Some(&self.weight), self.bias.as_ref(), self.eps)?)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = vec![("weight".into(), self.weight.clone())];
        if let Some(b) = &self.bias {
            p.push(("bias".into(), b.clone()));
        }
        p
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "LayerNorm"
    }
}
