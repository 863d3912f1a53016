//! Attribution heatmaps over grayscale images, written as PNG.

use std::path::Path;

use ndarray::{Array2, ArrayView2};

use glassbox_report::Colormap;

use crate::error::{ExplainError, Result};

const OP: &str = "heatmap_png";

/// Settings of [`heatmap_png`].
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapConfig {
    /// Each image pixel becomes a `scale × scale` block (e.g. 10 for 28×28 MNIST).
    pub scale: usize,
    /// Opacity of the colour where |attribution| is largest (0 shows only the image).
    pub max_alpha: f64,
    /// Value mapped to full colour; `None` uses the largest |attribution|.
    pub vmax: Option<f64>,
}

impl Default for HeatmapConfig {
    fn default() -> Self {
        HeatmapConfig {
            scale: 8,
            max_alpha: 0.75,
            vmax: None,
        }
    }
}

/// Bilinear resize of `a` to `height × width` with half-pixel centres (PyTorch
/// `interpolate(mode="bilinear", align_corners=False)`); used to lay a Grad-CAM map over
/// its input. An empty `a` gives zeros.
pub fn upsample_bilinear(a: ArrayView2<f64>, height: usize, width: usize) -> Array2<f64> {
    let (h, w) = a.dim();
    if h == 0 || w == 0 {
        return Array2::zeros((height, width));
    }
    let coord = |o: usize, n_in: usize, n_out: usize| -> (usize, usize, f64) {
        let src = ((o as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        (i0, i1, src - i0 as f64)
    };
    Array2::from_shape_fn((height, width), |(r, c)| {
        let (r0, r1, fr) = coord(r, h, height);
        let (c0, c1, fc) = coord(c, w, width);
        let top = a[[r0, c0]] * (1.0 - fc) + a[[r0, c1]] * fc;
        let bottom = a[[r1, c0]] * (1.0 - fc) + a[[r1, c1]] * fc;
        top * (1.0 - fr) + bottom * fr
    })
}

/// Encodes 8-bit RGB pixels (`width · height · 3` bytes, row-major) as a PNG file in memory.
pub fn encode_png(rgb: &[u8], width: usize, height: usize) -> Result<Vec<u8>> {
    if rgb.len() != width * height * 3 || width == 0 || height == 0 {
        return Err(ExplainError::ShapeMismatch {
            op: "encode_png",
            what: "rgb buffer",
            expected: vec![height, width, 3],
            found: vec![rgb.len()],
        });
    }
    glassbox_report::rgb_png(rgb, width, height, "heatmap").map_err(|e| ExplainError::Io {
        op: "encode_png",
        path: "<memory>".into(),
        reason: e.to_string(),
    })
}

/// Renders `attributions` over a grayscale `image` (both `[height, width]`; an
/// attribution map of another size, such as a Grad-CAM map, is upsampled bilinearly).
///
/// The image is min–max scaled to gray; each pixel is blended with the report's diverging
/// colour ([`Colormap::Diverging`], ColorBrewer RdBu, 11 classes; the same colours as the
/// HTML report)
/// of `attribution / vmax` at opacity `max_alpha · |attribution| / vmax`, so positive
/// evidence shows red, negative blue, and unimportant pixels keep the input visible.
/// Returns the PNG bytes.
pub fn heatmap_png(
    image: ArrayView2<f64>,
    attributions: ArrayView2<f64>,
    config: &HeatmapConfig,
) -> Result<Vec<u8>> {
    let (h, w) = image.dim();
    if h == 0 || w == 0 || attributions.is_empty() {
        return Err(ExplainError::Empty {
            op: OP,
            what: "image or attributions",
        });
    }
    if config.scale == 0 || !(0.0..=1.0).contains(&config.max_alpha) {
        return Err(ExplainError::invalid(
            OP,
            "scale / max_alpha",
            "need scale >= 1 and 0 <= max_alpha <= 1",
        ));
    }
    crate::predictor::check_finite(OP, "image", image)?;
    crate::predictor::check_finite(OP, "attributions", attributions)?;
    let attr = if attributions.dim() == (h, w) {
        attributions.to_owned()
    } else {
        upsample_bilinear(attributions, h, w)
    };
    let lo = image.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = image.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let vmax = config
        .vmax
        .unwrap_or_else(|| attr.iter().fold(0.0f64, |m, v| m.max(v.abs())));
    let vmax = if vmax > 0.0 { vmax } else { 1.0 };
    let s = config.scale;
    let (oh, ow) = (h * s, w * s);
    let mut rgb = vec![0u8; oh * ow * 3];
    for r in 0..h {
        for c in 0..w {
            let g = if hi > lo {
                (image[[r, c]] - lo) / (hi - lo)
            } else {
                0.0
            } * 255.0;
            let v = (attr[[r, c]] / vmax).clamp(-1.0, 1.0);
            let col = Colormap::Diverging.rgb(Colormap::Diverging.position(v, 1.0));
            let a = config.max_alpha * v.abs();
            let px: Vec<u8> = col
                .iter()
                .map(|&cc| ((1.0 - a) * g + a * cc as f64).round().clamp(0.0, 255.0) as u8)
                .collect();
            for dr in 0..s {
                for dc in 0..s {
                    let o = ((r * s + dr) * ow + c * s + dc) * 3;
                    rgb[o..o + 3].copy_from_slice(&px);
                }
            }
        }
    }
    encode_png(&rgb, ow, oh)
}

/// [`heatmap_png`] written to `path`.
pub fn write_heatmap_png(
    path: impl AsRef<Path>,
    image: ArrayView2<f64>,
    attributions: ArrayView2<f64>,
    config: &HeatmapConfig,
) -> Result<()> {
    let bytes = heatmap_png(image, attributions, config)?;
    std::fs::write(path.as_ref(), bytes).map_err(|e| ExplainError::Io {
        op: "write_heatmap_png",
        path: path.as_ref().display().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn decode(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    #[test]
    fn png_round_trip_and_colours() {
        let img = array![[0.0, 1.0], [0.5, 0.0]];
        let attr = array![[1.0, 0.0], [0.0, -1.0]];
        let cfg = HeatmapConfig {
            scale: 2,
            max_alpha: 1.0,
            vmax: None,
        };
        let (w, h, px) = decode(&heatmap_png(img.view(), attr.view(), &cfg).unwrap());
        assert_eq!((w, h), (4, 4));
        // top-left: full red, the darkest red of ColorBrewer RdBu-11 (#67001f);
        // top-right: white input pixel, no attribution
        assert_eq!(&px[0..3], &[0x67, 0x00, 0x1f]);
        assert_eq!(&px[2 * 3..2 * 3 + 3], &[255, 255, 255]);
        // bottom-right block (row 2, col 2): full blue, RdBu-11's darkest blue (#053061)
        let o = (2 * 4 + 2) * 3;
        assert_eq!(&px[o..o + 3], &[0x05, 0x30, 0x61]);
    }

    #[test]
    fn bilinear_matches_hand_values() {
        // 1x2 → 1x4 with half-pixel centres: sources -0.25, 0.25, 0.75, 1.25 → clamp.
        let a = array![[0.0, 4.0]];
        let up = upsample_bilinear(a.view(), 1, 4);
        assert_eq!(up.row(0).to_vec(), vec![0.0, 1.0, 3.0, 4.0]);
    }
}
