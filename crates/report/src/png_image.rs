//! PNG encoding of grayscale inputs and heatmap overlays.

use crate::colormap::Colormap;
use crate::error::ReportError;
use crate::model::{AttributionMap, GrayImage};
use crate::validate::{check_image, check_map, MAX_IMAGE_SIDE};

/// Largest accepted integer upscaling factor.
pub const MAX_UPSCALE: u32 = 64;

/// Encodes `image` as an 8-bit grayscale PNG, each pixel blown up to an
/// `upscale × upscale` block (nearest neighbour, so pixels stay crisp at any zoom).
///
/// Intensities are mapped linearly from `image.value_range` (or the image's own min/max)
/// to black–white, inverted if `image.invert`.
pub fn grayscale_png(image: &GrayImage, upscale: u32) -> Result<Vec<u8>, ReportError> {
    check_image(image, "grayscale_png")?;
    let s = check_upscale(upscale, image.width, image.height, "grayscale_png")?;
    let gray = normalised_gray(image);
    let (w, h) = (image.width * s, image.height * s);
    let mut data = Vec::with_capacity(w * h);
    for oy in 0..h {
        let row = (oy / s) * image.width;
        for ox in 0..w {
            data.push(to_byte(gray[row + ox / s]));
        }
    }
    encode(&data, w, h, png::ColorType::Grayscale, "grayscale image")
}

/// Encodes `image` with `map` blended over it as an 8-bit RGB PNG of
/// `(width·upscale) × (height·upscale)` pixels.
///
/// The map may be coarser than the image (Grad-CAM): it is then upsampled bilinearly;
/// a map of the image's own size is shown pixel for pixel. Values are coloured with
/// [`AttributionMap::effective_colormap`] clipped at [`AttributionMap::color_limit`]; the
/// overlay's opacity grows with the attribution's magnitude, so unattributed pixels show the
/// plain (slightly dimmed) input.
pub fn heatmap_overlay_png(
    image: &GrayImage,
    map: &AttributionMap,
    upscale: u32,
) -> Result<Vec<u8>, ReportError> {
    check_image(image, "heatmap_overlay_png")?;
    check_map(map, &format!("heatmap_overlay_png ({:?})", map.method))?;
    let s = check_upscale(upscale, image.width, image.height, "heatmap_overlay_png")?;
    let gray = normalised_gray(image);
    let cmap = map.effective_colormap();
    let limit = map.color_limit();
    let (w, h) = (image.width * s, image.height * s);
    let same_grid = map.width == image.width && map.height == image.height;
    let mut data = Vec::with_capacity(w * h * 3);
    for oy in 0..h {
        for ox in 0..w {
            let g = gray[(oy / s) * image.width + ox / s];
            let v = if same_grid {
                f64::from(map.values[(oy / s) * map.width + ox / s])
            } else {
                bilinear(
                    map,
                    (ox as f64 + 0.5) / w as f64,
                    (oy as f64 + 0.5) / h as f64,
                )
            };
            let t = cmap.position(v, limit);
            // Signed maps: a light copy of the input under a colour whose opacity grows with
            // |attribution|, so zero attribution shows the input and strong values pop.
            // Non-negative maps: the input dimmed under a colour wash, as Grad-CAM overlays are
            // usually shown.
            let (alpha, base) = match cmap {
                Colormap::Diverging => {
                    (((t - 0.5).abs() * 2.0).powf(0.6).min(1.0), 0.55 + 0.45 * g)
                }
                Colormap::Sequential => (0.25 + 0.6 * t, 0.15 + 0.7 * g),
            };
            let color = cmap.rgb(t);
            for c in color {
                let v = (1.0 - alpha) * base + alpha * f64::from(c) / 255.0;
                data.push(to_byte(v));
            }
        }
    }
    encode(
        &data,
        w,
        h,
        png::ColorType::Rgb,
        &format!("{} overlay", map.method),
    )
}

/// Encodes a horizontal colour bar of `width × height` pixels for `cmap` (low on the left).
pub fn colorbar_png(cmap: Colormap, width: u32, height: u32) -> Result<Vec<u8>, ReportError> {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(ReportError::invalid(
            "colorbar_png",
            "width/height",
            format!("{w}x{h} is outside 1..={MAX_IMAGE_SIDE}"),
        ));
    }
    let mut data = Vec::with_capacity(w * h * 3);
    for _ in 0..h {
        for x in 0..w {
            data.extend_from_slice(&cmap.rgb((x as f64 + 0.5) / w as f64));
        }
    }
    encode(&data, w, h, png::ColorType::Rgb, "colour bar")
}

/// Encodes 8-bit RGB pixels (`width · height · 3` bytes, row-major) as a PNG in memory;
/// `what` names the picture in errors. The one PNG encoder of glassbox's pictures
/// (`glassbox_explain::plot` writes its heatmaps with it).
pub fn rgb_png(
    rgb: &[u8],
    width: usize,
    height: usize,
    what: &str,
) -> Result<Vec<u8>, ReportError> {
    if width == 0 || height == 0 || rgb.len() != width * height * 3 {
        return Err(ReportError::invalid(
            "rgb_png",
            "pixels",
            format!(
                "{what}: {} bytes for {width}x{height} RGB pixels (need {})",
                rgb.len(),
                width * height * 3
            ),
        ));
    }
    encode(rgb, width, height, png::ColorType::Rgb, what)
}

fn check_upscale(
    upscale: u32,
    width: usize,
    height: usize,
    op: &str,
) -> Result<usize, ReportError> {
    let s = upscale as usize;
    if upscale == 0
        || upscale > MAX_UPSCALE
        || width * s > MAX_IMAGE_SIDE
        || height * s > MAX_IMAGE_SIDE
    {
        return Err(ReportError::invalid(
            op,
            "upscale",
            format!("{upscale} must be in 1..={MAX_UPSCALE} and keep {width}x{height} within {MAX_IMAGE_SIDE} pixels"),
        ));
    }
    Ok(s)
}

/// Intensities mapped to `[0, 1]` (0 = black), honouring `value_range` and `invert`.
fn normalised_gray(image: &GrayImage) -> Vec<f64> {
    let (lo, hi) = match image.value_range {
        Some((lo, hi)) => (f64::from(lo), f64::from(hi)),
        None => {
            let finite = image
                .pixels
                .iter()
                .filter(|p| p.is_finite())
                .map(|p| f64::from(*p));
            let lo = finite.clone().fold(f64::INFINITY, f64::min);
            let hi = finite.fold(f64::NEG_INFINITY, f64::max);
            (lo, hi)
        }
    };
    let span = if hi > lo && (hi - lo).is_finite() {
        hi - lo
    } else {
        1.0
    };
    let lo = if lo.is_finite() { lo } else { 0.0 };
    image
        .pixels
        .iter()
        .map(|p| {
            let v = if p.is_finite() {
                ((f64::from(*p) - lo) / span).clamp(0.0, 1.0)
            } else {
                0.0
            };
            if image.invert {
                1.0 - v
            } else {
                v
            }
        })
        .collect()
}

/// Bilinear sample of `map` at normalised coordinates `(u, v)` in `[0, 1]²` (pixel centres
/// at `(i + 0.5) / width`, edges clamped), as `align_corners=False` upsampling does.
fn bilinear(map: &AttributionMap, u: f64, v: f64) -> f64 {
    let fx = (u * map.width as f64 - 0.5).clamp(0.0, (map.width - 1) as f64);
    let fy = (v * map.height as f64 - 0.5).clamp(0.0, (map.height - 1) as f64);
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(map.width - 1), (y0 + 1).min(map.height - 1));
    let (ax, ay) = (fx - x0 as f64, fy - y0 as f64);
    let at = |x: usize, y: usize| {
        let v = f64::from(map.values[y * map.width + x]);
        if v.is_finite() {
            v
        } else {
            0.0
        }
    };
    let top = at(x0, y0) * (1.0 - ax) + at(x1, y0) * ax;
    let bottom = at(x0, y1) * (1.0 - ax) + at(x1, y1) * ax;
    top * (1.0 - ay) + bottom * ay
}

fn to_byte(v: f64) -> u8 {
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

fn encode(
    data: &[u8],
    w: usize,
    h: usize,
    color: png::ColorType,
    what: &str,
) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    let (width, height) = (w as u32, h as u32);
    let wrap = |source| ReportError::Png {
        what: what.to_string(),
        width,
        height,
        source,
    };
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header().map_err(wrap)?;
    writer.write_image_data(data).map_err(wrap)?;
    writer.finish().map_err(wrap)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a PNG with the `png` crate: (width, height, color type, pixel bytes).
    fn decode(bytes: &[u8]) -> (u32, u32, png::ColorType, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("valid png header");
        let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
        let info = reader.next_frame(&mut buf).expect("valid png frame");
        buf.truncate(info.buffer_size());
        (info.width, info.height, info.color_type, buf)
    }

    fn image(width: usize, height: usize, pixels: Vec<f32>) -> GrayImage {
        GrayImage {
            width,
            height,
            pixels,
            value_range: None,
            invert: false,
        }
    }

    #[test]
    fn grayscale_roundtrip_has_signature_size_and_values() {
        let img = image(3, 2, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let bytes = grayscale_png(&img, 2).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let (w, h, ct, px) = decode(&bytes);
        assert_eq!((w, h, ct), (6, 4, png::ColorType::Grayscale));
        // Row 0 of the output is image row 0, each pixel doubled: 0, 0, 51, 51, 102, 102.
        assert_eq!(&px[..6], &[0, 0, 51, 51, 102, 102]);
        // Row 2 of the output is image row 1: 153, 153, 204, 204, 255, 255.
        assert_eq!(&px[12..18], &[153, 153, 204, 204, 255, 255]);
    }

    #[test]
    fn value_range_and_invert_are_honoured() {
        let mut img = image(2, 1, vec![0.0, 8.0]);
        img.value_range = Some((0.0, 16.0));
        img.invert = true;
        let (_, _, _, px) = decode(&grayscale_png(&img, 1).unwrap());
        assert_eq!(px, vec![255, 128]);
    }

    #[test]
    fn overlay_colours_follow_the_sign() {
        let img = image(2, 1, vec![0.5, 0.5]);
        let map = AttributionMap {
            method: "IG".into(),
            width: 2,
            height: 1,
            values: vec![-1.0, 1.0],
            ..Default::default()
        };
        let (w, h, ct, px) = decode(&heatmap_overlay_png(&img, &map, 1).unwrap());
        assert_eq!((w, h, ct), (2, 1, png::ColorType::Rgb));
        assert!(px[2] > px[0], "negative pixel is blue: {:?}", &px[..3]);
        assert!(px[3] > px[5], "positive pixel is red: {:?}", &px[3..]);
    }

    #[test]
    fn coarse_map_is_upsampled_bilinearly() {
        // A 1x2 map over a 4x1 image: left half low, right half high, with a ramp between.
        let img = image(4, 1, vec![0.0; 4]);
        let map = AttributionMap {
            method: "Grad-CAM".into(),
            width: 2,
            height: 1,
            values: vec![0.0, 1.0],
            ..Default::default()
        };
        assert_eq!(bilinear(&map, 0.125, 0.5), 0.0);
        assert_eq!(bilinear(&map, 0.375, 0.5), 0.25);
        assert_eq!(bilinear(&map, 0.625, 0.5), 0.75);
        assert_eq!(bilinear(&map, 0.875, 0.5), 1.0);
        let (w, h, _, px) = decode(&heatmap_overlay_png(&img, &map, 3).unwrap());
        assert_eq!((w, h), (12, 3));
        let red = |x: usize| px[x * 3];
        assert!(red(11) > red(0), "high end is brighter in the red channel");
    }

    #[test]
    fn bad_shapes_and_scales_are_errors() {
        let bad = image(3, 3, vec![0.0; 8]);
        let err = grayscale_png(&bad, 1).unwrap_err().to_string();
        assert!(
            err.contains("image.pixels") && err.contains('9') && err.contains('8'),
            "{err}"
        );
        let ok = image(2, 2, vec![0.0; 4]);
        assert!(grayscale_png(&ok, 0)
            .unwrap_err()
            .to_string()
            .contains("upscale"));
        let map = AttributionMap {
            method: "x".into(),
            width: 0,
            height: 2,
            values: vec![],
            ..Default::default()
        };
        assert!(heatmap_overlay_png(&ok, &map, 1)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(colorbar_png(Colormap::Sequential, 0, 4).is_err());
    }

    #[test]
    fn colorbar_runs_low_to_high() {
        let (w, h, _, px) = decode(&colorbar_png(Colormap::Sequential, 10, 2).unwrap());
        assert_eq!((w, h), (10, 2));
        assert!(px[27] > px[0], "right end is lighter");
    }
}
