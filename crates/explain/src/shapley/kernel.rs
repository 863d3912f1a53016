//! Kernel SHAP (Lundberg & Lee, 2017, "A Unified Approach to Interpreting Model Predictions").

use std::collections::HashMap;
use std::ops::Range;

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2};

use super::{coalition_values, explain_inputs, Background, ShapleyValues};
use crate::error::{ExplainError, Result};
use crate::linalg::weighted_lstsq_scaled;
use crate::predictor::{Predictor, DEFAULT_MAX_BATCH_ROWS};
use crate::rng::{cumulative, Rng};

const OP: &str = "KernelShap";

/// Settings of [`KernelShap`].
#[derive(Debug, Clone, PartialEq)]
pub struct KernelShapConfig {
    /// Coalition budget per input. `None` uses `2·M + 2048` (the `shap` default). When
    /// `2^M − 2` coalitions fit in the budget every coalition is enumerated and the result is
    /// exactly the Shapley values.
    pub n_samples: Option<usize>,
    /// Seed of the coalition sampler (inputs use independent derived streams).
    pub seed: u64,
    /// Cap on rows per predictor call (coalitions × background rows).
    pub max_batch_rows: usize,
}

impl Default for KernelShapConfig {
    fn default() -> Self {
        KernelShapConfig {
            n_samples: None,
            seed: 0,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
        }
    }
}

/// Kernel SHAP explainer over a predictor and a background set.
///
/// Coalitions `z ∈ {0,1}^M` are weighted with the Shapley kernel
/// `π(z) = (M−1) / (C(M,|z|)·|z|·(M−|z|))` and the linear model
/// `v(z) ≈ φ₀ + Σ_j z_j φ_j` is fitted by weighted least squares with the efficiency
/// constraint `Σ_j φ_j = f(x) − φ₀` imposed exactly (by eliminating the last varying
/// feature). Coalitions are enumerated when `2^M − 2 ≤ n_samples`; otherwise the sizes
/// whose coalitions all fit in the budget are enumerated (smallest and largest sizes first,
/// as `shap` does) and the rest sampled in complementary pairs with kernel weights.
/// Features on which `x` equals every background row cannot change the value function and
/// get exactly 0 (as in `shap`). No L1 feature selection is applied.
#[derive(Debug)]
pub struct KernelShap<'a, P: Predictor + ?Sized> {
    predictor: &'a P,
    background: Background,
    config: KernelShapConfig,
    expected: Array1<f64>,
}

impl<'a, P: Predictor + ?Sized> KernelShap<'a, P> {
    /// Creates the explainer and evaluates `E_b[f(b)]` on the background.
    pub fn new(predictor: &'a P, background: Background, config: KernelShapConfig) -> Result<Self> {
        if config.n_samples == Some(0) {
            return Err(ExplainError::invalid(OP, "n_samples", "must be positive"));
        }
        let expected = background.expected_value(OP, predictor)?;
        Ok(KernelShap {
            predictor,
            background,
            config,
            expected,
        })
    }

    /// `E_b[f(b)]` per output.
    pub fn expected_value(&self) -> ArrayView1<'_, f64> {
        self.expected.view()
    }

    /// Explains every row of `x` (`[inputs, features]`), in parallel over inputs.
    pub fn explain(&self, x: ArrayView2<f64>) -> Result<ShapleyValues> {
        self.explain_rows(x, 0..x.nrows())
    }

    /// Explains the rows `rows` of `x` only: the result holds exactly those rows of
    /// [`explain`](KernelShap::explain)`(x)`, bit for bit (row `i`'s coalitions are drawn
    /// from the stream derived from the seed and `i`, and `f(x)` is evaluated on all of
    /// `x`). Processes of a distributed job each explain their share of the rows this way.
    pub fn explain_rows(&self, x: ArrayView2<f64>, rows: Range<usize>) -> Result<ShapleyValues> {
        explain_inputs(
            OP,
            self.predictor,
            &self.background,
            &self.expected,
            x,
            rows,
            |i, xi, fi| self.explain_one(i, xi, fi),
        )
    }

    fn explain_one(
        &self,
        index: usize,
        x: ArrayView1<f64>,
        fx: ArrayView1<f64>,
    ) -> Result<Array2<f64>> {
        let m_all = x.len();
        let k = self.expected.len();
        let bg = self.background.data();
        let varying: Vec<usize> = (0..m_all)
            .filter(|&j| bg.column(j).iter().any(|&b| b != x[j]))
            .collect();
        let mut phi = Array2::zeros((m_all, k));
        let delta = &fx - &self.expected;
        let m = varying.len();
        if m == 0 {
            return Ok(phi);
        }
        if m == 1 {
            phi.row_mut(varying[0]).assign(&delta);
            return Ok(phi);
        }
        let budget = self.config.n_samples.unwrap_or(2 * m + 2048);
        let mut rng = Rng::derive(self.config.seed, index as u64);
        let (masks, weights) = sample_coalitions(m, budget, &mut rng);
        // Expand masks over the varying features to masks over all features.
        let mut full = Array2::from_elem((masks.nrows(), m_all), true);
        for (r, mrow) in masks.outer_iter().enumerate() {
            for (vi, &j) in varying.iter().enumerate() {
                full[[r, j]] = mrow[vi];
            }
        }
        let v = coalition_values(
            OP,
            self.predictor,
            x,
            &self.background,
            full.view(),
            k,
            self.config.max_batch_rows,
        )?;
        let beta = solve_constrained(
            masks.view(),
            weights.view(),
            v.view(),
            self.expected.view(),
            delta.view(),
        )?;
        for (vi, &j) in varying.iter().enumerate() {
            phi.row_mut(j).assign(&beta.row(vi));
        }
        Ok(phi)
    }
}

/// Efficiency-constrained weighted least squares: returns `φ` `[m, outputs]` with
/// `Σ_j φ_j = delta` exactly.
///
/// The last feature is eliminated (`φ_m = delta − Σ_{j<m} φ_j`), which leaves the
/// unconstrained problem with design `z_j − z_m` and target `v − base − z_m · delta`; its
/// rows, scaled by `√w`, are written straight into one `[n, m − 1 + outputs]` buffer for
/// [`weighted_lstsq_scaled`].
fn solve_constrained(
    masks: ArrayView2<bool>,
    w: ArrayView1<f64>,
    v: ArrayView2<f64>,
    base: ArrayView1<f64>,
    delta: ArrayView1<f64>,
) -> Result<Array2<f64>> {
    let (n, m) = masks.dim();
    let k = v.ncols();
    let p = m - 1;
    let q = p + k;
    let masks = masks.as_standard_layout();
    let flags = masks.as_slice().expect("standard layout");
    let v = v.as_standard_layout();
    let values = v.as_slice().expect("standard layout");
    // Per output: the target's offset `base` and the eliminated feature's share `delta`.
    let (base, delta_c): (Vec<f64>, Vec<f64>) = (base.to_vec(), delta.to_vec());
    // Appended row by row, never zeroed first (a zeroed buffer cost a memset pass).
    let mut rows = Vec::with_capacity(n * q);
    for ((mask, vr), &wr) in flags.chunks_exact(m).zip(values.chunks_exact(k)).zip(w) {
        let r = wr.max(0.0).sqrt();
        let last = if mask[m - 1] { 1.0 } else { 0.0 };
        rows.extend(
            mask[..p]
                .iter()
                .map(|&z| r * ((if z { 1.0 } else { 0.0 }) - last)),
        );
        rows.extend(
            vr.iter()
                .zip(&base)
                .zip(&delta_c)
                .map(|((&vc, &bc), &dc)| r * (vc - bc - last * dc)),
        );
    }
    let beta = weighted_lstsq_scaled(OP, &rows, n, p, k)?;
    let mut phi = Array2::zeros((m, k));
    phi.slice_mut(s![..m - 1, ..]).assign(&beta);
    for c in 0..k {
        phi[[m - 1, c]] = delta[c] - beta.column(c).sum();
    }
    Ok(phi)
}

fn binomial(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Visits every `size`-subset of `0..m` in lexicographic order.
pub(crate) fn for_each_combination(m: usize, size: usize, mut f: impl FnMut(&[usize])) {
    if size == 0 || size > m {
        return;
    }
    let mut idx: Vec<usize> = (0..size).collect();
    loop {
        f(&idx);
        let mut i = size;
        while i > 0 && idx[i - 1] == m - size + i - 1 {
            i -= 1;
        }
        if i == 0 {
            return;
        }
        idx[i - 1] += 1;
        for j in i..size {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// Chooses coalitions (rows of a `[n, m]` mask, `true` = present) and their kernel weights
/// following `shap.KernelExplainer`: whole subset sizes are enumerated while the budget
/// allows, the remaining weight is spread over sampled complementary pairs (duplicates add
/// weight instead of rows). Requires `m ≥ 2`.
pub(crate) fn sample_coalitions(
    m: usize,
    budget: usize,
    rng: &mut Rng,
) -> (Array2<bool>, Array1<f64>) {
    let total = 2f64.powi(m as i32) - 2.0;
    let budget = if (total as usize) <= budget && m < 63 {
        total as usize
    } else {
        budget
    };
    let num_subset_sizes = (m - 1).div_ceil(2);
    let num_paired = (m - 1) / 2;
    let mut weight_vector: Vec<f64> = (1..=num_subset_sizes)
        .map(|s| (m as f64 - 1.0) / (s as f64 * (m - s) as f64))
        .collect();
    for w in weight_vector.iter_mut().take(num_paired) {
        *w *= 2.0;
    }
    let wsum: f64 = weight_vector.iter().sum();
    weight_vector.iter_mut().for_each(|w| *w /= wsum);

    // Coalitions are stored flat, `m` flags per row.
    let mut rows: Vec<bool> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    let mut num_full = 0;
    let mut left = budget as f64;
    let mut remaining = weight_vector.clone();
    for size in 1..=num_subset_sizes {
        let paired = size <= num_paired;
        let mut nsub = binomial(m, size);
        if paired {
            nsub *= 2.0;
        }
        if left * remaining[size - 1] / nsub < 1.0 - 1e-8 {
            break;
        }
        num_full += 1;
        left -= nsub;
        if remaining[size - 1] < 1.0 {
            let d = 1.0 - remaining[size - 1];
            remaining.iter_mut().for_each(|r| *r /= d);
        }
        let mut w = weight_vector[size - 1] / binomial(m, size);
        if paired {
            w /= 2.0;
        }
        let mut mask = vec![false; m];
        for_each_combination(m, size, |inds| {
            mask.iter_mut().for_each(|b| *b = false);
            inds.iter().for_each(|&i| mask[i] = true);
            if paired {
                rows.extend(mask.iter().map(|b| !b));
                weights.push(w);
            }
            rows.extend_from_slice(&mask);
            weights.push(w);
        });
    }
    let n_fixed = weights.len();
    let mut samples_left = budget.saturating_sub(n_fixed);
    if num_full < num_subset_sizes && samples_left > 0 {
        let mut rem: Vec<f64> = weight_vector.clone();
        for r in rem.iter_mut().take(num_paired) {
            *r /= 2.0;
        }
        let rem = &rem[num_full..];
        let cum = cumulative(rem);
        // Sampled coalitions seen so far, keyed by their bits (64 features per word), with
        // their row and whether their complement follows it.
        let words = m.div_ceil(64);
        let mut used: HashMap<Box<[u64]>, (usize, bool), BitsHasher> =
            HashMap::with_capacity_and_hasher(samples_left, BitsHasher);
        let max_draws = 4 * samples_left;
        let mut draws = 0;
        let mut pool: Vec<usize> = (0..m).collect();
        let mut key = vec![0u64; words];
        while samples_left > 0 && draws < max_draws {
            draws += 1;
            let size = rng.weighted_index(&cum) + num_full + 1;
            // partial Fisher–Yates: a uniformly random `size`-subset
            for i in 0..size {
                let j = i + rng.below(m - i);
                pool.swap(i, j);
            }
            key.iter_mut().for_each(|k| *k = 0);
            pool[..size]
                .iter()
                .for_each(|&i| key[i / 64] |= 1u64 << (i % 64));
            let paired = size <= num_paired;
            match used.get(key.as_slice()) {
                Some(&(pos, has_pair)) => {
                    weights[pos] += 1.0;
                    if paired && has_pair {
                        weights[pos + 1] += 1.0;
                    }
                }
                None => {
                    let pos = weights.len();
                    let start = rows.len();
                    rows.resize(start + m, false);
                    pool[..size].iter().for_each(|&i| rows[start + i] = true);
                    weights.push(1.0);
                    samples_left -= 1;
                    let has_pair = paired && samples_left > 0;
                    if has_pair {
                        rows.extend_from_within(start..start + m);
                        rows[start + m..].iter_mut().for_each(|b| *b = !*b);
                        weights.push(1.0);
                        samples_left -= 1;
                    }
                    used.insert(key.clone().into_boxed_slice(), (pos, has_pair));
                }
            }
        }
        let weight_left: f64 = weight_vector[num_full..].iter().sum();
        let sampled: f64 = weights[n_fixed..].iter().sum();
        if sampled > 0.0 {
            weights[n_fixed..]
                .iter_mut()
                .for_each(|w| *w *= weight_left / sampled);
        }
    }
    let n = weights.len();
    let masks = Array2::from_shape_vec((n, m), rows).expect("m flags per coalition");
    (masks, Array1::from(weights))
}

/// Hasher for coalition bit words: the keys are already uniformly mixed bits, so a
/// multiply-rotate fold (as in rustc's FxHasher) is enough and much cheaper than SipHash.
#[derive(Clone, Copy, Default)]
struct BitsHasher;

impl std::hash::BuildHasher for BitsHasher {
    type Hasher = FoldHasher;
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(0)
    }
}

/// The state of [`BitsHasher`].
struct FoldHasher(u64);

impl std::hash::Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_complete_and_ordered() {
        let mut seen = Vec::new();
        for_each_combination(5, 2, |c| seen.push(c.to_vec()));
        assert_eq!(seen.len(), 10);
        assert_eq!(seen[0], vec![0, 1]);
        assert_eq!(seen[9], vec![3, 4]);
        let mut n = 0;
        for_each_combination(6, 6, |_| n += 1);
        assert_eq!(n, 1);
    }

    #[test]
    fn exact_mode_uses_every_coalition_with_shapley_kernel_weights() {
        let m = 5;
        let (masks, w) = sample_coalitions(m, 1000, &mut Rng::new(0));
        assert_eq!(masks.nrows(), 30); // 2^5 - 2
                                       // π(s) ∝ (M−1)/(C(M,s)·s·(M−s)): sizes 1 and 2 have ratio (1/(5·4)) / (1/(10·6)) = 3
        let weight_of = |size: usize| {
            (0..masks.nrows())
                .find(|&r| masks.row(r).iter().filter(|&&b| b).count() == size)
                .map(|r| w[r])
                .unwrap()
        };
        assert!((weight_of(1) / weight_of(2) - 3.0).abs() < 1e-12);
        assert!((weight_of(1) - weight_of(4)).abs() < 1e-15);
        let mut rows: Vec<Vec<bool>> = masks.outer_iter().map(|r| r.to_vec()).collect();
        rows.sort();
        rows.dedup();
        assert_eq!(rows.len(), 30);
    }

    #[test]
    fn sampled_mode_respects_the_budget_and_pairs_complements() {
        let m = 12;
        let (masks, w) = sample_coalitions(m, 200, &mut Rng::new(4));
        assert_eq!(masks.nrows(), 200);
        assert!(w.iter().all(|&v| v > 0.0));
        // sizes 1 and 11 are enumerated first (24 coalitions); every sampled coalition of
        // size <= 5 is followed by its complement (complements have size >= 7, size 6 is
        // unpaired)
        for r in 24..199 {
            let a = masks.row(r);
            let size = a.iter().filter(|&&b| b).count();
            if size <= 5 {
                assert!(a.iter().zip(masks.row(r + 1).iter()).all(|(x, y)| x != y));
            }
        }
    }
}
