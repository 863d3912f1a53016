//! Size limits of an [`Architecture`] and the check of a state dict against it, both done
//! with checked arithmetic and **before** anything is allocated.
//!
//! A bundle is untrusted input: its JSON metadata can declare a 2,000,000,000-unit hidden
//! layer while holding a few weights. [`Architecture::validate`] rejects zero sizes and
//! sizes above the limits below (the same check runs on `--model mlp:…` sizes from the
//! command line), and [`Architecture::check_weights`] compares every parameter shape the
//! architecture implies with the tensors actually present, so the network is only built
//! when its weights are already in memory.
//!
//! ```
//! use glassbox::{Architecture, Error};
//! let huge = Architecture::Mlp { inputs: 4, hidden: vec![2_000_000_000], outputs: 3 };
//! let e = huge.validate().unwrap_err().to_string();
//! assert!(e.contains("hidden layer 1") && e.contains("2000000000"), "{e}");
//! assert!(huge.build(0).is_err()); // refused before any allocation
//! let ok = Architecture::Mlp { inputs: 4, hidden: vec![8], outputs: 3 };
//! assert_eq!(ok.parameter_shapes()?[0], ("0.weight".to_string(), vec![8, 4]));
//! # Ok::<(), Error>(())
//! ```

use glassbox_nn::StateDict;

use crate::arch::Architecture;
use crate::error::{Error, Result};

/// Largest width of any one layer: inputs of an MLP, hidden units, outputs, channels,
/// filters, LSTM features and hidden size.
pub const MAX_LAYER_SIZE: usize = 1 << 20;
/// Largest number of input values per sample (`channels × height × width`,
/// `steps × features`), and largest image side or sequence length.
pub const MAX_INPUT_VALUES: usize = 1 << 24;
/// Largest number of layers (MLP hidden layers, CNN convolutions).
pub const MAX_LAYERS: usize = 256;
/// Largest parameter count of a network (2^28 `f32` values, 1 GiB).
pub const MAX_PARAMETERS: usize = 1 << 28;

impl Architecture {
    /// Checks that every size is at least 1 and within the limits ([`MAX_LAYER_SIZE`],
    /// [`MAX_INPUT_VALUES`], [`MAX_LAYERS`], [`MAX_PARAMETERS`]), that a CNN has a
    /// convolution and images of at least 2×2, all without allocating anything
    /// proportional to the sizes. Errors name the field and the layer.
    pub fn validate(&self) -> Result<()> {
        let err = |reason: String| Error::Architecture {
            spec: self.kind().to_string(),
            reason,
        };
        let size = |what: String, v: usize, max: usize| -> Result<()> {
            if v == 0 {
                return Err(err(format!("{what} is 0 (every size must be at least 1)")));
            }
            if v > max {
                return Err(err(format!("{what} is {v}, above the limit of {max}")));
            }
            Ok(())
        };
        let layers = |what: &str, n: usize| -> Result<()> {
            if n > MAX_LAYERS {
                return Err(err(format!("{n} {what}, above the limit of {MAX_LAYERS}")));
            }
            Ok(())
        };
        match self {
            Architecture::Mlp {
                inputs,
                hidden,
                outputs,
            } => {
                size("inputs".into(), *inputs, MAX_LAYER_SIZE)?;
                layers("hidden layers", hidden.len())?;
                for (i, &h) in hidden.iter().enumerate() {
                    size(format!("hidden layer {}", i + 1), h, MAX_LAYER_SIZE)?;
                }
                size("outputs".into(), *outputs, MAX_LAYER_SIZE)?;
            }
            Architecture::Cnn {
                channels,
                height,
                width,
                filters,
                hidden,
                outputs,
            } => {
                size("channels".into(), *channels, MAX_LAYER_SIZE)?;
                size("height".into(), *height, MAX_INPUT_VALUES)?;
                size("width".into(), *width, MAX_INPUT_VALUES)?;
                if *height < 2 || *width < 2 {
                    return Err(err(format!(
                        "image {height}x{width} is too small for 2x2 pooling"
                    )));
                }
                if filters.is_empty() {
                    return Err(err("a CNN needs at least one convolution".into()));
                }
                layers("convolutions", filters.len())?;
                for (i, &f) in filters.iter().enumerate() {
                    size(
                        format!("filters of convolution {}", i + 1),
                        f,
                        MAX_LAYER_SIZE,
                    )?;
                }
                size("dense hidden layer".into(), *hidden, MAX_LAYER_SIZE)?;
                size("outputs".into(), *outputs, MAX_LAYER_SIZE)?;
                let widest = filters.iter().copied().max().unwrap_or(1).max(*channels);
                let activations = checked_product(&[widest, *height, *width]);
                if activations.is_none_or(|a| a > MAX_INPUT_VALUES) {
                    return Err(err(format!(
                        "a {height}x{width} image with {widest} channels holds more than \
                         {MAX_INPUT_VALUES} values per sample"
                    )));
                }
            }
            Architecture::Lstm {
                steps,
                features,
                hidden,
                outputs,
            } => {
                size("steps".into(), *steps, MAX_INPUT_VALUES)?;
                size("features".into(), *features, MAX_LAYER_SIZE)?;
                size("hidden size".into(), *hidden, MAX_LAYER_SIZE)?;
                size("outputs".into(), *outputs, MAX_LAYER_SIZE)?;
            }
        }
        if checked_product(&self.input_shape()).is_none_or(|n| n > MAX_INPUT_VALUES) {
            return Err(err(format!(
                "input {:?} holds more than {MAX_INPUT_VALUES} values per sample",
                self.input_shape()
            )));
        }
        let mut total = 0usize;
        for (name, shape) in self.shapes_unchecked() {
            total = checked_product(&shape)
                .and_then(|n| total.checked_add(n))
                .filter(|&t| t <= MAX_PARAMETERS)
                .ok_or_else(|| {
                    err(format!(
                        "more than {MAX_PARAMETERS} parameters (reached at `{name}` {shape:?})"
                    ))
                })?;
        }
        Ok(())
    }

    /// The name and shape of every parameter of the network this architecture builds, in
    /// the network's order (`0.weight`, `0.bias`, ... for MLP and CNN layers;
    /// `lstm.weight_ih_l0`, ..., `head.bias` for an LSTM). Validates first.
    pub fn parameter_shapes(&self) -> Result<Vec<(String, Vec<usize>)>> {
        self.validate()?;
        Ok(self.shapes_unchecked())
    }

    /// Total parameter count ([`Architecture::parameter_shapes`] summed).
    pub fn parameter_count(&self) -> Result<usize> {
        Ok(self
            .parameter_shapes()?
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum())
    }

    /// The shapes, without the limits check: the vector holds O(layers) entries, and the
    /// products are only formed (with overflow checks) by the caller.
    fn shapes_unchecked(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        for (name, layer) in self.layers() {
            for (param, shape) in layer.parameter_shapes() {
                out.push((format!("{name}.{param}"), shape));
            }
        }
        out
    }

    /// The walk over the network this architecture builds: every layer with its sizes and
    /// its name in the state dict, in the network's order (`0`, `1`, ... for the layer chain
    /// of an MLP or CNN, activations and pooling included; `lstm`, `head` for an LSTM).
    /// Sizes are not checked: [`Architecture::build`] builds from it after
    /// [`Architecture::validate`], which reads its parameter shapes.
    pub(crate) fn layers(&self) -> Vec<(String, Layer)> {
        let mut out = Vec::new();
        match self {
            Architecture::Mlp {
                inputs,
                hidden,
                outputs,
            } => {
                let mut width = *inputs;
                for &h in hidden {
                    out.push(Layer::linear(width, h));
                    out.push(Layer::Relu);
                    width = h;
                }
                out.push(Layer::linear(width, *outputs));
            }
            Architecture::Cnn {
                channels,
                height,
                width,
                filters,
                hidden,
                outputs,
            } => {
                let mut c = *channels;
                for &f in filters {
                    out.push(Layer::Conv3x3 {
                        channels: c,
                        filters: f,
                    });
                    out.push(Layer::Relu);
                    c = f;
                }
                let flat = checked_product(&[c, height / 2, width / 2]).unwrap_or(usize::MAX);
                out.push(Layer::MaxPool2);
                out.push(Layer::Flatten);
                out.push(Layer::linear(flat, *hidden));
                out.push(Layer::Relu);
                out.push(Layer::linear(*hidden, *outputs));
            }
            Architecture::Lstm {
                features,
                hidden,
                outputs,
                ..
            } => {
                return vec![
                    (
                        "lstm".into(),
                        Layer::Lstm {
                            features: *features,
                            hidden: *hidden,
                        },
                    ),
                    ("head".into(), Layer::linear(*hidden, *outputs)),
                ];
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(i, layer)| (i.to_string(), layer))
            .collect()
    }

    /// Checks `weights` against this architecture before anything is built: the same
    /// tensor names, each with the shape the architecture implies and the matching number
    /// of finite values. `origin` names the file in errors, which also name the tensor
    /// (`0.weight`) and both shapes.
    pub fn check_weights(&self, weights: &StateDict, origin: &str) -> Result<()> {
        let bad = |reason: String| Error::Bundle {
            path: origin.to_string(),
            reason,
        };
        let shapes = self.parameter_shapes().map_err(|e| bad(e.to_string()))?;
        // Validated: the description is short (at most MAX_LAYERS sizes).
        let arch = self.describe();
        for (name, shape) in &shapes {
            let rec = weights.get(name).ok_or_else(|| {
                bad(format!(
                    "the architecture ({arch}) needs tensor `{name}` of shape {shape:?}, \
                     which the weights do not hold"
                ))
            })?;
            if &rec.shape != shape {
                return Err(bad(format!(
                    "the architecture ({arch}) declares `{name}` of shape {shape:?}, the \
                     weights hold shape {:?}",
                    rec.shape
                )));
            }
            let n = checked_product(shape).unwrap_or(usize::MAX);
            if rec.data.len() != n {
                return Err(bad(format!(
                    "tensor `{name}` of shape {shape:?} has {} values instead of {n}",
                    rec.data.len()
                )));
            }
            if let Some(i) = rec.data.iter().position(|v| !v.is_finite()) {
                return Err(bad(format!(
                    "tensor `{name}` holds a non-finite value ({}) at index {i}",
                    rec.data[i]
                )));
            }
        }
        if let Some((extra, _)) = weights
            .tensors
            .iter()
            .find(|(n, _)| !shapes.iter().any(|(m, _)| m == n))
        {
            return Err(bad(format!(
                "the weights hold tensor `{extra}`, which the architecture ({arch}) does not \
                 have"
            )));
        }
        Ok(())
    }
}

/// One layer of a network built from an [`Architecture`] ([`Architecture::layers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// `Linear(inputs → outputs)` with a bias.
    Linear {
        /// Input features.
        inputs: usize,
        /// Output features.
        outputs: usize,
    },
    /// `Conv2d(channels → filters, 3×3, padding 1)` with a bias.
    Conv3x3 {
        /// Input channels.
        channels: usize,
        /// Output channels.
        filters: usize,
    },
    /// A one-layer batch-first LSTM.
    Lstm {
        /// Features per step.
        features: usize,
        /// Hidden size.
        hidden: usize,
    },
    /// ReLU.
    Relu,
    /// 2×2 max pooling, stride 2.
    MaxPool2,
    /// Flattens all but the batch dimension.
    Flatten,
}

impl Layer {
    fn linear(inputs: usize, outputs: usize) -> Layer {
        Layer::Linear { inputs, outputs }
    }

    /// The layer's own parameters (names as in its state dict) and their shapes.
    fn parameter_shapes(self) -> Vec<(&'static str, Vec<usize>)> {
        match self {
            Layer::Linear { inputs, outputs } => {
                vec![("weight", vec![outputs, inputs]), ("bias", vec![outputs])]
            }
            Layer::Conv3x3 { channels, filters } => vec![
                ("weight", vec![filters, channels, 3, 3]),
                ("bias", vec![filters]),
            ],
            Layer::Lstm { features, hidden } => {
                let gates = hidden.saturating_mul(4);
                vec![
                    ("weight_ih_l0", vec![gates, features]),
                    ("weight_hh_l0", vec![gates, hidden]),
                    ("bias_ih_l0", vec![gates]),
                    ("bias_hh_l0", vec![gates]),
                ]
            }
            Layer::Relu | Layer::MaxPool2 | Layer::Flatten => Vec::new(),
        }
    }
}

/// The product of `dims`, `None` on overflow.
pub fn checked_product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelSpec;
    use glassbox_nn::{state_dict, Module};
    use proptest::prelude::*;

    fn arch_strategy() -> impl Strategy<Value = Architecture> {
        prop_oneof![
            (1..6usize, prop::collection::vec(1..6usize, 0..3), 1..4usize).prop_map(
                |(inputs, hidden, outputs)| Architecture::Mlp {
                    inputs,
                    hidden,
                    outputs
                }
            ),
            (
                1..3usize,
                2..7usize,
                2..7usize,
                prop::collection::vec(1..4usize, 1..3),
                1..5usize,
                1..4usize
            )
                .prop_map(|(channels, height, width, filters, hidden, outputs)| {
                    Architecture::Cnn {
                        channels,
                        height,
                        width,
                        filters,
                        hidden,
                        outputs,
                    }
                }),
            (1..5usize, 1..4usize, 1..5usize, 1..4usize).prop_map(
                |(steps, features, hidden, outputs)| Architecture::Lstm {
                    steps,
                    features,
                    hidden,
                    outputs
                }
            ),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The shapes computed without building are exactly the built network's.
        #[test]
        fn parameter_shapes_match_the_built_network(arch in arch_strategy()) {
            let net = arch.build(0).unwrap();
            let built: Vec<(String, Vec<usize>)> = net
                .named_parameters()
                .into_iter()
                .map(|(n, v)| (n, v.shape()))
                .collect();
            prop_assert_eq!(arch.parameter_shapes().unwrap(), built);
            prop_assert!(net.named_buffers().is_empty());
            arch.check_weights(&state_dict(&net), "m.gbx").unwrap();
        }
    }

    #[test]
    fn zero_and_huge_sizes_are_named() {
        let cases = [
            (
                Architecture::Mlp {
                    inputs: 4,
                    hidden: vec![8, 0],
                    outputs: 2,
                },
                "hidden layer 2 is 0",
            ),
            (
                Architecture::Mlp {
                    inputs: 4,
                    hidden: vec![2_000_000_000],
                    outputs: 2,
                },
                "hidden layer 1 is 2000000000",
            ),
            (
                Architecture::Lstm {
                    steps: 0,
                    features: 1,
                    hidden: 4,
                    outputs: 2,
                },
                "steps is 0",
            ),
            (
                Architecture::Cnn {
                    channels: 1,
                    height: 8,
                    width: 8,
                    filters: vec![],
                    hidden: 4,
                    outputs: 2,
                },
                "at least one convolution",
            ),
            (
                Architecture::Cnn {
                    channels: usize::MAX,
                    height: usize::MAX,
                    width: 8,
                    filters: vec![3],
                    hidden: 4,
                    outputs: 2,
                },
                "channels is 18446744073709551615",
            ),
            (
                Architecture::Mlp {
                    inputs: 1 << 20,
                    hidden: vec![1 << 20],
                    outputs: 2,
                },
                "more than 268435456 parameters",
            ),
        ];
        for (arch, want) in cases {
            let e = arch.validate().unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert!(arch.build(0).is_err());
        }
    }

    #[test]
    fn command_line_sizes_use_the_same_bounds() {
        let e = ModelSpec::parse("mlp:1000000000").unwrap_err().to_string();
        assert!(e.contains("1000000000") && e.contains("limit"), "{e}");
        let e = ModelSpec::Mlp(vec![1_000_000_000])
            .resolve(&[4], 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hidden layer 1 is 1000000000"), "{e}");
        let e = ModelSpec::Lstm(5_000_000)
            .resolve(&[4, 2], 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hidden size is 5000000"), "{e}");
        let e = ModelSpec::Cnn(vec![4])
            .resolve(&[1, 1 << 13, 1 << 13], 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("values per sample"), "{e}");
    }

    #[test]
    fn weights_that_lie_about_their_size_are_named() {
        let small = ModelSpec::Mlp(vec![3]).resolve(&[4], 2).unwrap();
        let weights = state_dict(&small.build(0).unwrap());
        let liar = Architecture::Mlp {
            inputs: 4,
            hidden: vec![1_000_000],
            outputs: 2,
        };
        let e = liar
            .check_weights(&weights, "m.gbx")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m.gbx") && e.contains("`0.weight`") && e.contains("[1000000, 4]"),
            "{e}"
        );
        let mut nan = weights.clone();
        nan.tensors[1].1.data[0] = f32::NAN;
        let e = small.check_weights(&nan, "m.gbx").unwrap_err().to_string();
        assert!(e.contains("`0.bias`") && e.contains("non-finite"), "{e}");
        let mut extra = weights.clone();
        extra
            .tensors
            .push(("9.weight".into(), extra.tensors[0].1.clone()));
        let e = small
            .check_weights(&extra, "m.gbx")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`9.weight`"), "{e}");
    }
}
