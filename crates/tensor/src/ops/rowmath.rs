//! Row reductions that vectorise, and the row kernels built on them (the softmax core and
//! the layer-norm row forward and backward).
//!
//! A plain `iter().sum::<f32>()` or `fold(max)` is one serial chain: LLVM may not reorder
//! float additions, so it runs one element per add latency. Here sums and maxima are kept
//! in [`LANES`] independent partial results, combined pairwise at the end, which the
//! compiler turns into one or two vector registers. Every function is `#[inline(always)]`,
//! so a caller compiled with `fastmath::dispatched!` runs it 8 or 16 lanes wide.
//!
//! The lane order is fixed, so results do not depend on the CPU or the thread count; they
//! differ in the last bits from a left-to-right sum (they are usually closer to the exact
//! sum).

use crate::ops::fastmath::exp_f32;

/// Independent partial sums per reduction: one AVX-512 register, or two AVX2 ones.
const LANES: usize = 16;

/// Combines the lanes pairwise (8 + 8, 4 + 4, ...), a fixed order.
#[inline(always)]
fn fold_lanes(mut acc: [f32; LANES], op: fn(f32, f32) -> f32) -> f32 {
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] = op(acc[i], acc[i + width]);
        }
    }
    acc[0]
}

#[inline(always)]
fn add(a: f32, b: f32) -> f32 {
    a + b
}

#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    a.max(b)
}

/// `Σ f(x)` over `xs` (`f` is inlined with the loop, so it runs at the caller's width).
#[inline(always)]
pub(crate) fn lane_sum_map(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f(x);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&x| f(x)).sum();
    fold_lanes(acc, add) + tail
}

/// `Σ xs`.
#[inline(always)]
pub(crate) fn lane_sum(xs: &[f32]) -> f32 {
    lane_sum_map(xs, |x| x)
}

/// The largest element, ignoring NaNs (as `f32::max`); `-inf` for an empty or all-NaN
/// slice.
#[inline(always)]
pub(crate) fn lane_max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = a.max(x);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    fold_lanes(acc, max).max(tail)
}

/// `x ← e^(x − shift)` for every element; returns the sum of the new values.
#[inline(always)]
pub(crate) fn exp_shifted_sum(xs: &mut [f32], shift: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c.iter_mut()) {
            let e = exp_f32(*x - shift);
            *x = e;
            *a += e;
        }
    }
    let mut tail = 0.0f32;
    for x in chunks.into_remainder() {
        *x = exp_f32(*x - shift);
        tail += *x;
    }
    fold_lanes(acc, add) + tail
}

/// `x ← x · factor` for every element.
#[inline(always)]
pub(crate) fn scale_in_place(xs: &mut [f32], factor: f32) {
    xs.iter_mut().for_each(|x| *x *= factor);
}

/// `e^(x − shift) / Σ e^(x − shift)` in place: the softmax core, with `shift` the row's
/// maximum (callers choose what a row without a finite maximum gives).
#[inline(always)]
pub(crate) fn softmax_shifted(row: &mut [f32], shift: f32) {
    let total = exp_shifted_sum(row, shift);
    scale_in_place(row, 1.0 / total);
}

/// Layer normalisation of one row in place: mean, biased variance (two passes), then
/// `(x − mean) / √(var + eps) · w + b`. Returns `(mean, 1 / √(var + eps))`.
#[inline(always)]
pub(crate) fn layer_norm_in_place(
    row: &mut [f32],
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    eps: f32,
) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = lane_sum(row) / n;
    let var = lane_sum_map(row, |x| (x - mean) * (x - mean)) / n;
    let inv = 1.0 / (var + eps).sqrt();
    match (weight, bias) {
        (Some(w), Some(b)) => row
            .iter_mut()
            .zip(w.iter().zip(b))
            .for_each(|(x, (w, b))| *x = (*x - mean) * inv * w + b),
        (Some(w), None) => row
            .iter_mut()
            .zip(w)
            .for_each(|(x, w)| *x = (*x - mean) * inv * w),
        (None, Some(b)) => row
            .iter_mut()
            .zip(b)
            .for_each(|(x, b)| *x = (*x - mean) * inv + b),
        (None, None) => row.iter_mut().for_each(|x| *x = (*x - mean) * inv),
    }
    (mean, inv)
}

/// Backward of [`layer_norm_in_place`] for one row: with `x̂ = (x − mean)·inv` and
/// `g = dy ⊙ w` (or `dy`), `dx = inv · (g − mean(g) − x̂ · mean(g ⊙ x̂))`, written into `dx`.
#[inline(always)]
pub(crate) fn layer_norm_backward_row(
    x: &[f32],
    dy: &[f32],
    weight: Option<&[f32]>,
    (mean, inv): (f32, f32),
    dx: &mut [f32],
) {
    let n = x.len() as f32;
    // dx holds g first.
    match weight {
        Some(w) => dx
            .iter_mut()
            .zip(dy.iter().zip(w))
            .for_each(|(d, (g, w))| *d = g * w),
        None => dx.copy_from_slice(dy),
    }
    let g_mean = lane_sum(dx) / n;
    let mut acc = [0.0f32; LANES];
    let mut chunks = dx.chunks_exact(LANES).zip(x.chunks_exact(LANES));
    for (gc, xc) in &mut chunks {
        for l in 0..LANES {
            acc[l] += gc[l] * ((xc[l] - mean) * inv);
        }
    }
    let body = x.len() / LANES * LANES;
    let tail: f32 = dx[body..]
        .iter()
        .zip(&x[body..])
        .map(|(g, xv)| g * ((xv - mean) * inv))
        .sum();
    let gx_mean = (fold_lanes(acc, add) + tail) / n;
    dx.iter_mut()
        .zip(x)
        .for_each(|(d, &xv)| *d = inv * (*d - g_mean - (xv - mean) * inv * gx_mean));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::fastmath::dispatched;

    dispatched! {
        fn sums(xs: &[f32]) -> (f32, f32, f32) {
            (lane_sum(xs), lane_max(xs), lane_sum_map(xs, |x| (x - 0.5) * (x - 0.5)))
        }
    }

    #[test]
    fn lane_reductions_match_f64_for_every_tail_length() {
        let mut rng = crate::rng::Rng::new(7);
        for n in 0..70 {
            let xs: Vec<f32> = (0..n).map(|_| (rng.normal() * 3.0) as f32).collect();
            let (s, m, q) = sums(&xs);
            let want_s: f64 = xs.iter().map(|&x| x as f64).sum();
            let want_q: f64 = xs.iter().map(|&x| (x as f64 - 0.5).powi(2)).sum();
            let want_m = xs.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x));
            assert!(
                (s as f64 - want_s).abs() < 1e-5 * (1.0 + n as f64),
                "sum n={n}"
            );
            assert!(
                (q as f64 - want_q).abs() < 1e-5 * (1.0 + want_q),
                "sq n={n}"
            );
            assert_eq!(m, want_m, "max n={n}");
        }
        let with_nan = [1.0, f32::NAN, 3.0];
        assert_eq!(sums(&with_nan).1, 3.0);
    }

    dispatched! {
        fn softmax(row: &mut [f32]) {
            let m = lane_max(row);
            softmax_shifted(row, m)
        }
    }

    #[test]
    fn softmax_core_matches_f64() {
        let mut row: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin() * 4.0).collect();
        let want: Vec<f64> = {
            let m = row.iter().fold(f64::NEG_INFINITY, |a, &x| a.max(x as f64));
            let e: Vec<f64> = row.iter().map(|&x| (x as f64 - m).exp()).collect();
            let z: f64 = e.iter().sum();
            e.iter().map(|v| v / z).collect()
        };
        softmax(&mut row);
        for (g, w) in row.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-7 + 1e-6 * w);
        }
    }
}
