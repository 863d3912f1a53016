//! Integration tests of glassbox-tensor (one binary): kernel oracles as proptest
//! properties, and PyTorch reference values.

mod properties;
mod reference;
