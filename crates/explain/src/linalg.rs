//! Small dense linear algebra: linear solves, weighted least squares and weighted ridge.

use glassbox_tensor::ops::gemm_kernel::{gemm_strided, Strided};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::{ExplainError, Result};

/// Solves `a · x = b` for square `a` (`n×n`) and `b` (`n×k`) by Gaussian elimination with
/// partial pivoting. Returns `None` when a pivot is below `1e-12` times the largest entry.
pub fn solve(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    if a.ncols() != n || b.nrows() != n {
        return None;
    }
    let mut m = a.to_owned();
    let mut r = b.to_owned();
    let scale = m
        .iter()
        .fold(0.0f64, |acc, v| acc.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..n {
        let (piv, pval) = (col..n)
            .map(|i| (i, m[[i, col]].abs()))
            .fold((col, -1.0), |best, c| if c.1 > best.1 { c } else { best });
        if pval <= 1e-12 * scale {
            return None;
        }
        if piv != col {
            for j in 0..n {
                m.swap([piv, j], [col, j]);
            }
            for j in 0..r.ncols() {
                r.swap([piv, j], [col, j]);
            }
        }
        let d = m[[col, col]];
        for i in col + 1..n {
            let f = m[[i, col]] / d;
            if f == 0.0 {
                continue;
            }
            for j in col..n {
                m[[i, j]] -= f * m[[col, j]];
            }
            for j in 0..r.ncols() {
                r[[i, j]] -= f * r[[col, j]];
            }
        }
    }
    for col in (0..n).rev() {
        for j in 0..r.ncols() {
            let mut v = r[[col, j]];
            for k in col + 1..n {
                v -= m[[col, k]] * r[[k, j]];
            }
            r[[col, j]] = v / m[[col, col]];
        }
    }
    Some(r)
}

/// Solves a symmetric positive semi-definite system, adding a tiny multiple of the identity
/// (relative `1e-10` of the mean diagonal) when it is singular.
pub fn solve_psd(op: &'static str, a: ArrayView2<f64>, b: ArrayView2<f64>) -> Result<Array2<f64>> {
    if let Some(x) = solve(a, b) {
        return Ok(x);
    }
    let n = a.nrows();
    let mean_diag = (0..n).map(|i| a[[i, i]].abs()).sum::<f64>() / n.max(1) as f64;
    let mut reg = a.to_owned();
    for i in 0..n {
        reg[[i, i]] += 1e-10 * mean_diag.max(1e-300);
    }
    solve(reg.view(), b).ok_or_else(|| ExplainError::Singular {
        op,
        reason: format!("{n}x{n} normal equations"),
    })
}

/// Weighted least squares without intercept, minimising `Σ_i w_i ‖y_i − x_i β‖²` for every
/// column of `y` at once, given the rows already scaled and side by side: `s` is row-major
/// `[n, p + k]` holding `[√w·x | √w·y]` (`w ≥ 0`). Returns `β` `[p, k]` from the normal
/// equations, formed by one product.
pub fn weighted_lstsq_scaled(
    op: &'static str,
    s: &[f64],
    n: usize,
    p: usize,
    k: usize,
) -> Result<Array2<f64>> {
    let q = p + k;
    if s.len() != n * q {
        return Err(ExplainError::ShapeMismatch {
            op,
            what: "scaled least-squares rows",
            expected: vec![n, q],
            found: vec![s.len()],
        });
    }
    let normal = gram_columns(s, n, q, p);
    let xtwx = normal.slice(ndarray::s![.., ..p]);
    let xtwy = normal.slice(ndarray::s![.., p..]);
    solve_psd(op, xtwx, xtwy)
}

/// `S[:, ..p]ᵀ · S` for a row-major `[n, q]` buffer `s`, as a `[p, q]` array.
fn gram_columns(s: &[f64], n: usize, q: usize, p: usize) -> Array2<f64> {
    let mut out = Array2::<f64>::zeros((p, q));
    if n == 0 || p == 0 {
        return out;
    }
    let dst = out.as_slice_mut().expect("standard layout");
    // SAFETY: `s` holds `n·q` elements; the left operand is its first `p` columns read
    // transposed (`[p, n]`: row stride 1, column stride q), the right operand all of it
    // (`[n, q]`), and `dst` is a fresh `[p, q]` row-major buffer. `gemm` computes
    // dst = 1·dst + 1·lhs·rhs with dst zero, single-threaded (callers run in parallel).
    unsafe {
        gemm_strided(
            p,
            q,
            n,
            dst.as_mut_ptr(),
            q as isize,
            1,
            false,
            Strided {
                ptr: s.as_ptr(),
                rs: 1,
                cs: q as isize,
            },
            Strided {
                ptr: s.as_ptr(),
                rs: q as isize,
                cs: 1,
            },
            0.0f64,
            1.0f64,
        );
    }
    out
}

/// A fitted weighted ridge regression `y ≈ intercept + x · coef` (one target).
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeFit {
    /// Coefficients, one per feature.
    pub coef: Array1<f64>,
    /// Intercept.
    pub intercept: f64,
    /// Weighted coefficient of determination R² on the training rows.
    pub r2: f64,
}

/// Weighted ridge regression with an unpenalised intercept, as scikit-learn's
/// `Ridge(alpha).fit(x, y, sample_weight=w)`; R² is `Ridge.score(x, y, sample_weight=w)`.
pub fn weighted_ridge(
    op: &'static str,
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    w: ArrayView1<f64>,
    alpha: f64,
) -> Result<RidgeFit> {
    let sw: f64 = w.sum();
    if sw <= 0.0 {
        return Err(ExplainError::invalid(
            op,
            "weights",
            "sum of sample weights must be positive",
        ));
    }
    let x_off = x.t().dot(&w) / sw;
    let y_off = y.dot(&w) / sw;
    let xc = &x - &x_off.view().insert_axis(Axis(0));
    let yc = &y - y_off;
    let wxc = &xc * &w.insert_axis(Axis(1));
    let mut a = wxc.t().dot(&xc);
    for i in 0..a.nrows() {
        a[[i, i]] += alpha;
    }
    let b = wxc.t().dot(&yc).insert_axis(Axis(1));
    let coef = solve_psd(op, a.view(), b.view())?.column(0).to_owned();
    let intercept = y_off - x_off.dot(&coef);
    let pred = x.dot(&coef) + intercept;
    let ss_res: f64 = (&pred - &y).mapv(|v| v * v).dot(&w);
    let ss_tot: f64 = yc.mapv(|v| v * v).dot(&w);
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res <= 1e-12 {
        1.0
    } else {
        0.0
    };
    Ok(RidgeFit {
        coef,
        intercept,
        r2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn solve_matches_hand_solution() {
        // 2x + y = 5, x + 3y = 10  =>  x = 1, y = 3
        let a = array![[2.0, 1.0], [1.0, 3.0]];
        let b = array![[5.0], [10.0]];
        let x = solve(a.view(), b.view()).unwrap();
        assert!((x[[0, 0]] - 1.0).abs() < 1e-12 && (x[[1, 0]] - 3.0).abs() < 1e-12);
        assert!(solve(array![[1.0, 2.0], [2.0, 4.0]].view(), b.view()).is_none());
    }

    #[test]
    fn ridge_with_zero_alpha_recovers_exact_line() {
        let x = array![[0.0], [1.0], [2.0], [3.0]];
        let y = array![1.0, 3.0, 5.0, 7.0];
        let w = array![1.0, 2.0, 1.0, 0.5];
        let fit = weighted_ridge("t", x.view(), y.view(), w.view(), 0.0).unwrap();
        assert!((fit.coef[0] - 2.0).abs() < 1e-10);
        assert!((fit.intercept - 1.0).abs() < 1e-10);
        assert!((fit.r2 - 1.0).abs() < 1e-12);
        // alpha > 0 shrinks the slope: closed form for one feature
        // beta = Sxy / (Sxx + alpha) with weighted centred sums.
        let fit = weighted_ridge("t", x.view(), y.view(), w.view(), 1.0).unwrap();
        let sw = 4.5;
        let xm = (0.0 + 2.0 + 2.0 + 1.5) / sw;
        let ym = (1.0 + 6.0 + 5.0 + 3.5) / sw;
        let sxy: f64 = [
            (0.0, 1.0, 1.0),
            (1.0, 3.0, 2.0),
            (2.0, 5.0, 1.0),
            (3.0, 7.0, 0.5),
        ]
        .iter()
        .map(|(a, b, c)| c * (a - xm) * (b - ym))
        .sum();
        let sxx: f64 = [(0.0, 1.0), (1.0, 2.0), (2.0, 1.0), (3.0, 0.5)]
            .iter()
            .map(|(a, c)| c * (a - xm) * (a - xm))
            .sum();
        assert!((fit.coef[0] - sxy / (sxx + 1.0)).abs() < 1e-12);
    }

    #[test]
    fn weighted_lstsq_two_outputs() {
        // y = x·[[1, 2], [0.5, 4]] exactly on three rows, plus one row off the plane with a
        // tiny weight: the fit must stay close to the plane, and weights must matter.
        let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]];
        let y = array![[1.0, 2.0], [0.5, 4.0], [1.5, 6.0], [10.0, -10.0]];
        let fit = |w: [f64; 4]| {
            let mut s = Vec::new();
            for i in 0..4 {
                let r = w[i].sqrt();
                s.extend([r * x[[i, 0]], r * x[[i, 1]], r * y[[i, 0]], r * y[[i, 1]]]);
            }
            weighted_lstsq_scaled("t", &s, 4, 2, 2).unwrap()
        };
        let b = fit([1.0, 1.0, 1.0, 0.0]);
        let want = [[1.0, 2.0], [0.5, 4.0]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((b[[i, j]] - want[i][j]).abs() < 1e-12, "{b}");
            }
        }
        // With weight on the outlier the normal equations give the weighted solution:
        // compare with a direct 2x2 solve of XᵀWX β = XᵀWy.
        let w = [1.0, 2.0, 0.5, 0.25];
        let b = fit(w);
        let mut a = [[0.0; 2]; 2];
        let mut r = [[0.0; 2]; 2];
        for i in 0..4 {
            for p in 0..2 {
                for q in 0..2 {
                    a[p][q] += w[i] * x[[i, p]] * x[[i, q]];
                    r[p][q] += w[i] * x[[i, p]] * y[[i, q]];
                }
            }
        }
        let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
        for c in 0..2 {
            let b0 = (a[1][1] * r[0][c] - a[0][1] * r[1][c]) / det;
            let b1 = (a[0][0] * r[1][c] - a[1][0] * r[0][c]) / det;
            assert!((b[[0, c]] - b0).abs() < 1e-12 && (b[[1, c]] - b1).abs() < 1e-12);
        }
        assert!(weighted_lstsq_scaled("t", &[1.0; 5], 2, 1, 1).is_err());
    }
}
