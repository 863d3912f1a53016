//! The portable seeded generator of every stochastic method in this crate.
//!
//! Every stochastic method takes a `seed: u64`, so results are reproducible on every machine.
//! Parallel work derives one generator per task with [`Rng::derive`]. The generator is the
//! workspace's one, [`glassbox_tensor::rng::Rng`] (xoshiro256++), re-exported here.

pub use glassbox_tensor::rng::{cumulative, Rng};
