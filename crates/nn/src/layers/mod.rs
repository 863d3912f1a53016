//! Layers: each a [`Module`](crate::Module) with PyTorch's parameter names and layouts.

mod activation;
mod dropout;
mod embedding;
mod flatten;
mod linear;
mod norm;
mod sequential;

pub use activation::{apply as apply_activation, Activation, ActivationKind};
pub use dropout::{Dropout, SharedRng};
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use linear::Linear;
pub use norm::{BatchNorm, LayerNorm};
pub use sequential::Sequential;
