//! safetensors files, read and written with the format's own `safetensors` crate.
//!
//! Reading validates the whole header first (length field against the file size, UTF-8,
//! JSON, every tensor's dtype × shape against its byte range, ranges tiling the data
//! section exactly); only then are tensor buffers allocated, each read straight from the
//! file. F32, F16, BF16 (and F64, I64, I32) become f32 tensors. Writing supports F32, F16,
//! BF16 and I64 and is atomic.

mod convert;
mod read;
mod write;

pub use read::{SafetensorsFile, TensorEntry, MAX_HEADER_BYTES};
pub use safetensors::Dtype;
pub use write::{serialize_safetensors, write_safetensors, TensorToWrite};

#[cfg(test)]
mod tests;
