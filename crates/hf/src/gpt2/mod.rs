//! GPT-2 from a Hugging Face directory ([`Gpt2LmHeadModel`]) and text generation.

mod generate;
mod model;

pub use generate::{Decoding, GenerateOptions, Generated, StopReason};
pub use model::{Gpt2Cache, Gpt2LmHeadModel};
