//! Neural-network building blocks for glassbox (work in progress: model files first).
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod error;
pub mod io;

pub use error::{NnError, Result};
pub use io::{StateDict, TensorRecord};
