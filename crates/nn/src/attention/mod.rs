//! Attention and Transformer layers with PyTorch's semantics, names and layouts.
//!
//! - [`scaled_dot_product_attention`]: the one attention every layer here (and the
//!   Hugging Face models built on them) calls. With a graph it is a differentiable
//!   probabilities op and a batched product; without one, a fused kernel that reads heads
//!   where the projections put them and writes the merged output directly.
//! - [`MultiheadAttention`] (`torch.nn.MultiheadAttention`): packed `in_proj_weight
//!   [3E, E]`, `batch_first = false` by default, boolean masks where `true` excludes,
//!   additive float masks, averaged or per-head weights, `is_causal`.
//! - [`TransformerEncoderLayer`], [`TransformerDecoderLayer`] and the stacks
//!   [`TransformerEncoder`], [`TransformerDecoder`]; post- or pre-norm, ReLU or GELU (erf
//!   or tanh), per-head attention weights on request.
//! - [`KvCache`] for incremental causal decoding (`forward_cached`), and
//!   [`PositionalEmbedding`] with an offset for decoding.
//!
//! ```
//! use glassbox_autograd::{no_grad, Var};
//! use glassbox_nn::attention::{
//!     EncoderOptions, KvCache, TransformerEncoderLayer, TransformerLayerConfig,
//! };
//! use glassbox_nn::{ActivationKind, Module};
//! use glassbox_tensor::{rng::Rng, Tensor};
//!
//! let mut rng = Rng::new(0);
//! // A GPT-2-style block: pre-norm, tanh GELU, causal, batch-first.
//! let cfg = TransformerLayerConfig {
//!     dim_feedforward: 32,
//!     dropout: 0.0,
//!     activation: ActivationKind::GeluTanh,
//!     batch_first: true,
//!     norm_first: true,
//!     ..TransformerLayerConfig::new(8, 2)
//! };
//! let layer = TransformerEncoderLayer::new(cfg, &mut rng)?;
//! assert_eq!(layer.named_parameters()[0].0, "self_attn.in_proj_weight");
//!
//! let x = Var::constant(Tensor::rand_normal(&[1, 5, 8], 0.0, 1.0, &mut rng));
//! let causal = EncoderOptions { is_causal: true, need_weights: true, ..Default::default() };
//! let full = layer.forward_with(&x, &causal)?;
//! assert_eq!(full.attn_weights.unwrap().shape(), vec![1, 2, 5, 5]);
//!
//! // The same sequence decoded in two pieces with a key/value cache.
//! let mut cache = KvCache::new();
//! let first = no_grad(|| layer.forward_cached(&x.narrow(1, 0, 3)?, &mut cache, &causal))?;
//! let rest = no_grad(|| layer.forward_cached(&x.narrow(1, 3, 2)?, &mut cache, &causal))?;
//! let tail = full.output.value().narrow(1, 3, 2);
//! assert!(rest.output.value().allclose(&tail, 1e-5, 1e-5));
//! assert_eq!(first.output.shape(), vec![1, 3, 8]);
//! # Ok::<(), glassbox_nn::NnError>(())
//! ```

mod config;
mod decoder;
mod encoder;
mod kv_cache;
mod mask;
mod mha;
mod positional;
mod sdpa;
mod stack;

pub use config::TransformerLayerConfig;
pub use decoder::{DecoderLayerOutput, DecoderOptions, TransformerDecoderLayer};
pub use encoder::{EncoderOptions, LayerOutput, TransformerEncoderLayer};
pub use kv_cache::KvCache;
pub use mask::Mask;
pub use mha::{AttentionOptions, MhaConfig, MhaOutput, MultiheadAttention};
pub use positional::PositionalEmbedding;
pub use sdpa::{scaled_dot_product_attention, PackedHeads, SdpaConfig, SdpaOutput};
pub use stack::{ModuleList, StackOutput, TransformerDecoder, TransformerEncoder};
