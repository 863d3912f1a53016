//! Integration tests of glassbox-data, in one binary to keep link time down.

mod csv_errors;
mod datasets;
mod properties;
mod reference;
