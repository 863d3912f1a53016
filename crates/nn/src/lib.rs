//! Neural-network building blocks for glassbox: the [`Module`] trait, layers with
//! PyTorch's names, layouts and default initialisation, fused losses, recurrent layers,
//! attention and Transformer layers ([`attention`]), and versioned, checksummed model
//! files.
//!
//! ```
//! use glassbox_autograd::Var;
//! use glassbox_nn::{cross_entropy, Activation, CrossEntropyOptions, Linear, Module, Sequential};
//! use glassbox_tensor::{rng::Rng, Tensor};
//!
//! let mut rng = Rng::new(0);
//! let model = Sequential::new()
//!     .add(Linear::new(4, 8, true, &mut rng)?)
//!     .add(Activation::relu())
//!     .add(Linear::new(8, 3, true, &mut rng)?);
//! let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
//!
//! let x = Var::constant(Tensor::rand_normal(&[5, 4], 0.0, 1.0, &mut rng));
//! let loss = cross_entropy(&model.forward(&x)?, &[0, 1, 2, 0, 1], &CrossEntropyOptions::default())?;
//! loss.backward()?;
//! assert_eq!(model.named_parameters()[0].1.grad().unwrap().shape(), &[8, 4]);
//! # Ok::<(), glassbox_nn::NnError>(())
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod attention;
mod error;
pub mod init;
pub mod io;
pub mod layers;
pub mod loss;
pub mod module;
pub mod rnn;

pub use attention::{
    scaled_dot_product_attention, AttentionOptions, KvCache, Mask, MhaConfig, MultiheadAttention,
    PositionalEmbedding, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer, TransformerLayerConfig,
};
pub use error::{NnError, Result};
pub use io::{StateDict, TensorRecord};
pub use layers::*;
pub use loss::{
    bce_with_logits, cross_entropy, huber_loss, l1_loss, mse_loss, nll_loss, smooth_l1_loss,
    CrossEntropyOptions, Reduction,
};
pub use module::{get_submodule, load, load_state_dict, named_modules, save, state_dict, Module};
pub use rnn::{CellKind, Gru, Lstm, Recurrent, Rnn, RnnOutput};
