//! Occlusion with N-dimensional sliding windows and strides.

use ndarray::{Array2, ArrayView2};

use super::{removal_attributions, Baseline};
use crate::error::{ExplainError, Result};
use crate::predictor::{check_matrix, Predictor};

const OP: &str = "occlusion";

/// Settings of [`occlusion`].
#[derive(Debug, Clone, PartialEq)]
pub struct OcclusionConfig {
    /// Shape of one sample, e.g. `[channels, height, width]`; its product must equal the
    /// number of columns of the inputs (rows are flattened in row-major order).
    pub sample_shape: Vec<usize>,
    /// Sliding window shape (same rank as `sample_shape`).
    pub window: Vec<usize>,
    /// Step between window positions along each dimension.
    pub strides: Vec<usize>,
    /// Value of occluded features.
    pub baseline: Baseline,
    /// Cap on rows per predictor call; `0` means
    /// [`DEFAULT_MAX_BATCH_ROWS`](crate::predictor::DEFAULT_MAX_BATCH_ROWS).
    pub max_batch_rows: usize,
}

/// Occlusion (Zeiler & Fergus, 2014), with Captum's conventions: along each dimension the
/// window starts at `0, s, 2s, …` for `ceil((d − w)/s) + 1` positions, a window that runs
/// past the edge is truncated, and each feature gets the mean of
/// `f(x)[target] − f(x occluded)[target]` over the windows covering it (0 if none does).
pub fn occlusion<P: Predictor + ?Sized>(
    predictor: &P,
    x: ArrayView2<f64>,
    target: usize,
    config: &OcclusionConfig,
) -> Result<Array2<f64>> {
    check_matrix(OP, "inputs", x)?;
    let (n, m) = x.dim();
    config.baseline.check(OP, n, m)?;
    let windows = window_members(config, m)?;
    let mut counts = vec![0.0f64; m];
    for w in &windows {
        for &j in w {
            counts[j] += 1.0;
        }
    }
    removal_attributions(
        OP,
        predictor,
        x,
        target,
        &config.baseline,
        &windows,
        config.max_batch_rows,
        |drops, attr| {
            for (&d, members) in drops.iter().zip(&windows) {
                for &j in members {
                    attr[j] += d;
                }
            }
            for (a, &c) in attr.iter_mut().zip(&counts) {
                if c > 0.0 {
                    *a /= c;
                }
            }
        },
    )
}

/// Flat feature indices covered by each window position.
fn window_members(cfg: &OcclusionConfig, m: usize) -> Result<Vec<Vec<usize>>> {
    let shape = &cfg.sample_shape;
    let rank = shape.len();
    if rank == 0 || shape.iter().product::<usize>() != m {
        return Err(ExplainError::ShapeMismatch {
            op: OP,
            what: "sample_shape (its product must equal the number of features)",
            expected: vec![m],
            found: shape.clone(),
        });
    }
    for (field, v) in [("window", &cfg.window), ("strides", &cfg.strides)] {
        if v.len() != rank {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what: field,
                expected: vec![rank],
                found: vec![v.len()],
            });
        }
    }
    for d in 0..rank {
        if cfg.window[d] == 0 || cfg.window[d] > shape[d] {
            return Err(ExplainError::invalid(
                OP,
                "window",
                format!(
                    "window {:?} must be >= 1 and fit in sample_shape {:?} (dim {d})",
                    cfg.window, shape
                ),
            ));
        }
        if cfg.strides[d] == 0 {
            return Err(ExplainError::invalid(
                OP,
                "strides",
                format!("stride of dim {d} is 0"),
            ));
        }
    }
    let positions: Vec<usize> = (0..rank)
        .map(|d| (shape[d] - cfg.window[d]).div_ceil(cfg.strides[d]) + 1)
        .collect();
    let mut row_major = vec![1usize; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        row_major[d] = row_major[d + 1] * shape[d + 1];
    }
    let total: usize = positions.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut pos = vec![0usize; rank];
    for _ in 0..total {
        // ranges of this window (truncated at the edge)
        let ranges: Vec<(usize, usize)> = (0..rank)
            .map(|d| {
                let start = pos[d] * cfg.strides[d];
                (start, (start + cfg.window[d]).min(shape[d]))
            })
            .collect();
        let lens: Vec<usize> = ranges.iter().map(|r| r.1 - r.0).collect();
        let count: usize = lens.iter().product();
        let mut members = Vec::with_capacity(count);
        for c in 0..count {
            let mut rem = c;
            let mut flat = 0;
            for d in (0..rank).rev() {
                flat += (ranges[d].0 + rem % lens[d]) * row_major[d];
                rem /= lens[d];
            }
            members.push(flat);
        }
        out.push(members);
        // advance the window position odometer
        for d in (0..rank).rev() {
            pos[d] += 1;
            if pos[d] < positions[d] {
                break;
            }
            pos[d] = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Axis};

    #[test]
    fn sum_model_occlusion_matches_hand_count() {
        // f = sum of a 1x4 "image"; window 2, stride 1 → windows [0,1], [1,2], [2,3].
        // Drop of each window = sum of its pixels; a pixel's value is the mean drop of the
        // windows covering it.
        let f = |x: ArrayView2<f64>| x.sum_axis(Axis(1)).insert_axis(Axis(1));
        let x = array![[1.0, 2.0, 3.0, 4.0]];
        let cfg = OcclusionConfig {
            sample_shape: vec![1, 4],
            window: vec![1, 2],
            strides: vec![1, 1],
            baseline: Baseline::Scalar(0.0),
            max_batch_rows: 0,
        };
        let a = occlusion(&f, x.view(), 0, &cfg).unwrap();
        assert_eq!(a, array![[3.0, 4.0, 6.0, 7.0]]);
        // stride 3 with window 2 over 4 pixels: positions ceil(2/3)+1 = 2: [0,1] and [3] (truncated)
        let cfg = OcclusionConfig {
            strides: vec![1, 3],
            ..cfg
        };
        let a = occlusion(&f, x.view(), 0, &cfg).unwrap();
        assert_eq!(a, array![[3.0, 3.0, 0.0, 4.0]]);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let f = |x: ArrayView2<f64>| x.to_owned();
        let cfg = OcclusionConfig {
            sample_shape: vec![3],
            window: vec![1],
            strides: vec![1],
            baseline: Baseline::default(),
            max_batch_rows: 0,
        };
        let err = occlusion(&f, array![[1.0, 2.0]].view(), 0, &cfg).unwrap_err();
        assert!(
            matches!(err, ExplainError::ShapeMismatch { what, .. } if what.starts_with("sample_shape"))
        );
    }
}
