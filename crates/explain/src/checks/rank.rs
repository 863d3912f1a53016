//! Rank statistics for comparing attribution maps.

use ndarray::ArrayView1;

use crate::error::{ExplainError, Result};

/// Ranks `1..=n` with ties given their average rank (as `scipy.stats.rankdata`).
pub fn ranks(v: ArrayView1<f64>) -> Vec<f64> {
    let n = v.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &p in &idx[i..=j] {
            r[p] = avg;
        }
        i = j + 1;
    }
    r
}

fn check(op: &'static str, a: ArrayView1<f64>, b: ArrayView1<f64>) -> Result<()> {
    if a.len() != b.len() || a.len() < 2 {
        return Err(ExplainError::ShapeMismatch {
            op,
            what: "second vector (need equal lengths >= 2)",
            expected: vec![a.len()],
            found: vec![b.len()],
        });
    }
    if let Some(i) = a.iter().chain(b.iter()).position(|v| !v.is_finite()) {
        return Err(ExplainError::invalid(
            op,
            "values",
            format!("non-finite value at flat index {i}"),
        ));
    }
    Ok(())
}

fn pearson_slices(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let mut sab = 0.0;
    let mut saa = 0.0;
    let mut sbb = 0.0;
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Pearson correlation (0 when either vector is constant).
pub fn pearson(a: ArrayView1<f64>, b: ArrayView1<f64>) -> Result<f64> {
    check("pearson", a, b)?;
    Ok(pearson_slices(&a.to_vec(), &b.to_vec()))
}

/// Spearman rank correlation: Pearson correlation of average ranks. Used by the
/// model-randomisation sanity check: attributions of a trained and of a re-initialised
/// model should have a low rank correlation.
pub fn spearman(a: ArrayView1<f64>, b: ArrayView1<f64>) -> Result<f64> {
    check("spearman", a, b)?;
    Ok(pearson_slices(&ranks(a), &ranks(b)))
}

/// Model-randomisation sanity check (Adebayo et al., 2018): Spearman rank correlation,
/// per input row, between attributions of the trained model and of a model with
/// re-initialised weights (on |attribution| when `absolute`, as in the paper's main
/// figures). Faithful methods give low correlations (e.g. below 0.5).
pub fn randomisation_check(
    trained: ndarray::ArrayView2<f64>,
    randomised: ndarray::ArrayView2<f64>,
    absolute: bool,
) -> Result<ndarray::Array1<f64>> {
    const OP: &str = "randomisation_check";
    if trained.dim() != randomised.dim() {
        return Err(ExplainError::ShapeMismatch {
            op: OP,
            what: "randomised-model attributions",
            expected: trained.shape().to_vec(),
            found: randomised.shape().to_vec(),
        });
    }
    trained
        .outer_iter()
        .zip(randomised.outer_iter())
        .map(|(a, b)| {
            if absolute {
                spearman(a.mapv(f64::abs).view(), b.mapv(f64::abs).view())
            } else {
                spearman(a, b)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hand_computed_correlations() {
        assert_eq!(
            ranks(array![10.0, 20.0, 10.0, 5.0].view()),
            vec![2.5, 4.0, 2.5, 1.0]
        );
        // monotone but non-linear: Spearman 1, Pearson < 1
        let a = array![1.0, 2.0, 3.0, 4.0];
        let b = array![1.0, 4.0, 9.0, 100.0];
        assert!((spearman(a.view(), b.view()).unwrap() - 1.0).abs() < 1e-12);
        assert!(pearson(a.view(), b.view()).unwrap() < 0.99);
        // d = rank differences [0, 0, 1, -1] → ρ = 1 − 6·2/(4·15) = 0.8
        let c = array![1.0, 2.0, 4.0, 3.0];
        assert!((spearman(a.view(), c.view()).unwrap() - 0.8).abs() < 1e-12);
        assert!(spearman(a.view(), array![1.0].view()).is_err());
        // per-row check: identical maps correlate 1, reversed maps −1 (0.8 on |·| for
        // row 2 where signs differ but magnitudes keep the order of row c)
        let t = array![[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]];
        let r = array![[1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -4.0, -3.0]];
        let plain = randomisation_check(t.view(), r.view(), false).unwrap();
        assert!((plain[0] - 1.0).abs() < 1e-12 && (plain[1] + 0.8).abs() < 1e-12);
        let abs = randomisation_check(t.view(), r.view(), true).unwrap();
        assert!((abs[1] - 0.8).abs() < 1e-12);
    }
}
