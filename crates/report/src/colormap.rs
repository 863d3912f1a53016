//! Colormaps for attribution heatmaps: a diverging one for signed attributions and a
//! sequential one for non-negative maps such as Grad-CAM.

use serde::{Deserialize, Serialize};

/// ColorBrewer RdBu (11 classes), reversed so that negative is blue and positive is red.
const RDBU: [[u8; 3]; 11] = [
    [0x05, 0x30, 0x61],
    [0x21, 0x66, 0xac],
    [0x43, 0x93, 0xc3],
    [0x92, 0xc5, 0xde],
    [0xd1, 0xe5, 0xf0],
    [0xf7, 0xf7, 0xf7],
    [0xfd, 0xdb, 0xc7],
    [0xf4, 0xa5, 0x82],
    [0xd6, 0x60, 0x4d],
    [0xb2, 0x18, 0x2b],
    [0x67, 0x00, 0x1f],
];

/// Matplotlib's perceptually uniform "inferno", sampled at 10 evenly spaced points.
const INFERNO: [[u8; 3]; 10] = [
    [0x00, 0x00, 0x04],
    [0x1b, 0x0c, 0x41],
    [0x4a, 0x0c, 0x6b],
    [0x78, 0x1c, 0x6d],
    [0xa5, 0x2c, 0x60],
    [0xcf, 0x44, 0x46],
    [0xed, 0x69, 0x25],
    [0xfb, 0x9b, 0x06],
    [0xf7, 0xd1, 0x3d],
    [0xfc, 0xff, 0xa4],
];

/// How an attribution map is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colormap {
    /// Blue (negative) – white (zero) – red (positive), symmetric around zero; for signed
    /// attributions (Integrated Gradients, occlusion, SHAP).
    Diverging,
    /// Dark purple (low) – yellow (high); for non-negative maps (Grad-CAM, |saliency|).
    Sequential,
}

impl Colormap {
    /// Colour at position `t` in `[0, 1]` along the map (clamped; NaN maps to the middle of a
    /// diverging map and the low end of a sequential one). For [`Colormap::Diverging`],
    /// `t = 0.5` is zero attribution.
    pub fn rgb(self, t: f64) -> [u8; 3] {
        let anchors: &[[u8; 3]] = match self {
            Colormap::Diverging => &RDBU,
            Colormap::Sequential => &INFERNO,
        };
        let t = if t.is_nan() {
            match self {
                Colormap::Diverging => 0.5,
                Colormap::Sequential => 0.0,
            }
        } else {
            t.clamp(0.0, 1.0)
        };
        let pos = t * (anchors.len() - 1) as f64;
        let i = (pos.floor() as usize).min(anchors.len() - 2);
        let frac = pos - i as f64;
        let (a, b) = (anchors[i], anchors[i + 1]);
        let mut out = [0u8; 3];
        for c in 0..3 {
            let v = f64::from(a[c]) + (f64::from(b[c]) - f64::from(a[c])) * frac;
            out[c] = v.round().clamp(0.0, 255.0) as u8;
        }
        out
    }

    /// Maps a raw attribution value to `[0, 1]` given the colour limit `limit > 0`:
    /// `[-limit, limit]` for diverging maps, `[0, limit]` for sequential ones.
    pub fn position(self, value: f64, limit: f64) -> f64 {
        let limit = if limit > 0.0 && limit.is_finite() {
            limit
        } else {
            1.0
        };
        match self {
            Colormap::Diverging => (0.5 + 0.5 * value / limit).clamp(0.0, 1.0),
            Colormap::Sequential => (value / limit).clamp(0.0, 1.0),
        }
    }

    /// CSS `#rrggbb` of [`Colormap::rgb`].
    pub fn hex(self, t: f64) -> String {
        let [r, g, b] = self.rgb(t);
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// Short human name used in the report ("diverging", "sequential").
    pub fn name(self) -> &'static str {
        match self {
            Colormap::Diverging => "diverging",
            Colormap::Sequential => "sequential",
        }
    }
}

/// The value at quantile `q` in `[0, 1]` of `|values|` (finite values only; linear
/// interpolation between order statistics, as NumPy's default). `0.0` when there are no
/// finite values.
pub fn abs_quantile(values: &[f32], q: f64) -> f64 {
    let mut v: Vec<f64> = values
        .iter()
        .map(|x| f64::from(x.abs()))
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_is_white_at_zero_and_blue_red_at_ends() {
        let d = Colormap::Diverging;
        assert_eq!(d.rgb(0.5), [0xf7, 0xf7, 0xf7]);
        let neg = d.rgb(0.0);
        let pos = d.rgb(1.0);
        assert!(neg[2] > neg[0], "negative end is blue: {neg:?}");
        assert!(pos[0] > pos[2], "positive end is red: {pos:?}");
        assert_eq!(d.position(0.0, 3.0), 0.5);
        assert_eq!(d.position(-3.0, 3.0), 0.0);
        assert_eq!(d.position(10.0, 3.0), 1.0);
    }

    #[test]
    fn sequential_is_monotone_in_lightness() {
        let s = Colormap::Sequential;
        let lum = |c: [u8; 3]| {
            0.2126 * f64::from(c[0]) + 0.7152 * f64::from(c[1]) + 0.0722 * f64::from(c[2])
        };
        let mut prev = -1.0;
        for i in 0..=50 {
            let l = lum(s.rgb(f64::from(i) / 50.0));
            assert!(l >= prev - 1.0, "luminance drops at step {i}: {l} < {prev}");
            prev = l;
        }
        assert_eq!(s.hex(0.0), "#000004");
        assert_eq!(s.hex(1.0), "#fcffa4");
        assert_eq!(s.rgb(f64::NAN), s.rgb(0.0));
    }

    #[test]
    fn quantile_matches_numpy_linear() {
        // numpy.quantile(abs([1, -4, 2, 3]), 0.5) == 2.5
        assert_eq!(abs_quantile(&[1.0, -4.0, 2.0, 3.0], 0.5), 2.5);
        assert_eq!(abs_quantile(&[1.0, -4.0, 2.0, 3.0], 1.0), 4.0);
        assert_eq!(abs_quantile(&[f32::NAN], 0.9), 0.0);
    }
}
