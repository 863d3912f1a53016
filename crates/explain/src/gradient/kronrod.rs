//! Gauss–Kronrod rules: the `n` Gauss–Legendre nodes extended by the `n + 1` zeros of the
//! Stieltjes polynomial `E_{n+1}` (Kronrod 1965), so that one set of `2n + 1` points gives
//! two estimates of an integral, the `n`-point Gauss rule and the `2n + 1`-point Kronrod
//! rule (exact for polynomials of degree `3n + 1`, `3n + 2` for odd `n`), and their
//! difference estimates the Gauss rule's error.

use ndarray::{Array2, Axis};

use super::approx::gauss_legendre;
use crate::linalg::solve;

/// A Gauss–Kronrod pair on `[-1, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussKronrod {
    /// The `2n + 1` nodes, ascending.
    pub nodes: Vec<f64>,
    /// Kronrod weights of the nodes.
    pub kronrod_weights: Vec<f64>,
    /// Gauss–Legendre weights on the same nodes: zero at the `n + 1` Kronrod nodes.
    pub gauss_weights: Vec<f64>,
}

/// `P_0(x), …, P_m(x)` (Legendre polynomials, `P_k(1) = 1`).
fn legendre_all(x: f64, m: usize) -> Vec<f64> {
    let mut p = Vec::with_capacity(m + 1);
    p.push(1.0);
    if m >= 1 {
        p.push(x);
    }
    for k in 2..=m {
        let v = ((2 * k - 1) as f64 * x * p[k - 1] - (k - 1) as f64 * p[k - 2]) / k as f64;
        p.push(v);
    }
    p
}

/// The Gauss–Kronrod pair extending the `n`-point Gauss–Legendre rule (`n ≥ 1`), or
/// `None` for `n = 0` or when the linear algebra fails (not for the `n` up to 255 the
/// tests cover).
///
/// `E_{n+1} = P_{n+1} + Σ c_i P_i` is fixed by `∫ P_n E_{n+1} P_k = 0` for `k ≤ n`
/// (triple products of Legendre polynomials, exact by a Gauss rule of `2n + 2` points; only
/// `i ≡ n + 1` and odd `k` take part, by parity); its zeros interlace with the Gauss nodes
/// and are found by bisection between them. The Kronrod weights make the rule exact on
/// `P_0 … P_{2n}`.
pub fn gauss_kronrod(n: usize) -> Option<GaussKronrod> {
    if n == 0 {
        return None;
    }
    let (gauss, gauss_w) = gauss_legendre(n);
    // Triple products ∫ P_n P_i P_k by a rule exact to degree 4n + 3.
    let (qx, qw) = gauss_legendre(2 * n + 2);
    let table: Vec<Vec<f64>> = qx.iter().map(|&x| legendre_all(x, n + 1)).collect();
    let triple = |i: usize, k: usize| -> f64 {
        table
            .iter()
            .zip(&qw)
            .map(|(p, w)| w * p[n] * p[i] * p[k])
            .sum()
    };
    let unknowns: Vec<usize> = (0..n).rev().step_by(2).collect(); // n − 1, n − 3, …
    let equations: Vec<usize> = (1..=n).step_by(2).collect(); // odd k ≤ n
    debug_assert_eq!(unknowns.len(), equations.len());
    let m = unknowns.len();
    let mut c = vec![0.0; n + 2];
    c[n + 1] = 1.0;
    if m > 0 {
        let a = Array2::from_shape_fn((m, m), |(r, s)| triple(unknowns[s], equations[r]));
        let b = Array2::from_shape_fn((m, 1), |(r, _)| -triple(n + 1, equations[r]));
        let sol = solve(a.view(), b.view())?;
        for (s, &i) in unknowns.iter().enumerate() {
            c[i] = sol[[s, 0]];
        }
    }
    let e = |x: f64| -> f64 {
        legendre_all(x, n + 1)
            .iter()
            .zip(&c)
            .map(|(p, c)| p * c)
            .sum()
    };
    // One zero in each gap of −1, the Gauss nodes, 1.
    let mut ends = vec![-1.0];
    ends.extend_from_slice(&gauss);
    ends.push(1.0);
    let mut kronrod = Vec::with_capacity(n + 1);
    for w in ends.windows(2) {
        let (mut lo, mut hi) = (w[0], w[1]);
        let mut flo = e(lo);
        if flo * e(hi) > 0.0 {
            return None;
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            let fm = e(mid);
            if (fm < 0.0) == (flo < 0.0) {
                lo = mid;
                flo = fm;
            } else {
                hi = mid;
            }
        }
        kronrod.push(0.5 * (lo + hi));
    }
    // Interleave: E's zeros at even positions, the Gauss nodes at odd ones.
    let mut nodes = Vec::with_capacity(2 * n + 1);
    let mut gauss_weights = Vec::with_capacity(2 * n + 1);
    for (k, &z) in kronrod.iter().enumerate() {
        nodes.push(z);
        gauss_weights.push(0.0);
        if k < n {
            nodes.push(gauss[k]);
            gauss_weights.push(gauss_w[k]);
        }
    }
    // Exact on P_0 … P_{2n}: Σ_j w_j P_k(x_j) = 2 δ_k0.
    let size = 2 * n + 1;
    let mut v = Array2::zeros((size, size));
    for (j, &x) in nodes.iter().enumerate() {
        for (k, p) in legendre_all(x, 2 * n).into_iter().enumerate() {
            v[[k, j]] = p;
        }
    }
    let mut rhs = Array2::zeros((size, 1));
    rhs[[0, 0]] = 2.0;
    let w = solve(v.view(), rhs.view())?;
    let kronrod_weights: Vec<f64> = w.index_axis(Axis(1), 0).to_vec();
    Some(GaussKronrod {
        nodes,
        kronrod_weights,
        gauss_weights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QUADPACK's `qk15` (G7–K15): the largest node and the Kronrod weights of the largest
    /// and the middle node.
    #[test]
    fn matches_quadpack_qk15() {
        let r = gauss_kronrod(7).unwrap();
        assert_eq!(r.nodes.len(), 15);
        assert!((r.nodes[14] - 0.991_455_371_120_812_6).abs() < 1e-14);
        assert!((r.kronrod_weights[14] - 0.022_935_322_010_529_22).abs() < 1e-14);
        assert!((r.kronrod_weights[7] - 0.209_482_141_084_727_8).abs() < 1e-14);
        assert!(r.nodes[7].abs() < 1e-15);
    }

    /// The Kronrod rule integrates `x^d` exactly up to degree `3n + 1` (`3n + 2` for odd
    /// `n`), the embedded Gauss rule up to `2n − 1`, and fails one degree higher.
    #[test]
    fn degrees_of_exactness() {
        for n in [1, 2, 3, 7, 10, 15, 31, 63] {
            let r = gauss_kronrod(n).unwrap();
            assert!(r.nodes.windows(2).all(|w| w[0] < w[1]), "n = {n}");
            assert!(r.kronrod_weights.iter().all(|&w| w > 0.0), "n = {n}");
            let integral = |w: &[f64], d: i32| -> f64 {
                r.nodes.iter().zip(w).map(|(x, w)| w * x.powi(d)).sum()
            };
            let exact = |d: i32| {
                if d % 2 == 1 {
                    0.0
                } else {
                    2.0 / (d + 1) as f64
                }
            };
            let top = (3 * n + 1 + n % 2) as i32;
            for d in 0..=top {
                let err = (integral(&r.kronrod_weights, d) - exact(d)).abs();
                assert!(err < 1e-12, "n = {n}, degree {d}: {err}");
            }
            for d in 0..2 * n as i32 {
                let err = (integral(&r.gauss_weights, d) - exact(d)).abs();
                assert!(err < 1e-12, "n = {n}, Gauss degree {d}: {err}");
            }
            // The next even degree, on P_d (∫ P_d = 0), where the error is not tiny.
            let d = (top + 1 + (top + 1) % 2) as usize;
            let pd: f64 = r
                .nodes
                .iter()
                .zip(&r.kronrod_weights)
                .map(|(&x, w)| w * legendre_all(x, d)[d])
                .sum();
            assert!(pd.abs() > 1e-6, "n = {n}: {pd}");
        }
    }

    /// The largest pairs the adaptive LIG rule reaches within its budget (up to
    /// `G_255`/`K_511`): ascending nodes, positive weights adding up to 2, and exact on
    /// `x²` and `x⁴`.
    #[test]
    fn large_pairs_are_well_formed() {
        for n in [127, 255] {
            let r = gauss_kronrod(n).unwrap_or_else(|| panic!("n = {n}"));
            assert_eq!(r.nodes.len(), 2 * n + 1);
            assert!(r.nodes.windows(2).all(|w| w[0] < w[1]), "n = {n}");
            assert!(r.kronrod_weights.iter().all(|&w| w > 0.0), "n = {n}");
            for (d, exact) in [(0, 2.0), (2, 2.0 / 3.0), (4, 0.4)] {
                let k: f64 = r
                    .nodes
                    .iter()
                    .zip(&r.kronrod_weights)
                    .map(|(x, w)| w * x.powi(d))
                    .sum();
                let g: f64 = r
                    .nodes
                    .iter()
                    .zip(&r.gauss_weights)
                    .map(|(x, w)| w * x.powi(d))
                    .sum();
                assert!(
                    (k - exact).abs() < 1e-12 && (g - exact).abs() < 1e-12,
                    "n = {n}, degree {d}"
                );
            }
        }
    }
}
