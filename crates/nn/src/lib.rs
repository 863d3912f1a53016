//! Neural-network building blocks for glassbox (work in progress: model files first).
#![deny(missing_docs)]
