//! 1-D and 2-D convolution layers (cross-correlation, as PyTorch).

use glassbox_autograd::ops::conv::{conv1d, conv2d};
use glassbox_autograd::Var;
use glassbox_tensor::conv::{Conv1dParams, Conv2dParams};
use glassbox_tensor::rng::Rng;

use crate::error::{NnError, Result};
use crate::init;
use crate::module::Module;

/// Hyperparameters of a [`Conv2d`] (PyTorch defaults: stride 1, no padding, dilation 1,
/// one group, with bias).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel `(height, width)`.
    pub kernel: (usize, usize),
    /// Stride `(height, width)`.
    pub stride: (usize, usize),
    /// Zero padding `(height, width)`.
    pub padding: (usize, usize),
    /// Dilation `(height, width)`.
    pub dilation: (usize, usize),
    /// Channel groups.
    pub groups: usize,
    /// Whether the layer has a bias.
    pub bias: bool,
}

impl Conv2dConfig {
    /// `in → out` channels with a square `k × k` kernel and PyTorch's defaults otherwise.
    pub fn new(in_channels: usize, out_channels: usize, k: usize) -> Self {
        Conv2dConfig {
            in_channels,
            out_channels,
            kernel: (k, k),
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
            bias: true,
        }
    }

    /// Sets a square stride.
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = (s, s);
        self
    }

    /// Sets a square padding.
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = (p, p);
        self
    }

    /// Sets a square dilation.
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = (d, d);
        self
    }

    /// Sets the number of groups.
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }

    /// Enables or disables the bias.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
}

fn check_channels(
    layer: &'static str,
    cin: usize,
    cout: usize,
    groups: usize,
    k: &[usize],
) -> Result<()> {
    if cin == 0
        || cout == 0
        || groups == 0
        || k.contains(&0)
        || cin % groups != 0
        || cout % groups != 0
    {
        return Err(NnError::InvalidConfig {
            layer,
            field: "channels",
            reason: format!(
                "in {cin}, out {cout}, kernel {k:?}, groups {groups}: sizes must be positive and channels divisible by groups"
            ),
        });
    }
    Ok(())
}

/// 2-D convolution. Input `[N, C_in, H, W]`, output `[N, C_out, H', W']`; `weight`
/// `[C_out, C_in / groups, kh, kw]` and `bias` `[C_out]`, both U(−1/√fan_in, 1/√fan_in).
#[derive(Debug)]
pub struct Conv2d {
    /// `[C_out, C_in / groups, kh, kw]`.
    pub weight: Var,
    /// `[C_out]`.
    pub bias: Option<Var>,
    params: Conv2dParams,
    in_channels: usize,
    training: bool,
}

impl Conv2d {
    /// A layer with PyTorch's default initialisation.
    pub fn new(cfg: Conv2dConfig, rng: &mut Rng) -> Result<Self> {
        check_channels(
            "Conv2d",
            cfg.in_channels,
            cfg.out_channels,
            cfg.groups,
            &[cfg.kernel.0, cfg.kernel.1],
        )?;
        let shape = [
            cfg.out_channels,
            cfg.in_channels / cfg.groups,
            cfg.kernel.0,
            cfg.kernel.1,
        ];
        let weight = Var::parameter(init::default_weight(&shape, rng));
        let bias = cfg
            .bias
            .then(|| Var::parameter(init::default_bias(cfg.out_channels, &shape, rng)));
        Ok(Conv2d {
            weight,
            bias,
            params: Conv2dParams {
                stride: cfg.stride,
                padding: cfg.padding,
                dilation: cfg.dilation,
                groups: cfg.groups,
            },
            in_channels: cfg.in_channels,
            training: true,
        })
    }
}

impl Module for Conv2d {
    fn layer_kind(&self) -> crate::module::LayerKind {
        crate::module::LayerKind::Affine
    }

    fn forward(&self, x: &Var) -> Result<Var> {
        let s = x.shape();
        if s.len() != 4 || s[1] != self.in_channels {
            return Err(NnError::InputShape {
                layer: "Conv2d",
                expected: format!("[N, {}, H, W]", self.in_channels),
                found: s,
            });
        }
        // The bias is fused into the convolution (forward and backward).
        Ok(conv2d(x, &self.weight, self.bias.as_ref(), &self.params)?)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            p.push(("bias".to_string(), b.clone()));
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
        "Conv2d"
    }
}

/// 1-D convolution. Input `[N, C_in, L]`, output `[N, C_out, L']`; `weight`
/// `[C_out, C_in / groups, k]`, `bias` `[C_out]`, PyTorch's default initialisation.
#[derive(Debug)]
pub struct Conv1d {
    /// `[C_out, C_in / groups, k]`.
    pub weight: Var,
    /// `[C_out]`.
    pub bias: Option<Var>,
    params: Conv1dParams,
    in_channels: usize,
    training: bool,
}

impl Conv1d {
    /// `Conv1d(in, out, k, stride, padding, dilation, groups, bias)`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
        bias: bool,
        rng: &mut Rng,
    ) -> Result<Self> {
        check_channels(
            "Conv1d",
            in_channels,
            out_channels,
            groups,
            &[kernel, stride, dilation],
        )?;
        let shape = [out_channels, in_channels / groups, kernel];
        let weight = Var::parameter(init::default_weight(&shape, rng));
        let bias = bias.then(|| Var::parameter(init::default_bias(out_channels, &shape, rng)));
        Ok(Conv1d {
            weight,
            bias,
            params: Conv1dParams {
                stride,
                padding,
                dilation,
                groups,
            },
            in_channels,
            training: true,
        })
    }
}

impl Module for Conv1d {
    fn layer_kind(&self) -> crate::module::LayerKind {
        crate::module::LayerKind::Affine
    }

    fn forward(&self, x: &Var) -> Result<Var> {
        let s = x.shape();
        if s.len() != 3 || s[1] != self.in_channels {
            return Err(NnError::InputShape {
                layer: "Conv1d",
                expected: format!("[N, {}, L]", self.in_channels),
                found: s,
            });
        }
        // The bias is fused into the convolution (forward and backward).
        Ok(conv1d(x, &self.weight, self.bias.as_ref(), &self.params)?)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            p.push(("bias".to_string(), b.clone()));
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
        "Conv1d"
    }
}
