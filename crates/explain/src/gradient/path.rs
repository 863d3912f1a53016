//! The fixed-rule path integral of Integrated Gradients, `Σ_s w_s G(b + α_s (h − b))`, over
//! chunks of path points, for any model that gives the gradient of its explained output at
//! a batch of points. [`integrated_gradients`](super::integrated_gradients) and the layer
//! methods run it on a [`GradModel`](super::GradModel); the text methods
//! ([`crate::text`]) run it on the output of an embedding layer.

use std::ops::Range;

use glassbox_tensor::Tensor;
use rayon::prelude::*;

use super::error::{GradientError, Result};

/// The straight paths of a batch and the quadrature rule along them.
pub(crate) struct Paths<'p> {
    /// End points `h`, `[n · d]` (row-major, `n` rows of `d` values).
    pub h: &'p [f32],
    /// Start points (baselines), `[n · d]`.
    pub base: &'p [f32],
    /// Shape of one row (`d` values); points are passed as `[len, sample…]`.
    pub sample: &'p [usize],
    /// Points `α` of the rule on `[0, 1]`.
    pub alphas: &'p [f64],
    /// Weights of the rule.
    pub weights: &'p [f64],
    /// Most points per gradient evaluation (one forward/backward pass).
    pub cap: usize,
}

/// `Σ_s w_s G_i(b_i + α_s (h_i − b_i))` for the rows `rows` (`[rows.len() · d]`, `f64`).
///
/// The `n × steps` points are numbered input-major (point `r` is step `r % steps` of row
/// `r / steps`) and cut into chunks of at most `cap` points (sizes differing by at most one), so
/// the chunks holding points of `rows` are those of the whole batch, whole (points of other
/// rows in them are computed and discarded). `grad(points, rows_of_points)` returns the
/// gradient at `points` (`[len, sample…]`), `rows_of_points[k]` being the row of point `k`.
///
/// With `parallel`, up to [`threads`](glassbox_tensor::parallel::threads) chunks are
/// evaluated at once, each with its operations on one thread (peak memory is then that many
/// chunks), and the number of chunks is rounded up to a multiple of the thread count so that
/// the last round keeps every thread busy ([`chunk_ranges`]). Gradients are folded into the
/// `f64` accumulator one chunk after the other in point order, so a given thread count
/// always gives the same result; another thread count cuts the chunks, and splits the
/// operations, differently, which can change the last bits.
pub(crate) fn path_integral_chunked<G>(
    paths: &Paths,
    rows: Range<usize>,
    parallel: bool,
    grad: G,
) -> Result<Vec<f64>>
where
    G: Fn(Tensor, &[usize]) -> Result<Tensor> + Sync,
{
    let mut sums = path_integrals_chunked(paths, &[paths.weights], rows, parallel, grad)?;
    Ok(sums.pop().expect("one weight set"))
}

/// [`path_integral_chunked`] with several weight sets over the same points (`paths.alphas`;
/// `paths.weights` is not used): one sum per set, from one evaluation of every point (an
/// embedded pair of rules, e.g. Gauss–Kronrod). Each sum is what
/// [`path_integral_chunked`] returns with that set, bit for bit.
pub(crate) fn path_integrals_chunked<G>(
    paths: &Paths,
    weight_sets: &[&[f64]],
    rows: Range<usize>,
    parallel: bool,
    grad: G,
) -> Result<Vec<Vec<f64>>>
where
    G: Fn(Tensor, &[usize]) -> Result<Tensor> + Sync,
{
    let d = paths.sample.iter().product::<usize>();
    let n = paths.h.len() / d.max(1);
    let steps = paths.alphas.len();
    let mut accs = vec![vec![0f64; rows.len() * d]; weight_sets.len()];
    let total = n * steps;
    let width = if parallel {
        glassbox_tensor::parallel::threads().max(1)
    } else {
        1
    };
    let (first, last) = (rows.start * steps, rows.end * steps);
    let chunks: Vec<Range<usize>> = chunk_ranges(total, paths.cap, width)
        .filter(|c| c.end > first && c.start < last)
        .collect();
    let eval = |chunk: &Range<usize>| -> Result<Tensor> {
        let (start, len) = (chunk.start, chunk.len());
        let mut buf = Vec::with_capacity(len * d);
        let mut of_row = Vec::with_capacity(len);
        for r in start..start + len {
            let (i, s) = (r / steps, r % steps);
            let a = paths.alphas[s] as f32;
            let (hi, bi) = (
                &paths.h[i * d..(i + 1) * d],
                &paths.base[i * d..(i + 1) * d],
            );
            buf.extend(hi.iter().zip(bi).map(|(&xv, &bv)| bv + a * (xv - bv)));
            of_row.push(i);
        }
        let mut shape = Vec::with_capacity(paths.sample.len() + 1);
        shape.push(len);
        shape.extend_from_slice(paths.sample);
        grad(Tensor::from_vec(buf, &shape)?, &of_row)
    };
    for window in chunks.chunks(width) {
        let grads: Vec<Tensor> = if window.len() > 1 {
            // Chunks side by side, each with its operations on its own thread.
            window
                .par_iter()
                .map(|c| glassbox_tensor::parallel::serial(|| eval(c)))
                .collect::<Result<_>>()?
        } else {
            window.iter().map(eval).collect::<Result<_>>()?
        };
        for (chunk, g) in window.iter().zip(grads) {
            let (start, len) = (chunk.start, chunk.len());
            if g.len() != len * d {
                return Err(GradientError::Shape {
                    op: "path integral",
                    what: "gradient at the path points",
                    expected: format!("{len} points of shape {:?}", paths.sample),
                    found: g.shape().to_vec(),
                });
            }
            let gs = g.contiguous();
            let gv = gs.as_slice().expect("contiguous");
            for (k, r) in (start..start + len).enumerate() {
                if r < first || r >= last {
                    continue;
                }
                let (i, s) = (r / steps - rows.start, r % steps);
                for (acc, weights) in accs.iter_mut().zip(weight_sets) {
                    let w = weights[s];
                    let dst = &mut acc[i * d..(i + 1) * d];
                    for (a, &gj) in dst.iter_mut().zip(&gv[k * d..(k + 1) * d]) {
                        *a += w * gj as f64;
                    }
                }
            }
        }
    }
    Ok(accs)
}

/// The chunks of the `total` points: at most `cap` points each, sizes differing by at most
/// one, and as many chunks as a multiple of `width` (the threads evaluating chunks side by
/// side) so that every round keeps every thread busy (50 points, cap 10, 2 threads: 6
/// chunks of 8 or 9 rather than 5 of 10, whose fifth would run alone).
fn chunk_ranges(total: usize, cap: usize, width: usize) -> impl Iterator<Item = Range<usize>> {
    let cap = cap.min(total).max(1);
    let count = total
        .div_ceil(cap)
        .next_multiple_of(width.max(1))
        .min(total.max(1));
    (0..count).map(move |i| total * i / count..total * (i + 1) / count)
}

#[cfg(test)]
mod tests {
    use super::chunk_ranges;

    /// The ranges tile `0..total` in order, none longer than `cap`, sizes differing by at
    /// most one, their count a multiple of `width` when there are enough points.
    #[test]
    fn chunk_ranges_tile_the_points_evenly() {
        for total in 0..40 {
            for cap in 1..12 {
                for width in 1..4 {
                    let r: Vec<_> = chunk_ranges(total, cap, width).collect();
                    let mut next = 0;
                    for c in &r {
                        assert_eq!(c.start, next, "{total} {cap} {width}: {r:?}");
                        assert!(c.len() <= cap.max(1));
                        next = c.end;
                    }
                    assert_eq!(next, total);
                    if total > 0 {
                        let (lo, hi) = r.iter().fold((usize::MAX, 0), |(lo, hi), c| {
                            (lo.min(c.len()), hi.max(c.len()))
                        });
                        assert!(lo >= 1 && hi - lo <= 1, "{total} {cap} {width}: {r:?}");
                        if total >= width * total.div_ceil(cap) {
                            assert_eq!(r.len() % width, 0, "{total} {cap} {width}: {r:?}");
                        }
                    }
                }
            }
        }
        let sizes: Vec<usize> = chunk_ranges(50, 10, 2).map(|c| c.len()).collect();
        assert_eq!(sizes.len(), 6);
        assert!(sizes.iter().all(|&s| s == 8 || s == 9));
    }
}
