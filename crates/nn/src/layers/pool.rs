//! 2-D pooling layers.

use glassbox_autograd::ops::pool::{adaptive_avg_pool2d, avg_pool2d, max_pool2d};
use glassbox_autograd::Var;
use glassbox_tensor::pool::Pool2dParams;

use crate::error::{NnError, Result};
use crate::module::{LayerKind, Module};

/// Which pooling a layer applies (the kernels are autograd's, shared by all three types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PoolKind {
    Max(Pool2dParams),
    Avg(Pool2dParams),
    AdaptiveAvg(usize, usize),
}

impl PoolKind {
    fn name(&self) -> &'static str {
        match self {
            PoolKind::Max(_) => "MaxPool2d",
            PoolKind::Avg(_) => "AvgPool2d",
            PoolKind::AdaptiveAvg(..) => "AdaptiveAvgPool2d",
        }
    }

    fn forward(&self, x: &Var) -> Result<Var> {
        if x.shape().len() != 4 {
            return Err(NnError::InputShape {
                layer: self.name(),
                expected: "[N, C, H, W]".into(),
                found: x.shape(),
            });
        }
        Ok(match self {
            PoolKind::Max(p) => max_pool2d(x, p)?,
            PoolKind::Avg(p) => avg_pool2d(x, p)?,
            PoolKind::AdaptiveAvg(h, w) => adaptive_avg_pool2d(x, (*h, *w))?,
        })
    }
}

/// Square `kernel`/`stride`/`padding` window parameters, checked for `layer`.
fn window(
    layer: &'static str,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<Pool2dParams> {
    let p = Pool2dParams::new(kernel, kernel)
        .stride(stride, stride)
        .padding(padding, padding);
    check(layer, &p)?;
    Ok(p)
}

/// Max pooling over `[N, C, H, W]` inputs (PyTorch's `MaxPool2d`).
///
/// Each pooling is its own type, so an average pool cannot be built from this one:
///
/// ```compile_fail
/// let _ = glassbox_nn::MaxPool2d::avg(2, 2, 0);
/// ```
#[derive(Clone, Debug)]
pub struct MaxPool2d {
    kind: PoolKind,
    training: bool,
}

/// Average pooling over `[N, C, H, W]` inputs (PyTorch's `AvgPool2d`; padding counted in
/// the divisor, PyTorch's default).
///
/// ```compile_fail
/// let _ = glassbox_nn::AvgPool2d::max(2, 2, 0);
/// ```
#[derive(Clone, Debug)]
pub struct AvgPool2d {
    kind: PoolKind,
    training: bool,
}

/// Adaptive average pooling to a fixed `(h, w)` output (PyTorch's `AdaptiveAvgPool2d`).
#[derive(Clone, Debug)]
pub struct AdaptiveAvgPool2d {
    kind: PoolKind,
    training: bool,
}

impl MaxPool2d {
    /// `MaxPool2d(kernel, stride, padding)` with square windows.
    ///
    /// ```
    /// use glassbox_nn::{MaxPool2d, Module};
    /// let pool = MaxPool2d::new(2, 2, 0)?;
    /// assert_eq!(pool.type_name(), "MaxPool2d");
    /// # Ok::<(), glassbox_nn::NnError>(())
    /// ```
    pub fn new(kernel: usize, stride: usize, padding: usize) -> Result<Self> {
        Ok(MaxPool2d {
            kind: PoolKind::Max(window("MaxPool2d", kernel, stride, padding)?),
            training: true,
        })
    }
}

impl AvgPool2d {
    /// `AvgPool2d(kernel, stride, padding)` with square windows.
    pub fn new(kernel: usize, stride: usize, padding: usize) -> Result<Self> {
        Ok(AvgPool2d {
            kind: PoolKind::Avg(window("AvgPool2d", kernel, stride, padding)?),
            training: true,
        })
    }
}

impl AdaptiveAvgPool2d {
    /// `AdaptiveAvgPool2d((h, w))`.
    pub fn new(h: usize, w: usize) -> Result<Self> {
        if h == 0 || w == 0 {
            return Err(NnError::InvalidConfig {
                layer: "AdaptiveAvgPool2d",
                field: "output_size",
                reason: format!("({h}, {w}) must be positive"),
            });
        }
        Ok(AdaptiveAvgPool2d {
            kind: PoolKind::AdaptiveAvg(h, w),
            training: true,
        })
    }
}

fn check(layer: &'static str, p: &Pool2dParams) -> Result<()> {
    let (kh, kw) = p.kernel;
    if kh == 0
        || kw == 0
        || p.stride.0 == 0
        || p.stride.1 == 0
        || 2 * p.padding.0 > kh
        || 2 * p.padding.1 > kw
    {
        return Err(NnError::InvalidConfig {
            layer,
            field: "window",
            reason: format!(
                "kernel {:?}, stride {:?}, padding {:?}: sizes must be positive and padding at most half the kernel",
                p.kernel, p.stride, p.padding
            ),
        });
    }
    Ok(())
}

/// The [`Module`] impl of a pooling type: no parameters, the shared [`PoolKind`] forward.
macro_rules! pool_module {
    ($t:ty) => {
        impl Module for $t {
            fn forward(&self, x: &Var) -> Result<Var> {
                self.kind.forward(x)
            }

            fn named_parameters(&self) -> Vec<(String, Var)> {
                Vec::new()
            }

            fn set_training(&mut self, training: bool) {
                self.training = training;
            }

            fn is_training(&self) -> bool {
                self.training
            }

            fn type_name(&self) -> &'static str {
                self.kind.name()
            }

            fn layer_kind(&self) -> LayerKind {
                match self.kind {
                    PoolKind::Max(_) => LayerKind::Other,
                    PoolKind::Avg(_) | PoolKind::AdaptiveAvg(..) => LayerKind::Affine,
                }
            }
        }
    };
}

pool_module!(MaxPool2d);
pool_module!(AvgPool2d);
pool_module!(AdaptiveAvgPool2d);
