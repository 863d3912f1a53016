//! Composition: a [`Pipeline`] of numeric steps and a [`ColumnTransformer`] that maps a
//! [`Table`](crate::Table) to a model-ready matrix. Both are fitted once and then applied
//! unchanged; the fitted forms serialise with serde so a served model applies exactly the
//! training-time preprocessing.

mod columns;
mod pipeline;

pub use columns::{
    ColumnGroup, ColumnStep, ColumnTransformer, FittedColumnStep, FittedColumnTransformer,
    MissingCategory, Remainder,
};
pub use pipeline::{FittedPipeline, FittedStep, Pipeline, Step};
