//! 2-D pooling layers.

use glassbox_autograd::ops::pool::{adaptive_avg_pool2d, avg_pool2d, max_pool2d};
use glassbox_autograd::Var;
use glassbox_tensor::pool::Pool2dParams;

use crate::error::{NnError, Result};
use crate::module::Module;

/// Which pooling a [`Pool2d`] applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PoolKind {
    Max(Pool2dParams),
    Avg(Pool2dParams),
    AdaptiveAvg(usize, usize),
}

/// Max, average or adaptive-average pooling over `[N, C, H, W]` inputs (PyTorch's
/// `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d`).
#[derive(Clone, Debug)]
pub struct Pool2d {
    kind: PoolKind,
    training: bool,
}

/// `MaxPool2d`.
pub type MaxPool2d = Pool2d;
/// `AvgPool2d`.
pub type AvgPool2d = Pool2d;
/// `AdaptiveAvgPool2d`.
pub type AdaptiveAvgPool2d = Pool2d;

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

impl Pool2d {
    /// `MaxPool2d(kernel, stride, padding)` with square windows.
    pub fn max(kernel: usize, stride: usize, padding: usize) -> Result<Self> {
        let p = Pool2dParams::new(kernel, kernel)
            .stride(stride, stride)
            .padding(padding, padding);
        check("MaxPool2d", &p)?;
        Ok(Pool2d {
            kind: PoolKind::Max(p),
            training: true,
        })
    }

    /// `AvgPool2d(kernel, stride, padding)` with square windows (padding counted in the
    /// divisor, PyTorch's default).
    pub fn avg(kernel: usize, stride: usize, padding: usize) -> Result<Self> {
        let p = Pool2dParams::new(kernel, kernel)
            .stride(stride, stride)
            .padding(padding, padding);
        check("AvgPool2d", &p)?;
        Ok(Pool2d {
            kind: PoolKind::Avg(p),
            training: true,
        })
    }

    /// `AdaptiveAvgPool2d((h, w))`.
    pub fn adaptive_avg(h: usize, w: usize) -> Result<Self> {
        if h == 0 || w == 0 {
            return Err(NnError::InvalidConfig {
                layer: "AdaptiveAvgPool2d",
                field: "output_size",
                reason: format!("({h}, {w}) must be positive"),
            });
        }
        Ok(Pool2d {
            kind: PoolKind::AdaptiveAvg(h, w),
            training: true,
        })
    }
}

impl Module for Pool2d {
    fn forward(&self, x: &Var) -> Result<Var> {
        if x.shape().len() != 4 {
            return Err(NnError::InputShape {
                layer: self.type_name(),
                expected: "[N, C, H, W]".into(),
                found: x.shape(),
            });
        }
        Ok(match &self.kind {
            PoolKind::Max(p) => max_pool2d(x, p)?,
            PoolKind::Avg(p) => avg_pool2d(x, p)?,
            PoolKind::AdaptiveAvg(h, w) => adaptive_avg_pool2d(x, (*h, *w))?,
        })
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
        match self.kind {
            PoolKind::Max(_) => "MaxPool2d",
            PoolKind::Avg(_) => "AvgPool2d",
            PoolKind::AdaptiveAvg(..) => "AdaptiveAvgPool2d",
        }
    }
}
