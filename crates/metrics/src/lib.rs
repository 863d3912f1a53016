//! # glassbox-metrics
//!
//! Classification, ranking and regression metrics that follow scikit-learn's definitions.

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
