//! Integration tests of glassbox-nn, in one binary to keep link time down.

mod common;
mod losses;
mod model_file;
mod properties;
mod reference;
