//! Convolution and pooling layers as [`Module`]s, built on the autograd conv/pool ops.
//!
//! `glassbox-nn` does not (yet) ship convolution modules, so the umbrella crate provides the
//! two the [`Architecture::Cnn`](crate::Architecture::Cnn) networks need, with PyTorch's
//! parameter names (`weight` `[out, in, kh, kw]`, `bias` `[out]`) and default initialisation
//! (Kaiming-uniform with `a = √5`, bias `U(−1/√fan_in, 1/√fan_in)`), so their state dicts
//! map one to one onto `torch.nn.Conv2d`'s.

use glassbox_autograd::ops::{conv, pool};
use glassbox_autograd::Var;
use glassbox_nn::{init, Module, NnError};
use glassbox_tensor::conv::Conv2dParams;
use glassbox_tensor::pool::Pool2dParams;
use glassbox_tensor::rng::Rng;

/// 2-D convolution `[N, C, H, W] → [N, O, OH, OW]` (cross-correlation, as PyTorch).
#[derive(Debug)]
pub struct Conv2d {
    weight: Var,
    bias: Option<Var>,
    params: Conv2dParams,
    training: bool,
}

impl Conv2d {
    /// A `kernel × kernel` convolution from `in_channels` to `out_channels` with the given
    /// stride and zero padding, initialised as PyTorch does.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        rng: &mut Rng,
    ) -> glassbox_nn::Result<Self> {
        if in_channels == 0 || out_channels == 0 || kernel == 0 || stride == 0 {
            return Err(NnError::InvalidConfig {
                layer: "Conv2d",
                field: "sizes",
                reason: format!(
                    "in_channels {in_channels}, out_channels {out_channels}, kernel {kernel} \
                     and stride {stride} must all be > 0"
                ),
            });
        }
        let shape = [out_channels, in_channels, kernel, kernel];
        let weight = init::default_weight(&shape, rng);
        let bias = init::default_bias(out_channels, &shape, rng);
        Ok(Conv2d {
            weight: Var::parameter(weight),
            bias: Some(Var::parameter(bias)),
            params: Conv2dParams::default()
                .stride(stride, stride)
                .padding(padding, padding),
            training: true,
        })
    }

    /// Number of input channels.
    pub fn in_channels(&self) -> usize {
        self.weight.shape()[1]
    }

    /// Number of output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Var) -> glassbox_nn::Result<Var> {
        let shape = x.shape();
        if shape.len() != 4 || shape[1] != self.in_channels() {
            return Err(NnError::InputShape {
                layer: "Conv2d",
                expected: format!("[N, {}, H, W]", self.in_channels()),
                found: shape,
            });
        }
        Ok(conv::conv2d(
            x,
            &self.weight,
            self.bias.as_ref(),
            &self.params,
        )?)
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

/// Max pooling over `size × size` windows with stride `size` (`[N, C, H, W] → [N, C, H/size, W/size]`).
#[derive(Debug)]
pub struct MaxPool2d {
    params: Pool2dParams,
    training: bool,
}

impl MaxPool2d {
    /// A `size × size` max pool with stride `size`.
    pub fn new(size: usize) -> glassbox_nn::Result<Self> {
        if size == 0 {
            return Err(NnError::InvalidConfig {
                layer: "MaxPool2d",
                field: "size",
                reason: "window size must be > 0".into(),
            });
        }
        Ok(MaxPool2d {
            params: Pool2dParams::new(size, size),
            training: true,
        })
    }
}

impl Module for MaxPool2d {
    fn forward(&self, x: &Var) -> glassbox_nn::Result<Var> {
        let shape = x.shape();
        if shape.len() != 4 {
            return Err(NnError::InputShape {
                layer: "MaxPool2d",
                expected: "[N, C, H, W]".into(),
                found: shape,
            });
        }
        Ok(pool::max_pool2d(x, &self.params)?)
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
        "MaxPool2d"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_tensor::Tensor;

    #[test]
    fn conv_matches_a_direct_loop() {
        let mut rng = Rng::new(3);
        let conv = Conv2d::new(2, 3, 3, 1, 1, &mut rng).unwrap();
        let x = Tensor::rand_normal(&[1, 2, 4, 5], 0.0, 1.0, &mut rng);
        let y = conv.forward(&Var::constant(x.clone())).unwrap().value();
        assert_eq!(y.shape(), &[1, 3, 4, 5]);
        let (w, b) = (
            conv.weight.value().to_vec(),
            conv.bias.as_ref().unwrap().value().to_vec(),
        );
        let xv = x.to_vec();
        let yv = y.to_vec();
        for o in 0..3 {
            for i in 0..4 {
                for j in 0..5 {
                    let mut s = b[o] as f64;
                    for c in 0..2 {
                        for di in 0..3 {
                            for dj in 0..3 {
                                let (ii, jj) =
                                    (i as isize + di as isize - 1, j as isize + dj as isize - 1);
                                if ii < 0 || jj < 0 || ii >= 4 || jj >= 5 {
                                    continue;
                                }
                                let xi = (c * 4 + ii as usize) * 5 + jj as usize;
                                s += w[((o * 2 + c) * 3 + di) * 3 + dj] as f64 * xv[xi] as f64;
                            }
                        }
                    }
                    assert!((yv[(o * 4 + i) * 5 + j] as f64 - s).abs() < 1e-4);
                }
            }
        }
    }

    #[test]
    fn bad_input_shape_is_an_error() {
        let mut rng = Rng::new(0);
        let conv = Conv2d::new(1, 2, 3, 1, 1, &mut rng).unwrap();
        let x = Var::constant(Tensor::zeros(&[2, 3, 4, 4]));
        let e = conv.forward(&x).unwrap_err().to_string();
        assert!(e.contains("Conv2d"), "{e}");
        assert!(MaxPool2d::new(0).is_err());
    }
}
