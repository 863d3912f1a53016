//! Integration tests of glassbox-metrics, in one binary to keep link time down.

mod cv;
mod properties;
mod reference;
