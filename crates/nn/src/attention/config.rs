//! Configuration and the feed-forward block shared by the Transformer layers.

use std::sync::{Arc, Mutex};

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;

use super::mha::{MhaConfig, MultiheadAttention};
use crate::error::{NnError, Result};
use crate::layers::{ActivationKind, Dropout, LayerNorm, Linear, SharedRng};
use crate::module::Module;

/// Construction parameters of [`TransformerEncoderLayer`](super::TransformerEncoderLayer)
/// and [`TransformerDecoderLayer`](super::TransformerDecoderLayer), as PyTorch's arguments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransformerLayerConfig {
    /// Model width.
    pub d_model: usize,
    /// Attention heads.
    pub nhead: usize,
    /// Hidden width of the feed-forward block (PyTorch default 2048).
    pub dim_feedforward: usize,
    /// Dropout after attention, inside and after the feed-forward block, and on the
    /// attention probabilities (PyTorch default 0.1).
    pub dropout: f32,
    /// Feed-forward activation: `Relu` (default), `Gelu` (erf, BERT) or `GeluTanh` (GPT-2).
    pub activation: ActivationKind,
    /// LayerNorm epsilon (default 1e-5; BERT uses 1e-12).
    pub layer_norm_eps: f32,
    /// Inputs `[B, L, E]` when true, else `[L, B, E]` (default false).
    pub batch_first: bool,
    /// Pre-norm (`x + f(norm(x))`, GPT-2) when true, post-norm (`norm(x + f(x))`, BERT and
    /// PyTorch's default) when false.
    pub norm_first: bool,
    /// Biases in the linear layers and LayerNorms (default true).
    pub bias: bool,
}

impl TransformerLayerConfig {
    /// PyTorch's defaults for `d_model` and `nhead`.
    pub fn new(d_model: usize, nhead: usize) -> Self {
        TransformerLayerConfig {
            d_model,
            nhead,
            dim_feedforward: 2048,
            dropout: 0.1,
            activation: ActivationKind::Relu,
            layer_norm_eps: 1e-5,
            batch_first: false,
            norm_first: false,
            bias: true,
        }
    }

    pub(crate) fn check(&self, layer: &'static str) -> Result<()> {
        let bad = |field, reason: String| {
            Err(NnError::InvalidConfig {
                layer,
                field,
                reason,
            })
        };
        match self.activation {
            ActivationKind::Relu | ActivationKind::Gelu | ActivationKind::GeluTanh => {}
            other => {
                return bad(
                    "activation",
                    format!("{other:?} is not relu, gelu or gelu_tanh"),
                )
            }
        }
        if self.dim_feedforward == 0 {
            return bad("dim_feedforward", "must be > 0".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is outside [0, 1)", self.dropout));
        }
        if self.layer_norm_eps.is_nan() || self.layer_norm_eps <= 0.0 {
            return bad(
                "layer_norm_eps",
                format!("{} must be > 0", self.layer_norm_eps),
            );
        }
        Ok(())
    }

    /// A fresh attention block for this configuration.
    pub(crate) fn attention(
        &self,
        rng: &mut Rng,
        shared: &SharedRng,
    ) -> Result<MultiheadAttention> {
        MultiheadAttention::new(
            MhaConfig {
                embed_dim: self.d_model,
                num_heads: self.nhead,
                bias: self.bias,
                batch_first: self.batch_first,
                dropout: 0.0,
            },
            rng,
        )?
        .with_dropout(self.dropout, shared.clone())
    }

    pub(crate) fn norm(&self) -> Result<LayerNorm> {
        let n = LayerNorm::new(&[self.d_model])?.with_eps(self.layer_norm_eps);
        Ok(if self.bias { n } else { n.without_bias() })
    }
}

/// `linear2(dropout(activation(linear1(x))))` followed by its own dropout, and the
/// dropouts around the attention blocks.
#[derive(Debug)]
pub(crate) struct FeedForward {
    pub linear1: Linear,
    pub linear2: Linear,
    pub activation: ActivationKind,
    /// Inside the feed-forward block.
    pub dropout: Dropout,
    /// After each sub-block (`dropout1`, `dropout2`, `dropout3` in PyTorch).
    pub residual_dropouts: Vec<Dropout>,
}

impl FeedForward {
    pub fn new(
        cfg: &TransformerLayerConfig,
        blocks: usize,
        rng: &mut Rng,
        shared: &SharedRng,
    ) -> Result<Self> {
        let linear1 = Linear::new(cfg.d_model, cfg.dim_feedforward, cfg.bias, rng)?;
        let linear2 = Linear::new(cfg.dim_feedforward, cfg.d_model, cfg.bias, rng)?;
        Self::from_linears(
            linear1,
            linear2,
            cfg.activation,
            cfg.dropout,
            blocks,
            shared,
        )
    }

    pub fn from_linears(
        linear1: Linear,
        linear2: Linear,
        activation: ActivationKind,
        p: f32,
        blocks: usize,
        shared: &SharedRng,
    ) -> Result<Self> {
        let residual_dropouts = (0..blocks)
            .map(|_| Dropout::with_rng(p, shared.clone()))
            .collect::<Result<Vec<_>>>()?;
        Ok(FeedForward {
            linear1,
            linear2,
            activation,
            dropout: Dropout::with_rng(p, shared.clone())?,
            residual_dropouts,
        })
    }

    /// The block on `x` (handed over: without a graph the activation runs inside the
    /// first product and no intermediate is copied).
    pub fn forward(&self, x: Var) -> Result<Var> {
        let h = self.linear1.forward_owned_activated(x, self.activation)?;
        let h = self.dropout.forward_owned(h)?;
        let y = self.linear2.forward_owned(h)?;
        self.residual_dropouts
            .last()
            .expect("at least one block")
            .forward_owned(y)
    }

    /// Dropout after sub-block `i` (0 = self-attention).
    pub fn residual(&self, i: usize, x: Var) -> Result<Var> {
        self.residual_dropouts[i].forward_owned(x)
    }

    pub fn set_training(&mut self, training: bool) {
        self.linear1.set_training(training);
        self.linear2.set_training(training);
        self.dropout.set_training(training);
        for d in &mut self.residual_dropouts {
            d.set_training(training);
        }
    }
}

/// A dropout generator for one layer, seeded from `rng`.
pub(crate) fn layer_rng(rng: &mut Rng) -> SharedRng {
    Arc::new(Mutex::new(Rng::new(rng.next_u64())))
}

/// Checks that given parts fit together (widths of the linears against `d_model`).
pub(crate) fn check_parts(
    layer: &'static str,
    d_model: usize,
    linear1: &Linear,
    linear2: &Linear,
) -> Result<()> {
    if linear1.in_features() != d_model
        || linear2.out_features() != d_model
        || linear2.in_features() != linear1.out_features()
    {
        return Err(NnError::InvalidConfig {
            layer,
            field: "linear1/linear2",
            reason: format!(
                "linear1 {}→{} and linear2 {}→{} do not fit d_model {d_model}",
                linear1.in_features(),
                linear1.out_features(),
                linear2.in_features(),
                linear2.out_features()
            ),
        });
    }
    Ok(())
}
