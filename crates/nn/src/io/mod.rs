//! Model files: a versioned, checksummed binary envelope around a bincode [`StateDict`].

pub mod crc32;
pub mod envelope;
mod record;

pub use record::{
    bincode_options, decode_payload, StateDict, TensorRecord, MODEL_FORMAT_VERSION, MODEL_MAGIC,
};
