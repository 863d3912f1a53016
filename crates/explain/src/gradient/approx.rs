//! Path-integral approximation rules of Integrated Gradients, exactly as Captum's
//! `captum.attr._utils.approximation_methods` defines them.

use super::error::{GradientError, Result};

/// A quadrature rule over `α ∈ [0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Approximation {
    /// Left Riemann sum: `α = linspace(0, 1 − 1/n, n)`, weights `1/n`.
    RiemannLeft,
    /// Right Riemann sum: `α = linspace(1/n, 1, n)`, weights `1/n`.
    RiemannRight,
    /// Midpoint Riemann sum: `α = linspace(1/(2n), 1 − 1/(2n), n)`, weights `1/n`.
    RiemannMiddle,
    /// Captum's trapezoid: `α = linspace(0, 1, n)`, weights `1/n` with the first and last
    /// halved (so they sum to `(n − 1)/n`, as in Captum).
    RiemannTrapezoid,
    /// Gauss–Legendre with `n` nodes mapped to `[0, 1]` (Captum's default).
    #[default]
    GaussLegendre,
}

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    // torch.linspace works in float32 by default; round like it does.
    (0..n)
        .map(|i| (a + (b - a) * i as f64 / (n - 1) as f64) as f32 as f64)
        .collect()
}

/// Gauss–Legendre nodes and weights on `[-1, 1]`, ascending (NumPy's `leggauss`).
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let pn = if n == 0 { 1.0 } else { p1 };
            let pn1 = if n == 1 { 1.0 } else { p0 };
            dp = n as f64 * (x * pn - pn1) / (x * x - 1.0);
            let dx = pn / dp;
            x -= dx;
            if dx.abs() < 1e-15 {
                break;
            }
        }
        nodes[n - 1 - i] = x;
        weights[n - 1 - i] = 2.0 / ((1.0 - x * x) * dp * dp);
    }
    (nodes, weights)
}

impl Approximation {
    /// The points `α` and weights of the rule with `n` points.
    pub fn alphas_and_weights(self, n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        let min = if self == Approximation::GaussLegendre {
            1
        } else {
            2
        };
        if n < min {
            return Err(GradientError::InvalidArgument {
                op: "integrated_gradients",
                field: "steps",
                reason: format!("{self:?} needs at least {min} steps, got {n}"),
            });
        }
        let nf = n as f64;
        let w = vec![1.0 / nf; n];
        Ok(match self {
            Approximation::RiemannLeft => (linspace(0.0, 1.0 - 1.0 / nf, n), w),
            Approximation::RiemannRight => (linspace(1.0 / nf, 1.0, n), w),
            Approximation::RiemannMiddle => {
                (linspace(1.0 / (2.0 * nf), 1.0 - 1.0 / (2.0 * nf), n), w)
            }
            Approximation::RiemannTrapezoid => {
                let mut w = w;
                w[0] /= 2.0;
                w[n - 1] /= 2.0;
                (linspace(0.0, 1.0, n), w)
            }
            Approximation::GaussLegendre => {
                let (x, w) = gauss_legendre(n);
                (
                    x.iter().map(|v| 0.5 * (1.0 + v)).collect(),
                    w.iter().map(|v| 0.5 * v).collect(),
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_matches_known_nodes_and_integrates_polynomials() {
        let (x, w) = gauss_legendre(2);
        let r = 1.0 / 3f64.sqrt();
        assert!((x[0] + r).abs() < 1e-14 && (x[1] - r).abs() < 1e-14);
        assert!((w[0] - 1.0).abs() < 1e-14 && (w[1] - 1.0).abs() < 1e-14);
        // n nodes integrate x^(2n-1) exactly on [0, 1]: 1/(2n).
        for n in [1usize, 3, 8, 50] {
            let (a, w) = Approximation::GaussLegendre.alphas_and_weights(n).unwrap();
            let s: f64 = a
                .iter()
                .zip(&w)
                .map(|(a, w)| w * a.powi(2 * n as i32 - 1))
                .sum();
            assert!((s - 1.0 / (2 * n) as f64).abs() < 1e-12, "n={n}: {s}");
            assert!(a.windows(2).all(|p| p[0] < p[1]));
        }
    }

    #[test]
    fn riemann_rules_as_captum() {
        let (a, w) = Approximation::RiemannTrapezoid
            .alphas_and_weights(5)
            .unwrap();
        assert_eq!(a, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(w, vec![0.1, 0.2, 0.2, 0.2, 0.1]);
        let (a, _) = Approximation::RiemannMiddle.alphas_and_weights(4).unwrap();
        assert_eq!(a, vec![0.125, 0.375, 0.625, 0.875]);
        assert!(Approximation::RiemannLeft.alphas_and_weights(1).is_err());
    }
}
