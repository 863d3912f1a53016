//! Proptest strategies and the gradcheck assertion shared by the property tests.

use glassbox_autograd::{gradcheck, Result, Var};
use glassbox_tensor::Tensor;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Finite-difference step and tolerance (f32 forward, f64 differences).
pub const EPS: f64 = 5e-3;
pub const TOL: f64 = 1e-2;

/// Asserts that `f`'s gradients at `inputs` match central finite differences.
pub fn assert_grad(
    f: impl Fn(&[Var]) -> Result<Var>,
    inputs: &[Tensor],
) -> std::result::Result<(), TestCaseError> {
    let report = gradcheck(f, inputs, EPS, TOL).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(report.passed(), "{}", report);
    prop_assert!(report.checks > 0);
    Ok(())
}

/// A shape of rank `1..=max_rank` with dims `1..=4`.
pub fn shape(max_rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=4, 1..=max_rank)
}

/// A tensor of `shape` with values in `[lo, hi)`.
pub fn values(shape: Vec<usize>, lo: f32, hi: f32) -> impl Strategy<Value = Tensor> {
    let n: usize = shape.iter().product();
    prop::collection::vec(lo..hi, n).prop_map(move |v| Tensor::from_vec(v, &shape).unwrap())
}

/// A tensor of random shape (rank ≤ 3) with values in `[lo, hi)`.
pub fn tensor(lo: f32, hi: f32) -> impl Strategy<Value = Tensor> {
    shape(3).prop_flat_map(move |s| values(s, lo, hi))
}

/// Moves every value at least `gap` away from `kink` (for ReLU, abs, ...).
pub fn away(t: &Tensor, kink: f32, gap: f32) -> Tensor {
    t.map(move |x| if x >= kink { x + gap } else { x - gap })
}

/// A tensor of `shape` whose values are distinct and at least 0.1 apart (no max ties).
pub fn distinct(shape: Vec<usize>) -> impl Strategy<Value = Tensor> {
    let n: usize = shape.iter().product();
    let grid: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - n as f32 * 0.05).collect();
    Just(grid)
        .prop_shuffle()
        .prop_map(move |v| Tensor::from_vec(v, &shape).unwrap())
}

/// Two shapes that broadcast together: the full shape, with some axes set to 1 and some
/// leading axes dropped in either operand.
pub fn broadcast_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape(3).prop_flat_map(|full| {
        let r = full.len();
        (
            Just(full),
            prop::collection::vec(any::<bool>(), r),
            prop::collection::vec(any::<bool>(), r),
            0..=r,
        )
            .prop_map(|(full, ones_a, ones_b, drop_b)| {
                let a: Vec<usize> = full
                    .iter()
                    .zip(&ones_a)
                    .map(|(&d, &one)| if one { 1 } else { d })
                    .collect();
                let b: Vec<usize> = full
                    .iter()
                    .zip(&ones_b)
                    .map(|(&d, &one)| if one { 1 } else { d })
                    .skip(drop_b)
                    .collect();
                (a, b)
            })
    })
}

/// Two broadcastable tensors with values in `[lo, hi)`.
pub fn broadcast_pair(lo: f32, hi: f32) -> impl Strategy<Value = (Tensor, Tensor)> {
    broadcast_shapes().prop_flat_map(move |(a, b)| (values(a, lo, hi), values(b, lo, hi)))
}

/// A non-empty subset of the axes of a rank-`rank` tensor, sorted.
pub fn axes(rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::sample::subsequence((0..rank).collect::<Vec<_>>(), 1..=rank)
}
