//! # glassbox-data
//!
//! Where messy data becomes model-ready, with no dependency on autograd:
//!
//! - **Loading**: [`read_csv`] into a typed [`Table`] (numeric / categorical / text columns
//!   inferred, overridable, with missing-value tokens); [`idx`] for MNIST-format files.
//! - **Cleaning**: [`Table::drop_missing_rows`], [`Table::drop_missing_columns`],
//!   [`Table::drop_duplicates`], [`Table::drop_constant_columns`]; imputers in [`preprocess`].
//! - **Preprocessing**: scalers, normaliser, imputer, one-hot / ordinal / label encoders and
//!   a variance filter, all fitted once and applied unchanged ([`preprocess`]).
//! - **Composition**: [`compose::Pipeline`] and [`compose::ColumnTransformer`], serde-serialisable.
//! - **Splits**: [`split::train_test_split`], [`split::KFold`], [`split::StratifiedKFold`].
//! - **Conversion**: [`convert::to_f32`], [`convert::one_hot`], [`convert::argmax_rows`] for
//!   moving between `f64` tables and `f32` models; [`Table::cast`] between column types.
//! - **Batching**: the [`Dataset`] trait and a [`DataLoader`] with seeded per-epoch
//!   shuffles, `drop_last` and parallel preparation of upcoming batches.
//!
//! Numbers follow scikit-learn's definitions (population variance, NumPy's linear
//! percentiles, NaN as missing). Errors are [`DataError`] values naming the file, row and
//! column at fault; nothing panics on bad input.
//!
//! ```
//! use glassbox_data::{read_csv_bytes, CsvOptions, ColumnType};
//! use glassbox_data::preprocess::{Fit, Transform, StandardScaler};
//!
//! let csv = "height,color\n1.5,red\n?,blue\n2.5,red\nNA,red\n";
//! let table = read_csv_bytes(csv.as_bytes(), "example.csv", &CsvOptions::default())?;
//! assert_eq!(table.column_types(), vec![ColumnType::Numeric, ColumnType::Categorical]);
//! assert_eq!(table.column("height")?.missing_count(), 2);
//!
//! let x = table.to_array(&["height"])?;            // missing values become NaN
//! let scaler = StandardScaler::default().fit(x.view())?;
//! let z = scaler.transform(x.view())?;
//! assert_eq!(z[[0, 0]], -1.0);                     // mean 2, std 0.5
//! assert!(z[[1, 0]].is_nan());
//! # Ok::<(), glassbox_data::DataError>(())
//! ```

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod compose;
pub mod convert;
mod error;
pub mod idx;
mod loader;
pub mod preprocess;
pub mod rng;
pub mod split;
mod table;

pub use error::{DataError, Result};
pub use loader::{shard_range, ArrayDataset, DataLoader, Dataset, EpochIter, LoaderConfig};
pub use table::{
    read_csv, read_csv_bytes, Column, ColumnData, ColumnSummary, ColumnType, CsvOptions, Head,
    Summary, Table, Value,
};
