//! Self-contained HTML reports for glassbox.
//!
//! Fill a [`Report`] with plain data (training history, metrics, confusion matrix,
//! cross-validation scores, image attribution maps, feature importances, extracted rules and
//! explanation checks) and call [`Report::write_html`]. The result is **one** HTML file with
//! inline CSS, hand-written inline SVG charts and PNG heatmaps embedded as `data:` URIs: it
//! opens offline, prints cleanly and can be mailed as a single attachment. Sections without
//! data are left out. This crate depends on no model crate, so any producer can fill it.
//!
//! ```
//! use glassbox_report::{ConfusionMatrix, EpochRecord, Report, TestMetrics, TrainingHistory};
//!
//! let report = Report {
//!     title: "Digits classifier".into(),
//!     history: Some(TrainingHistory {
//!         epochs: (1..=3)
//!             .map(|e| EpochRecord {
//!                 epoch: e,
//!                 train_loss: Some(1.0 / e as f64),
//!                 val_loss: Some(1.2 / e as f64),
//!                 ..Default::default()
//!             })
//!             .collect(),
//!     }),
//!     test_metrics: Some(TestMetrics { accuracy: Some(0.97), ..Default::default() }),
//!     confusion: Some(ConfusionMatrix {
//!         classes: vec!["0".into(), "1".into()],
//!         counts: vec![vec![48, 2], vec![1, 49]],
//!     }),
//!     ..Default::default()
//! };
//! let html = report.render_html();
//! assert!(html.contains("id=\"training\"") && html.contains("id=\"evaluation\""));
//! assert!(!html.contains("id=\"rules\""));
//!
//! let dir = std::env::temp_dir().join("glassbox-report-doctest");
//! let path = report.write_html(dir.join("report.html"))?;
//! assert!(std::fs::read_to_string(&path)?.starts_with("<!DOCTYPE html>"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Texts get a page of their own: [`TextExplanations`] (tokens highlighted by each method's
//! scores with the same diverging colormap, a method switcher, the score on hover) and a
//! [`FaithfulnessTable`].
//!
//! The PNG helpers [`grayscale_png`] and [`heatmap_overlay_png`] and the SVG charts in
//! [`svg`] are public so a command-line tool can also write the pictures as separate files.

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod base64;
mod colormap;
mod error;
mod escape;
mod html;
mod model;
mod model_text;
mod png_image;
pub mod svg;
mod validate;
mod write;

pub use base64::{base64_encode, data_uri};
pub use colormap::{abs_quantile, Colormap};
pub use error::ReportError;
pub use escape::escape_html;
pub use html::{SECTION_IDS, TEXT_SECTION_IDS};
pub use model::{
    trapezoid, AttributionMap, ClassMetrics, ConfusionMatrix, CrossValidation, CurveKind,
    CurveSeries, CvMetric, DatasetSummary, EpochRecord, ExplanationChecks, FeatureChart,
    FeatureValue, GrayImage, ImageExplanation, ModelSummary, PerturbationCurve, Report, Rule,
    RuleSet, SanityCheck, TestMetrics, TrainingHistory,
};
pub use model_text::{
    FaithfulnessEntry, FaithfulnessTable, NamedValue, TextAttribution, TextExplanations,
    TextSample, TokenScore,
};
pub use png_image::{colorbar_png, grayscale_png, heatmap_overlay_png, rgb_png, MAX_UPSCALE};
pub use validate::MAX_IMAGE_SIDE;
pub use write::write_atomic;
