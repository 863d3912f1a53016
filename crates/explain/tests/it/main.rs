//! Integration tests of glassbox-explain, in one binary to keep link time down.

mod gradient_common;
mod gradient_mnist;
mod gradient_properties;
mod gradient_reference;
mod properties;
mod real_data;
mod reference;
