//! Architecture specifications: a serialisable description from which a network is rebuilt
//! (MLP, small CNN, LSTM), and [`Network`], the module built from one.

use glassbox_autograd::Var;
use glassbox_nn::{
    Activation, Conv2d, Conv2dConfig, Flatten, Linear, MaxPool2d, Module, Recurrent, Sequential,
};
use glassbox_tensor::rng::Rng;
use serde::{Deserialize, Serialize};

use crate::arch_limits::Layer;
use crate::error::{Error, Result};

/// The kind and hidden sizes of a network as written on the command line
/// (`mlp:128,64`, `cnn`, `cnn:16,32`, `lstm:64`), before the data fixes its input and
/// output sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelSpec {
    /// Fully connected ReLU layers of the given widths.
    Mlp(Vec<usize>),
    /// 3×3 convolutions (padding 1, ReLU) with the given filter counts, one 2×2 max pool,
    /// then a hidden dense layer.
    Cnn(Vec<usize>),
    /// An LSTM of the given hidden size over the rows' time steps, then a linear head.
    Lstm(usize),
}

impl ModelSpec {
    /// Parses `mlp[:w1,w2,..]`, `cnn[:f1,f2,..]` or `lstm[:hidden]`.
    pub fn parse(spec: &str) -> Result<ModelSpec> {
        let err = |reason: String| Error::Architecture {
            spec: spec.to_string(),
            reason,
        };
        let (kind, sizes) = match spec.split_once(':') {
            Some((k, s)) => (k, Some(s)),
            None => (spec, None),
        };
        let sizes: Vec<usize> = match sizes {
            None => Vec::new(),
            Some(s) => s
                .split(',')
                .map(|t| {
                    t.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|&v| v > 0)
                        .ok_or_else(|| err(format!("`{t}` is not a positive layer size")))
                        .and_then(|v| {
                            if v > crate::arch_limits::MAX_LAYER_SIZE {
                                Err(err(format!(
                                    "layer size {v} is above the limit of {}",
                                    crate::arch_limits::MAX_LAYER_SIZE
                                )))
                            } else {
                                Ok(v)
                            }
                        })
                })
                .collect::<Result<_>>()?,
        };
        match kind.trim().to_ascii_lowercase().as_str() {
            "mlp" => Ok(ModelSpec::Mlp(if sizes.is_empty() {
                vec![128, 64]
            } else {
                sizes
            })),
            "cnn" => Ok(ModelSpec::Cnn(if sizes.is_empty() {
                vec![16, 32]
            } else {
                sizes
            })),
            "lstm" => match sizes.as_slice() {
                [] => Ok(ModelSpec::Lstm(64)),
                [h] => Ok(ModelSpec::Lstm(*h)),
                _ => Err(err("lstm takes one hidden size, e.g. lstm:64".into())),
            },
            other => Err(err(format!(
                "unknown model kind `{other}` (expected mlp, cnn or lstm)"
            ))),
        }
    }

    /// Fixes the input and output sizes. `input_shape` is one sample's shape: `[F]` for
    /// tables, `[C, H, W]` for images, `[T, F]` for sequences (a flat `[F]` is read as
    /// `[F, 1]` by an LSTM and as a square one-channel image by a CNN).
    /// The result passes [`Architecture::validate`] (sizes at least 1 and within the
    /// limits of [`crate::arch_limits`]), so nothing is allocated for a size that is refused.
    pub fn resolve(&self, input_shape: &[usize], outputs: usize) -> Result<Architecture> {
        let arch = self.resolve_unchecked(input_shape, outputs)?;
        arch.validate()?;
        Ok(arch)
    }

    fn resolve_unchecked(&self, input_shape: &[usize], outputs: usize) -> Result<Architecture> {
        let n: usize = input_shape.iter().product();
        let err = |reason: String| Error::Architecture {
            spec: format!("{self:?}"),
            reason,
        };
        if n == 0 || outputs == 0 {
            return Err(err(format!(
                "input shape {input_shape:?} and {outputs} outputs must be non-empty"
            )));
        }
        Ok(match self {
            ModelSpec::Mlp(hidden) => Architecture::Mlp {
                inputs: n,
                hidden: hidden.clone(),
                outputs,
            },
            ModelSpec::Cnn(filters) => {
                let (c, h, w) = match *input_shape {
                    [c, h, w] => (c, h, w),
                    [f] => {
                        let side = (f as f64).sqrt().round() as usize;
                        if side * side != f {
                            return Err(err(format!(
                                "a CNN needs images; {f} features are not a square image"
                            )));
                        }
                        (1, side, side)
                    }
                    _ => {
                        return Err(err(format!(
                            "a CNN needs [C, H, W] inputs, got {input_shape:?}"
                        )))
                    }
                };
                if h < 2 || w < 2 {
                    return Err(err(format!("image {h}x{w} is too small for 2x2 pooling")));
                }
                Architecture::Cnn {
                    channels: c,
                    height: h,
                    width: w,
                    filters: filters.clone(),
                    hidden: 64,
                    outputs,
                }
            }
            ModelSpec::Lstm(hidden) => {
                let (steps, features) = match *input_shape {
                    [t, f] => (t, f),
                    [t] => (t, 1),
                    _ => {
                        return Err(err(format!(
                            "an LSTM needs [T, F] inputs, got {input_shape:?}"
                        )))
                    }
                };
                Architecture::Lstm {
                    steps,
                    features,
                    hidden: *hidden,
                    outputs,
                }
            }
        })
    }
}

impl ModelSpec {
    /// [`ModelSpec::resolve`] for a fitted table: one input per feature column, one output
    /// per class (or one for regression).
    pub fn for_table(&self, set: &crate::tabular::TabularSet) -> Result<Architecture> {
        self.resolve(&[set.x.ncols()], set.task.n_outputs())
    }
}

/// A complete, serialisable network description: rebuilding it and loading the saved state
/// dict restores the trained model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Architecture {
    /// `Linear → ReLU` per hidden width, then `Linear` to the outputs.
    Mlp {
        /// Input features.
        inputs: usize,
        /// Hidden widths.
        hidden: Vec<usize>,
        /// Outputs (classes, or 1 for regression).
        outputs: usize,
    },
    /// `Conv2d(3×3, pad 1) → ReLU` per filter count, `MaxPool2d(2)`, `Flatten`,
    /// `Linear → ReLU` (hidden), `Linear` to the outputs.
    Cnn {
        /// Input channels.
        channels: usize,
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// Filters of each convolution.
        filters: Vec<usize>,
        /// Width of the dense hidden layer.
        hidden: usize,
        /// Outputs.
        outputs: usize,
    },
    /// A one-layer batch-first LSTM over `steps` steps of `features` values, the last
    /// step's hidden state feeding a linear head.
    Lstm {
        /// Time steps per sample.
        steps: usize,
        /// Features per step.
        features: usize,
        /// LSTM hidden size.
        hidden: usize,
        /// Outputs.
        outputs: usize,
    },
}

impl Architecture {
    /// `"mlp"`, `"cnn"` or `"lstm"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Architecture::Mlp { .. } => "mlp",
            Architecture::Cnn { .. } => "cnn",
            Architecture::Lstm { .. } => "lstm",
        }
    }

    /// One sample's input shape.
    pub fn input_shape(&self) -> Vec<usize> {
        match self {
            Architecture::Mlp { inputs, .. } => vec![*inputs],
            Architecture::Cnn {
                channels,
                height,
                width,
                ..
            } => vec![*channels, *height, *width],
            Architecture::Lstm {
                steps, features, ..
            } => vec![*steps, *features],
        }
    }

    /// Number of input values per sample (the width of a row of features).
    pub fn n_inputs(&self) -> usize {
        self.input_shape().iter().product()
    }

    /// Number of outputs.
    pub fn n_outputs(&self) -> usize {
        match self {
            Architecture::Mlp { outputs, .. }
            | Architecture::Cnn { outputs, .. }
            | Architecture::Lstm { outputs, .. } => *outputs,
        }
    }

    /// The dotted name of the last convolutional feature map (after its ReLU), the usual
    /// Grad-CAM layer; `None` for non-convolutional networks.
    pub fn gradcam_layer(&self) -> Option<String> {
        match self {
            Architecture::Cnn { filters, .. } => Some(format!("{}", 2 * filters.len() - 1)),
            _ => None,
        }
    }

    /// A one-line description (`cnn: conv 16-32, pool 2, dense 64, 10 outputs`).
    pub fn describe(&self) -> String {
        let join = |v: &[usize]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("-")
        };
        match self {
            Architecture::Mlp {
                inputs,
                hidden,
                outputs,
            } => format!("MLP {inputs} → {} → {outputs} (ReLU)", join(hidden)),
            Architecture::Cnn {
                channels,
                height,
                width,
                filters,
                hidden,
                outputs,
            } => format!(
                "CNN {channels}×{height}×{width} → conv3×3 {} (ReLU) → maxpool 2 → dense {hidden} → {outputs}",
                join(filters)
            ),
            Architecture::Lstm {
                steps,
                features,
                hidden,
                outputs,
            } => format!("LSTM {steps} steps × {features} → hidden {hidden} → {outputs}"),
        }
    }

    /// Builds the network with PyTorch's default initialisation from `seed`.
    /// The architecture is validated first ([`Architecture::validate`]): a zero or
    /// oversized layer is an error before anything is allocated.
    pub fn build(&self, seed: u64) -> Result<Network> {
        self.validate()?;
        let mut rng = Rng::new(seed);
        let inner = match self.layers().as_slice() {
            [(_, Layer::Lstm { features, hidden }), (_, Layer::Linear { inputs, outputs })] => {
                Inner::Lstm {
                    rnn: Recurrent::lstm(*features, *hidden, 1, &mut rng)?,
                    head: Linear::new(*inputs, *outputs, true, &mut rng)?,
                }
            }
            layers => {
                let mut seq = Sequential::new();
                for (_, layer) in layers {
                    let module: Box<dyn Module> = match *layer {
                        Layer::Linear { inputs, outputs } => {
                            Box::new(Linear::new(inputs, outputs, true, &mut rng)?)
                        }
                        Layer::Conv3x3 { channels, filters } => Box::new(Conv2d::new(
                            Conv2dConfig::new(channels, filters, 3).padding(1),
                            &mut rng,
                        )?),
                        Layer::Relu => Box::new(Activation::relu()),
                        Layer::MaxPool2 => Box::new(MaxPool2d::new(2, 2, 0)?),
                        Layer::Flatten => Box::new(Flatten::new()),
                        Layer::Lstm { .. } => {
                            return Err(Error::Architecture {
                                spec: self.describe(),
                                reason: "an LSTM is only built as a whole network".into(),
                            })
                        }
                    };
                    seq.push(module);
                }
                Inner::Seq(seq)
            }
        };
        Ok(Network {
            arch: self.clone(),
            inner,
            training: true,
        })
    }
}

#[derive(Debug)]
enum Inner {
    Seq(Sequential),
    Lstm { rnn: Recurrent, head: Linear },
}

/// A network built from an [`Architecture`]. It accepts either the natural input shape
/// (`[N, C, H, W]`, `[N, T, F]`) or flat rows `[N, n_inputs]`, which it reshapes, so the
/// model-agnostic explainers can treat every network as a function of feature rows.
#[derive(Debug)]
pub struct Network {
    arch: Architecture,
    inner: Inner,
    training: bool,
}

impl Network {
    /// The architecture it was built from.
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    fn shaped(&self, x: &Var) -> glassbox_nn::Result<Var> {
        let shape = x.shape();
        let sample = self.arch.input_shape();
        let n_in: usize = sample.iter().product();
        if shape.len() == 2 && shape[1] == n_in && sample.len() > 1 {
            let mut full = vec![shape[0]];
            full.extend(&sample);
            return Ok(x.reshape(&full)?);
        }
        if shape.len() == sample.len() + 1 && shape[1..] == sample[..] {
            return Ok(x.clone());
        }
        Err(glassbox_nn::NnError::InputShape {
            layer: "Network",
            expected: format!("[N, {n_in}] rows or [N, {sample:?}] samples"),
            found: shape,
        })
    }
}

impl Network {
    /// The layer chain of MLP and CNN networks (which take their natural input shape,
    /// `[N, F]` or `[N, C, H, W]`), for tools that walk layers such as
    /// `glassbox_explain::gradient`; `None` for LSTM networks.
    pub fn sequential(&self) -> Option<&Sequential> {
        match &self.inner {
            Inner::Seq(seq) => Some(seq),
            Inner::Lstm { .. } => None,
        }
    }

    /// Runs the network and also returns every top-level layer's output (`outputs[i]` is
    /// the output of the layer named `i`), for Grad-CAM and layer attributions. LSTM
    /// networks return the LSTM output and the head output.
    pub fn forward_with_activations(&self, x: &Var) -> glassbox_nn::Result<(Var, Vec<Var>)> {
        let x = self.shaped(x)?;
        match &self.inner {
            Inner::Seq(seq) => seq.forward_with_activations(&x),
            Inner::Lstm { rnn, head } => {
                let out = rnn.forward(&x)?;
                let t = out.shape()[1];
                let last = out.narrow(1, t - 1, 1)?.squeeze(1)?;
                let y = head.forward(&last)?;
                Ok((y.clone(), vec![out, y]))
            }
        }
    }
}

impl Module for Network {
    fn forward(&self, x: &Var) -> glassbox_nn::Result<Var> {
        let x = self.shaped(x)?;
        match &self.inner {
            Inner::Seq(seq) => seq.forward(&x),
            Inner::Lstm { rnn, head } => {
                let out = rnn.forward(&x)?;
                let t = out.shape()[1];
                let last = out.narrow(1, t - 1, 1)?.squeeze(1)?;
                head.forward(&last)
            }
        }
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        match &self.inner {
            Inner::Seq(seq) => seq.named_parameters(),
            Inner::Lstm { rnn, head } => {
                let mut p = glassbox_nn::module::prefixed("lstm", rnn.named_parameters());
                p.extend(glassbox_nn::module::prefixed(
                    "head",
                    head.named_parameters(),
                ));
                p
            }
        }
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        match &self.inner {
            Inner::Seq(seq) => seq.named_children(),
            Inner::Lstm { rnn, head } => vec![
                ("lstm".to_string(), rnn as &dyn Module),
                ("head".to_string(), head as &dyn Module),
            ],
        }
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        match &mut self.inner {
            Inner::Seq(seq) => seq.set_training(training),
            Inner::Lstm { rnn, head } => {
                rnn.set_training(training);
                head.set_training(training);
            }
        }
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "Network"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_tensor::Tensor;

    #[test]
    fn specs_parse_and_reject_nonsense() {
        assert_eq!(
            ModelSpec::parse("mlp:128,64").unwrap(),
            ModelSpec::Mlp(vec![128, 64])
        );
        assert_eq!(
            ModelSpec::parse("cnn").unwrap(),
            ModelSpec::Cnn(vec![16, 32])
        );
        assert_eq!(ModelSpec::parse("lstm:32").unwrap(), ModelSpec::Lstm(32));
        for bad in ["mlp:0", "mlp:a", "resnet", "lstm:1,2"] {
            let e = ModelSpec::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn every_architecture_builds_and_runs_on_rows() {
        let cases = [
            (ModelSpec::Mlp(vec![5]), vec![4usize]),
            (ModelSpec::Cnn(vec![2, 3]), vec![1, 6, 6]),
            (ModelSpec::Lstm(4), vec![5, 2]),
        ];
        for (spec, shape) in cases {
            let arch = spec.resolve(&shape, 3).unwrap();
            let net = arch.build(1).unwrap();
            let n: usize = shape.iter().product();
            let x = Var::constant(Tensor::zeros(&[2, n]));
            assert_eq!(net.forward(&x).unwrap().shape(), vec![2, 3], "{arch:?}");
            let bad = Var::constant(Tensor::zeros(&[2, n + 1]));
            assert!(net.forward(&bad).is_err());
        }
    }

    #[test]
    fn gradcam_layer_is_the_last_conv_relu() {
        let arch = ModelSpec::Cnn(vec![4, 8]).resolve(&[1, 8, 8], 10).unwrap();
        let net = arch.build(0).unwrap();
        let name = arch.gradcam_layer().unwrap();
        let layer = glassbox_nn::get_submodule(&net, &name).unwrap();
        assert_eq!(layer.type_name(), "ReLU");
        let before = format!("{}", name.parse::<usize>().unwrap() - 1);
        assert_eq!(
            glassbox_nn::get_submodule(&net, &before)
                .unwrap()
                .type_name(),
            "Conv2d"
        );
    }
}
