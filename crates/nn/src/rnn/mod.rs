//! Recurrent layers: [`Rnn`] (tanh), [`Lstm`] and [`Gru`], multi-layer and batch-first, with
//! PyTorch's gate order and parameter names (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
//! `bias_hh_l0`, ...), so PyTorch weights map one to one. Each layer of the stack is one
//! fused graph node (see [`kernel`]).

mod cells;
mod gemm;
pub mod kernel;
mod pool;
mod slot;
#[cfg(test)]
mod tests;
mod typed;

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::init;
use crate::module::Module;
pub use kernel::CellKind;
pub use typed::{Gru, Lstm, Rnn};

/// The outputs of a recurrent stack.
#[derive(Clone, Debug)]
pub struct RnnOutput {
    /// Top layer's hidden state at every step, `[B, T, H]`.
    pub output: Var,
    /// Final hidden state of every layer, `[num_layers, B, H]`.
    pub h_n: Var,
    /// Final cell state of every layer, `[num_layers, B, H]` (LSTM only).
    pub c_n: Option<Var>,
}

/// Parameters of one layer of the stack.
#[derive(Debug)]
struct LayerParams {
    w_ih: Var,
    w_hh: Var,
    b_ih: Var,
    b_hh: Var,
}

/// A multi-layer, batch-first recurrent network of `kind` cells (the kind chosen at run
/// time; [`Rnn`], [`Lstm`] and [`Gru`] fix it by type). Input `[B, T, input_size]`,
/// output `[B, T, hidden_size]`. Weights are initialised U(−1/√H, 1/√H) as in PyTorch.
#[derive(Debug)]
pub struct Recurrent {
    kind: CellKind,
    input_size: usize,
    hidden_size: usize,
    bias: bool,
    layers: Vec<LayerParams>,
    training: bool,
}

impl Recurrent {
    /// A stack of `num_layers` layers of `kind` cells with PyTorch's initialisation;
    /// `bias = false` fixes both biases at zero (they are then not parameters).
    pub fn new(
        kind: CellKind,
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        bias: bool,
        rng: &mut Rng,
    ) -> Result<Self> {
        if input_size == 0 || hidden_size == 0 || num_layers == 0 {
            return Err(NnError::InvalidConfig {
                layer: Self::name_of(kind),
                field: "sizes",
                reason: format!(
                    "input_size {input_size}, hidden_size {hidden_size} and num_layers {num_layers} must be > 0"
                ),
            });
        }
        let g = kind.gates() * hidden_size;
        let bound = 1.0 / (hidden_size as f32).sqrt();
        let layers = (0..num_layers)
            .map(|l| {
                let in_l = if l == 0 { input_size } else { hidden_size };
                let w_ih = Var::parameter(init::uniform(&[g, in_l], bound, rng));
                let w_hh = Var::parameter(init::uniform(&[g, hidden_size], bound, rng));
                let (b_ih, b_hh) = if bias {
                    (
                        Var::parameter(init::uniform(&[g], bound, rng)),
                        Var::parameter(init::uniform(&[g], bound, rng)),
                    )
                } else {
                    (
                        Var::constant(Tensor::zeros(&[g])),
                        Var::constant(Tensor::zeros(&[g])),
                    )
                };
                LayerParams {
                    w_ih,
                    w_hh,
                    b_ih,
                    b_hh,
                }
            })
            .collect();
        Ok(Recurrent {
            kind,
            input_size,
            hidden_size,
            bias,
            layers,
            training: true,
        })
    }

    /// `nn.RNN(input_size, hidden_size, num_layers, batch_first=True)` with tanh.
    pub fn rnn(
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        Self::new(
            CellKind::Tanh,
            input_size,
            hidden_size,
            num_layers,
            true,
            rng,
        )
    }

    /// `nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)`.
    pub fn lstm(
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        Self::new(
            CellKind::Lstm,
            input_size,
            hidden_size,
            num_layers,
            true,
            rng,
        )
    }

    /// `nn.GRU(input_size, hidden_size, num_layers, batch_first=True)`.
    pub fn gru(
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        Self::new(
            CellKind::Gru,
            input_size,
            hidden_size,
            num_layers,
            true,
            rng,
        )
    }

    fn name_of(kind: CellKind) -> &'static str {
        match kind {
            CellKind::Tanh => "RNN",
            CellKind::Lstm => "LSTM",
            CellKind::Gru => "GRU",
        }
    }

    /// The cell kind.
    pub fn kind(&self) -> CellKind {
        self.kind
    }

    /// Hidden size.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// Number of stacked layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    fn check_state(&self, what: &'static str, s: &Var, b: usize) -> Result<()> {
        let want = vec![self.layers.len(), b, self.hidden_size];
        if s.shape() != want {
            return Err(NnError::InputShape {
                layer: Self::name_of(self.kind),
                expected: format!("{what} of shape {want:?}"),
                found: s.shape(),
            });
        }
        Ok(())
    }

    /// Runs the stack from initial states `h0` (and `c0` for LSTM), each
    /// `[num_layers, B, H]`; zeros when `None`.
    pub fn forward_with_state(
        &self,
        x: &Var,
        h0: Option<&Var>,
        c0: Option<&Var>,
    ) -> Result<RnnOutput> {
        let shape = x.shape();
        let name = Self::name_of(self.kind);
        if shape.len() != 3 || shape[2] != self.input_size || shape[1] == 0 || shape[0] == 0 {
            return Err(NnError::InputShape {
                layer: name,
                expected: format!("[B, T, {}] with B, T > 0 (batch first)", self.input_size),
                found: shape,
            });
        }
        let (b, t, hs) = (shape[0], shape[1], self.hidden_size);
        if let Some(h) = h0 {
            self.check_state("h0", h, b)?;
        }
        if let Some(c) = c0 {
            if self.kind != CellKind::Lstm {
                return Err(NnError::InvalidConfig {
                    layer: name,
                    field: "c0",
                    reason: "only an LSTM has a cell state".into(),
                });
            }
            self.check_state("c0", c, b)?;
        }
        let zeros = Var::constant(Tensor::zeros(&[b, hs]));
        let layer_state = |s: Option<&Var>, l: usize| -> Result<Var> {
            match s {
                Some(v) => Ok(v.narrow(0, l, 1)?.reshape(&[b, hs])?),
                None => Ok(zeros.clone()),
            }
        };
        let mut input = x.clone();
        let mut hns = Vec::with_capacity(self.layers.len());
        let mut cns = Vec::with_capacity(self.layers.len());
        for (l, p) in self.layers.iter().enumerate() {
            let h_init = layer_state(h0, l)?;
            let c_init = layer_state(c0, l)?;
            let packed = kernel::run_layer(
                self.kind,
                [&input, &p.w_ih, &p.w_hh, &p.b_ih, &p.b_hh, &h_init, &c_init],
            )?;
            // Packed layout: slot 0 = h0, slots 1..=T the outputs (slot T = h_n), T + 1 = c_n.
            input = packed.narrow(1, 1, t)?;
            hns.push(slot::slot(&packed, t)?.reshape(&[1, b, hs])?);
            if self.kind == CellKind::Lstm {
                cns.push(slot::slot(&packed, t + 1)?.reshape(&[1, b, hs])?);
            }
        }
        let h_n = if hns.len() == 1 {
            hns.pop().expect("one layer")
        } else {
            Var::concat(&hns, 0)?
        };
        let c_n = match cns.len() {
            0 => None,
            1 => cns.pop(),
            _ => Some(Var::concat(&cns, 0)?),
        };
        Ok(RnnOutput {
            output: input,
            h_n,
            c_n,
        })
    }
}

impl Module for Recurrent {
    /// The top layer's output at every step, `[B, T, H]`, from zero initial states.
    fn forward(&self, x: &Var) -> Result<Var> {
        Ok(self.forward_with_state(x, None, None)?.output)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut out = Vec::new();
        for (l, p) in self.layers.iter().enumerate() {
            out.push((format!("weight_ih_l{l}"), p.w_ih.clone()));
            out.push((format!("weight_hh_l{l}"), p.w_hh.clone()));
            if self.bias {
                out.push((format!("bias_ih_l{l}"), p.b_ih.clone()));
                out.push((format!("bias_hh_l{l}"), p.b_hh.clone()));
            }
        }
        out
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        Self::name_of(self.kind)
    }
}
