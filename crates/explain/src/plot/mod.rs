//! Pictures of explanations: attribution heatmaps over images (PNG) and bar charts of
//! tabular attributions (SVG), ready to embed in an HTML report.

mod bar;
mod heatmap;

pub use bar::{bar_chart_svg, BarChartConfig};
pub use glassbox_report::Colormap;
pub use heatmap::{encode_png, heatmap_png, upsample_bilinear, write_heatmap_png, HeatmapConfig};
