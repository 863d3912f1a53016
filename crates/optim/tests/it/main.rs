//! Integration tests of glassbox-optim, in one binary to keep link time down.

mod checkpoint;
mod properties;
mod reference;
mod schedules;
