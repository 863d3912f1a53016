//! LIME for images (the `lime` package's `LimeImageExplainer`).

use ndarray::{Array1, Array2, ArrayView1};

use super::kernel;
use super::segmentation::{segment, ImageShape, Segmentation};
use crate::error::{ExplainError, Result};
use crate::linalg::weighted_ridge;
use crate::predictor::{
    check_matrix, check_target, predict_chunked, Predictor, DEFAULT_MAX_BATCH_ROWS,
};
use crate::rng::Rng;

const OP: &str = "lime_image";

/// What replaces a switched-off superpixel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HideValue {
    /// The superpixel's own mean per channel (`lime`'s default, `hide_color=None`).
    SegmentMean,
    /// A constant.
    Constant(f64),
}

/// Settings of [`lime_image`].
#[derive(Debug, Clone, PartialEq)]
pub struct LimeImageConfig {
    /// Perturbed images (the unperturbed image is the first).
    pub n_samples: usize,
    /// Superpixel method.
    pub segmentation: Segmentation,
    /// Fill of hidden superpixels.
    pub hide: HideValue,
    /// Kernel width on the cosine distance (`lime` default 0.25).
    pub kernel_width: f64,
    /// Ridge penalty of the surrogate.
    pub alpha: f64,
    /// Seed.
    pub seed: u64,
    /// Cap on rows per predictor call.
    pub max_batch_rows: usize,
}

impl Default for LimeImageConfig {
    fn default() -> Self {
        LimeImageConfig {
            n_samples: 1000,
            segmentation: Segmentation::Slic {
                n_segments: 50,
                compactness: 0.1,
                iterations: 10,
            },
            hide: HideValue::SegmentMean,
            kernel_width: 0.25,
            alpha: 1.0,
            seed: 0,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
        }
    }
}

/// A LIME explanation of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct LimeImageExplanation {
    /// Superpixel of every pixel (`height · width`, row-major).
    pub segments: Vec<usize>,
    /// Surrogate coefficient per superpixel.
    pub weights: Array1<f64>,
    /// Surrogate intercept.
    pub intercept: f64,
    /// Weighted R² of the surrogate.
    pub r2: f64,
    /// Each pixel's superpixel weight (`height · width`), ready for a heatmap.
    pub pixel_attributions: Array1<f64>,
}

/// Explains output `target` for one image given as a flattened `[C, H, W]` row.
///
/// Random on/off patterns of superpixels (first all on) are rendered, weighted by
/// `sqrt(exp(−d²/width²))` of their cosine distance to the all-on pattern, and a weighted
/// ridge regression of the model output on the pattern is fitted.
pub fn lime_image<P: Predictor + ?Sized>(
    predictor: &P,
    image: ArrayView1<f64>,
    shape: ImageShape,
    target: usize,
    config: &LimeImageConfig,
) -> Result<LimeImageExplanation> {
    shape.check(OP, image.len())?;
    check_matrix(OP, "image", image.insert_axis(ndarray::Axis(0)))?;
    if config.n_samples < 2 || config.kernel_width.is_nan() || config.kernel_width <= 0.0 {
        return Err(ExplainError::invalid(
            OP,
            "n_samples / kernel_width",
            "need n_samples >= 2 and kernel_width > 0",
        ));
    }
    let segments = segment(image, shape, &config.segmentation)?;
    let k = segments.iter().max().map_or(0, |m| m + 1);
    let hw = shape.height * shape.width;
    // fill value per channel and segment
    let mut fill = Array2::zeros((shape.channels, k));
    match config.hide {
        HideValue::Constant(v) => fill.fill(v),
        HideValue::SegmentMean => {
            let mut counts = vec![0.0; k];
            segments.iter().for_each(|&s| counts[s] += 1.0);
            for c in 0..shape.channels {
                for p in 0..hw {
                    fill[[c, segments[p]]] += image[c * hw + p] / counts[segments[p]];
                }
            }
        }
    }
    let n = config.n_samples;
    let mut rng = Rng::new(config.seed);
    let mut z = Array2::<f64>::ones((n, k));
    for i in 1..n {
        for s in 0..k {
            z[[i, s]] = if rng.uniform() < 0.5 { 0.0 } else { 1.0 };
        }
    }
    let mut data = Array2::zeros((n, image.len()));
    for i in 0..n {
        let mut row = data.row_mut(i);
        for c in 0..shape.channels {
            for p in 0..hw {
                let s = segments[p];
                row[c * hw + p] = if z[[i, s]] > 0.5 {
                    image[c * hw + p]
                } else {
                    fill[[c, s]]
                };
            }
        }
    }
    let y = predict_chunked(OP, predictor, data.view(), None, config.max_batch_rows)?;
    check_target(OP, target, y.ncols())?;
    let sqrt_k = (k as f64).sqrt();
    let weights: Array1<f64> = z
        .outer_iter()
        .map(|r| {
            let on = r.sum();
            // cosine distance to the all-ones vector; an all-off pattern is at distance 1
            let d = if on > 0.0 {
                1.0 - on / (on.sqrt() * sqrt_k)
            } else {
                1.0
            };
            kernel(d, config.kernel_width)
        })
        .collect();
    let fit = weighted_ridge(OP, z.view(), y.column(target), weights.view(), config.alpha)?;
    let pixel_attributions = segments.iter().map(|&s| fit.coef[s]).collect();
    Ok(LimeImageExplanation {
        segments,
        weights: fit.coef,
        intercept: fit.intercept,
        r2: fit.r2,
        pixel_attributions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayView2, Axis};

    #[test]
    fn model_reading_one_quadrant_credits_only_that_superpixel() {
        // 4x4 image, 2x2 grid cells; the model sums the top-left cell.
        let shape = ImageShape {
            channels: 1,
            height: 4,
            width: 4,
        };
        let img = Array1::from_shape_fn(16, |p| 1.0 + p as f64);
        let f = |x: ArrayView2<f64>| {
            (&(&x.column(0) + &x.column(1)) + &(&x.column(4) + &x.column(5))).insert_axis(Axis(1))
        };
        let cfg = LimeImageConfig {
            n_samples: 400,
            segmentation: Segmentation::Grid {
                cell_height: 2,
                cell_width: 2,
            },
            hide: HideValue::Constant(0.0),
            alpha: 1e-6,
            ..Default::default()
        };
        let e = lime_image(&f, img.view(), shape, 0, &cfg).unwrap();
        // the model is exactly linear in the on/off pattern: f = 14·z0
        assert!((e.weights[0] - 14.0).abs() < 1e-6, "{:?}", e.weights);
        assert!(e.weights.iter().skip(1).all(|w| w.abs() < 1e-6));
        assert!((e.r2 - 1.0).abs() < 1e-9);
        assert_eq!(e.pixel_attributions[5], e.weights[0]);
    }
}
