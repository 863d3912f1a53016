//! Seeded k-means (k-means++ initialisation, Lloyd iterations, several restarts).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::error::{ExplainError, Result};
use crate::predictor::check_matrix;
use crate::rng::{cumulative, Rng};

/// Settings of [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansConfig {
    /// Number of clusters (at most the number of rows).
    pub k: usize,
    /// Independent restarts; the run with the lowest inertia wins.
    pub n_init: usize,
    /// Maximum Lloyd iterations per restart.
    pub max_iter: usize,
    /// Stop when no centre moves by more than this (squared Euclidean).
    pub tol: f64,
    /// Seed of the k-means++ initialisation.
    pub seed: u64,
    /// Replace each centre coordinate by the nearest value of that feature in the data
    /// (`shap.kmeans(round_values=True)`), so centres stay on the data's value grid.
    pub round_values: bool,
}

impl Default for KMeansConfig {
    fn default() -> Self {
        KMeansConfig {
            k: 10,
            n_init: 4,
            max_iter: 300,
            tol: 1e-10,
            seed: 0,
            round_values: true,
        }
    }
}

/// Result of [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Cluster centres `[k, features]`.
    pub centers: Array2<f64>,
    /// Cluster of each row.
    pub labels: Vec<usize>,
    /// Number of rows in each cluster.
    pub counts: Array1<usize>,
    /// Sum of squared distances of rows to their centre (before rounding).
    pub inertia: f64,
}

fn sq_dist(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(row: ArrayView1<f64>, centers: &Array2<f64>) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, center) in centers.outer_iter().enumerate() {
        let d = sq_dist(row, center);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

fn plus_plus_init(x: ArrayView2<f64>, k: usize, rng: &mut Rng) -> Array2<f64> {
    let n = x.nrows();
    let mut centers = Array2::zeros((k, x.ncols()));
    centers.row_mut(0).assign(&x.row(rng.below(n)));
    let mut d2: Vec<f64> = x.outer_iter().map(|r| sq_dist(r, centers.row(0))).collect();
    for c in 1..k {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            rng.weighted_index(&cumulative(&d2))
        } else {
            rng.below(n)
        };
        centers.row_mut(c).assign(&x.row(pick));
        for (i, r) in x.outer_iter().enumerate() {
            d2[i] = d2[i].min(sq_dist(r, centers.row(c)));
        }
    }
    centers
}

fn lloyd(x: ArrayView2<f64>, mut centers: Array2<f64>, cfg: &KMeansConfig) -> KMeans {
    let (n, k) = (x.nrows(), centers.nrows());
    let mut labels = vec![0; n];
    for _ in 0..cfg.max_iter {
        for (i, r) in x.outer_iter().enumerate() {
            labels[i] = nearest(r, &centers).0;
        }
        let mut sums = Array2::<f64>::zeros(centers.raw_dim());
        let mut counts = vec![0usize; k];
        for (i, r) in x.outer_iter().enumerate() {
            let mut s = sums.row_mut(labels[i]);
            s += &r;
            counts[labels[i]] += 1;
        }
        let mut shift: f64 = 0.0;
        for (c, &count) in counts.iter().enumerate() {
            if count == 0 {
                // Empty cluster: move it to the row farthest from its centre.
                let far = (0..n)
                    .max_by(|&a, &b| {
                        let da = sq_dist(x.row(a), centers.row(labels[a]));
                        let db = sq_dist(x.row(b), centers.row(labels[b]));
                        da.total_cmp(&db)
                    })
                    .unwrap_or(0);
                centers.row_mut(c).assign(&x.row(far));
                shift = f64::INFINITY;
                continue;
            }
            let new = sums.row(c).mapv(|v| v / count as f64);
            shift = shift.max(sq_dist(new.view(), centers.row(c)));
            centers.row_mut(c).assign(&new);
        }
        if shift <= cfg.tol {
            break;
        }
    }
    let mut inertia = 0.0;
    let mut counts = Array1::zeros(k);
    for (i, r) in x.outer_iter().enumerate() {
        let (c, d) = nearest(r, &centers);
        labels[i] = c;
        counts[c] += 1;
        inertia += d;
    }
    KMeans {
        centers,
        labels,
        counts,
        inertia,
    }
}

/// Clusters the rows of `x` into `cfg.k` groups.
///
/// k-means++ seeding (Arthur & Vassilvitskii, 2007), then Lloyd's algorithm; the best of
/// `n_init` restarts by inertia is returned. Deterministic for a given seed.
pub fn kmeans(x: ArrayView2<f64>, cfg: &KMeansConfig) -> Result<KMeans> {
    const OP: &str = "kmeans";
    check_matrix(OP, "data", x)?;
    if cfg.k == 0 || cfg.k > x.nrows() {
        return Err(ExplainError::invalid(
            OP,
            "k",
            format!(
                "k = {} must be in 1..={} (the number of rows)",
                cfg.k,
                x.nrows()
            ),
        ));
    }
    let mut best: Option<KMeans> = None;
    for run in 0..cfg.n_init.max(1) {
        let mut rng = Rng::derive(cfg.seed, run as u64);
        let init = plus_plus_init(x, cfg.k, &mut rng);
        let fit = lloyd(x, init, cfg);
        if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
            best = Some(fit);
        }
    }
    let mut best = best.expect("n_init >= 1");
    if cfg.round_values {
        for j in 0..x.ncols() {
            for c in 0..cfg.k {
                let v = best.centers[[c, j]];
                let nearest = x
                    .column(j)
                    .iter()
                    .copied()
                    .min_by(|a, b| (a - v).abs().total_cmp(&(b - v).abs()))
                    .unwrap_or(v);
                best.centers[[c, j]] = nearest;
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn separates_two_obvious_clusters() {
        let x = array![
            [0.0, 0.0],
            [0.1, 0.0],
            [0.0, 0.1],
            [10.0, 10.0],
            [10.1, 10.0]
        ];
        let km = kmeans(
            x.view(),
            &KMeansConfig {
                k: 2,
                round_values: false,
                ..Default::default()
            },
        )
        .unwrap();
        let mut counts = km.counts.to_vec();
        counts.sort_unstable();
        assert_eq!(counts, vec![2, 3]);
        assert_eq!(km.labels[0], km.labels[2]);
        assert_ne!(km.labels[0], km.labels[3]);
        // centre of the big cluster is the mean of its rows
        let c = km.labels[0];
        assert!((km.centers[[c, 0]] - 0.1 / 3.0).abs() < 1e-12);
        // hand computation: cluster A deviations, cluster B deviations (±0.05 in x)
        let a_dev: f64 = [[0.0f64, 0.0], [0.1, 0.0], [0.0, 0.1]]
            .iter()
            .map(|p| (p[0] - 0.1 / 3.0).powi(2) + (p[1] - 0.1 / 3.0).powi(2))
            .sum();
        assert!((km.inertia - (a_dev + 2.0 * 0.05f64.powi(2))).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_k() {
        let x = array![[0.0], [1.0]];
        let cfg = KMeansConfig {
            k: 3,
            ..Default::default()
        };
        assert!(matches!(
            kmeans(x.view(), &cfg),
            Err(ExplainError::InvalidArgument { field: "k", .. })
        ));
    }
}
