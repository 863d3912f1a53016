//! The portable seeded generator used by shuffles, splits and the loader.
//!
//! It is the workspace's one generator, [`glassbox_tensor::rng::Rng`] (xoshiro256++ seeded
//! through SplitMix64), re-exported here so `glassbox_data::rng::Rng` keeps working. Shuffles
//! and splits give the same result on every machine and with every Rust version.

pub use glassbox_tensor::rng::Rng;
