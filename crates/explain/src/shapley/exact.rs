//! Exact interventional Shapley values by enumerating every coalition.

use ndarray::Array2;

use super::{check_inputs, coalition_values, explain_rows, Background, ShapleyValues};
use crate::error::{ExplainError, Result};
use crate::predictor::{predict_checked, Predictor, DEFAULT_MAX_BATCH_ROWS};

const OP: &str = "exact_shapley";

/// Largest feature count accepted by [`exact_shapley`] (2^M coalitions are evaluated).
pub const MAX_EXACT_FEATURES: usize = 20;

/// Exact Shapley values (Shapley, 1953) of every row of `x` for every output, with the
/// interventional value function `v(S) = Σ_b w_b f(x_S, b_¬S) / Σ_b w_b`:
///
/// `φ_j = Σ_{S ⊆ N∖{j}} |S|!(M−|S|−1)!/M! · (v(S ∪ {j}) − v(S))`.
///
/// Costs `2^M · background rows` model evaluations per input, so `M` is limited to
/// [`MAX_EXACT_FEATURES`].
pub fn exact_shapley<P: Predictor + ?Sized>(
    predictor: &P,
    x: ndarray::ArrayView2<f64>,
    background: &Background,
) -> Result<ShapleyValues> {
    let m = check_inputs(OP, x, background)?;
    if m > MAX_EXACT_FEATURES {
        return Err(ExplainError::TooLarge {
            op: OP,
            what: "features",
            value: m,
            limit: MAX_EXACT_FEATURES,
        });
    }
    let base = background.expected_value(OP, predictor)?;
    let k = base.len();
    let fx = predict_checked(OP, predictor, x, Some(k))?;
    let n_sets = 1usize << m;
    // masks[s][j] = bit j of s
    let masks = Array2::from_shape_fn((n_sets, m), |(s, j)| (s >> j) & 1 == 1);
    // weight of a coalition of size s not containing j: s!(M-s-1)!/M!
    let mut wsize = vec![0.0; m];
    for (s, w) in wsize.iter_mut().enumerate() {
        *w = 1.0 / (m as f64 * binom(m - 1, s));
    }
    let n = x.nrows();
    explain_rows(x, fx, m, base, 0..n, |_, xi, _| {
        let v = coalition_values(
            OP,
            predictor,
            xi,
            background,
            masks.view(),
            k,
            DEFAULT_MAX_BATCH_ROWS,
        )?;
        let mut phi = Array2::zeros((m, k));
        for s in 0..n_sets {
            let size = s.count_ones() as usize;
            for j in 0..m {
                if (s >> j) & 1 == 0 {
                    let with = s | (1 << j);
                    for c in 0..k {
                        phi[[j, c]] += wsize[size] * (v[[with, c]] - v[[s, c]]);
                    }
                }
            }
        }
        Ok(phi)
    })
}

fn binom(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, ArrayView2, Axis};

    #[test]
    fn product_game_has_hand_computed_values() {
        // f(x) = x0 * x1 with a zero background: v({}) = v({0}) = v({1}) = 0, v({0,1}) = 6,
        // so each feature gets 3.
        let f = |x: ArrayView2<f64>| (&x.column(0) * &x.column(1)).insert_axis(Axis(1));
        let bg = Background::new(array![[0.0, 0.0]]).unwrap();
        let sv = exact_shapley(&f, array![[2.0, 3.0]].view(), &bg).unwrap();
        assert!((sv.values[[0, 0, 0]] - 3.0).abs() < 1e-12);
        assert!((sv.values[[0, 1, 0]] - 3.0).abs() < 1e-12);
        assert!(sv.efficiency_gap() < 1e-12);
    }

    #[test]
    fn too_many_features_is_an_error() {
        let f = |x: ArrayView2<f64>| x.sum_axis(Axis(1)).insert_axis(Axis(1));
        let bg = Background::new(Array2::zeros((1, 21))).unwrap();
        let err = exact_shapley(&f, Array2::zeros((1, 21)).view(), &bg).unwrap_err();
        assert!(matches!(err, ExplainError::TooLarge { value: 21, .. }));
    }
}
