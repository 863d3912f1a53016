//! Integration tests of glassbox-autograd (one binary, several modules).

mod common;
mod graph;
mod props;
mod props_nn;
mod reference;
mod strategies;
