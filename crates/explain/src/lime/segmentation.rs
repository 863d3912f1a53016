//! Superpixels for image LIME: a regular grid, or SLIC-style k-means on position and
//! intensity (Achanta et al., 2012).

use ndarray::ArrayView1;

use crate::error::{ExplainError, Result};

/// Shape of an image stored as a flattened row in `[channels, height, width]` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageShape {
    /// Channels.
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageShape {
    /// Number of values of one image (`channels · height · width`).
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether the image has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that `n` values make one image of this shape.
    pub(crate) fn check(&self, op: &'static str, n: usize) -> Result<()> {
        if self.is_empty() || self.len() != n {
            return Err(ExplainError::ShapeMismatch {
                op,
                what: "image (length must equal channels·height·width)",
                expected: vec![self.channels, self.height, self.width],
                found: vec![n],
            });
        }
        Ok(())
    }
}

/// How to cut an image into superpixels.
#[derive(Debug, Clone, PartialEq)]
pub enum Segmentation {
    /// Rectangular cells of `cell_height × cell_width` pixels (edge cells may be smaller).
    Grid {
        /// Cell height.
        cell_height: usize,
        /// Cell width.
        cell_width: usize,
    },
    /// SLIC-style: k-means on `(row, column, intensity)` started from a regular grid of
    /// about `n_segments` centres; `compactness` weighs spatial distance (in grid steps)
    /// against intensity difference (intensities rescaled to `[0, 1]`).
    Slic {
        /// Approximate number of superpixels.
        n_segments: usize,
        /// Weight of spatial proximity (larger gives squarer superpixels), e.g. 0.1.
        compactness: f64,
        /// Assignment/update rounds, e.g. 10.
        iterations: usize,
    },
}

/// Superpixel label of every pixel (`height · width` labels in row-major order, numbered
/// `0..k` without gaps).
pub fn segment(
    image: ArrayView1<f64>,
    shape: ImageShape,
    method: &Segmentation,
) -> Result<Vec<usize>> {
    const OP: &str = "segment";
    shape.check(OP, image.len())?;
    let (h, w) = (shape.height, shape.width);
    let labels = match method {
        Segmentation::Grid {
            cell_height,
            cell_width,
        } => {
            if *cell_height == 0 || *cell_width == 0 {
                return Err(ExplainError::invalid(
                    OP,
                    "Grid cell size",
                    "must be at least 1x1",
                ));
            }
            let per_row = w.div_ceil(*cell_width);
            (0..h * w)
                .map(|p| (p / w / cell_height) * per_row + (p % w) / cell_width)
                .collect()
        }
        Segmentation::Slic {
            n_segments,
            compactness,
            iterations,
        } => {
            if *n_segments == 0 || !compactness.is_finite() || *compactness < 0.0 {
                return Err(ExplainError::invalid(
                    OP,
                    "Slic",
                    "n_segments must be positive and compactness finite and >= 0",
                ));
            }
            slic(image, shape, *n_segments, *compactness, *iterations)
        }
    };
    Ok(relabel(labels))
}

fn intensity(image: ArrayView1<f64>, shape: ImageShape) -> Vec<f64> {
    let hw = shape.height * shape.width;
    let mut v = vec![0.0; hw];
    for c in 0..shape.channels {
        for p in 0..hw {
            v[p] += image[c * hw + p] / shape.channels as f64;
        }
    }
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi > lo {
        v.iter_mut().for_each(|x| *x = (*x - lo) / (hi - lo));
    } else {
        v.iter_mut().for_each(|x| *x = 0.0);
    }
    v
}

fn slic(
    image: ArrayView1<f64>,
    shape: ImageShape,
    n_segments: usize,
    m: f64,
    iterations: usize,
) -> Vec<usize> {
    let (h, w) = (shape.height, shape.width);
    let val = intensity(image, shape);
    let step = ((h * w) as f64 / n_segments as f64).sqrt().max(1.0);
    // centres (row, col, intensity) on a regular grid
    let mut centers: Vec<[f64; 3]> = Vec::new();
    let mut r = step / 2.0;
    while r < h as f64 {
        let mut c = step / 2.0;
        while c < w as f64 {
            let (ri, ci) = (r as usize, c as usize);
            centers.push([r, c, val[ri * w + ci]]);
            c += step;
        }
        r += step;
    }
    let mut labels = vec![0usize; h * w];
    for _ in 0..iterations.max(1) {
        let mut best = vec![f64::INFINITY; h * w];
        for (k, ctr) in centers.iter().enumerate() {
            let r0 = (ctr[0] - 2.0 * step).floor().max(0.0) as usize;
            let r1 = ((ctr[0] + 2.0 * step).ceil() as usize).min(h);
            let c0 = (ctr[1] - 2.0 * step).floor().max(0.0) as usize;
            let c1 = ((ctr[1] + 2.0 * step).ceil() as usize).min(w);
            for rr in r0..r1 {
                for cc in c0..c1 {
                    let p = rr * w + cc;
                    let ds = ((rr as f64 - ctr[0]).powi(2) + (cc as f64 - ctr[1]).powi(2))
                        / (step * step);
                    let dc = (val[p] - ctr[2]).powi(2);
                    let d = dc + m * m * ds;
                    if d < best[p] {
                        best[p] = d;
                        labels[p] = k;
                    }
                }
            }
        }
        let mut sums = vec![[0.0f64; 4]; centers.len()];
        for p in 0..h * w {
            let s = &mut sums[labels[p]];
            s[0] += (p / w) as f64;
            s[1] += (p % w) as f64;
            s[2] += val[p];
            s[3] += 1.0;
        }
        for (ctr, s) in centers.iter_mut().zip(&sums) {
            if s[3] > 0.0 {
                *ctr = [s[0] / s[3], s[1] / s[3], s[2] / s[3]];
            }
        }
    }
    labels
}

/// Renumbers labels to `0..k` in order of first appearance.
fn relabel(labels: Vec<usize>) -> Vec<usize> {
    let mut map = std::collections::HashMap::new();
    labels
        .into_iter()
        .map(|l| {
            let next = map.len();
            *map.entry(l).or_insert(next)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    #[test]
    fn grid_cells_and_slic_follow_an_edge() {
        let shape = ImageShape {
            channels: 1,
            height: 4,
            width: 5,
        };
        let img = Array1::zeros(20);
        let g = segment(
            img.view(),
            shape,
            &Segmentation::Grid {
                cell_height: 2,
                cell_width: 2,
            },
        )
        .unwrap();
        assert_eq!(&g[..5], &[0, 0, 1, 1, 2]);
        assert_eq!(&g[15..], &[3, 3, 4, 4, 5]);
        // left half dark, right half bright: no superpixel straddles the edge
        let shape = ImageShape {
            channels: 1,
            height: 8,
            width: 8,
        };
        let img = Array1::from_shape_fn(64, |p| if p % 8 < 4 { 0.0 } else { 1.0 });
        let s = segment(
            img.view(),
            shape,
            &Segmentation::Slic {
                n_segments: 4,
                compactness: 0.1,
                iterations: 10,
            },
        )
        .unwrap();
        for p in 0..64 {
            for q in 0..64 {
                if s[p] == s[q] {
                    assert_eq!(
                        p % 8 < 4,
                        q % 8 < 4,
                        "pixels {p} and {q} share a superpixel across the edge"
                    );
                }
            }
        }
        assert!(s.iter().max().unwrap() + 1 >= 2);
    }
}
