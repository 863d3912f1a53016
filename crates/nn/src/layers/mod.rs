//! Layers: each a [`Module`](crate::Module) with PyTorch's parameter names and layouts.

pub(crate) mod activation;
mod conv;
mod dropout;
mod embedding;
mod flatten;
pub(crate) mod linear;
mod norm;
mod pool;
pub mod replica;
mod sequential;

pub use activation::{apply as apply_activation, Activation, ActivationKind};
pub use conv::{Conv1d, Conv2d, Conv2dConfig};
pub use dropout::{Dropout, SharedRng};
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use linear::Linear;
pub use norm::{BatchNorm, LayerNorm};
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, MaxPool2d};
pub use replica::{
    all_reduce_sum, current_replicas, sync_batch_statistics, ReplicaSum, SyncBatchStatistics,
};
pub use sequential::Sequential;
