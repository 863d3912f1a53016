//! Train/test splits and K-fold cross-validation splitters (scikit-learn's definitions).
//!
//! Without shuffling, [`KFold`] and [`StratifiedKFold`] produce exactly scikit-learn's folds.
//! With a seed they shuffle with this crate's portable [`Rng`], so the folds are the same
//! on every machine (but not the same as NumPy's shuffles).

use crate::error::{DataError, Result};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One train/test split of `0..n` (indices sorted ascending within each part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// Training indices.
    pub train: Vec<usize>,
    /// Test indices.
    pub test: Vec<usize>,
}

impl Fold {
    fn from_test(n: usize, mut test: Vec<usize>) -> Fold {
        test.sort_unstable();
        let mut is_test = vec![false; n];
        for &i in &test {
            is_test[i] = true;
        }
        Fold {
            train: (0..n).filter(|&i| !is_test[i]).collect(),
            test,
        }
    }
}

/// Splits `0..n` into `n_splits` contiguous folds (the first `n % n_splits` one larger),
/// optionally after a seeded shuffle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KFold {
    /// Number of folds (at least 2).
    pub n_splits: usize,
    /// Shuffle with this seed before splitting (`None`: keep order).
    pub shuffle_seed: Option<u64>,
}

impl KFold {
    /// `n_splits` folds without shuffling.
    pub fn new(n_splits: usize) -> Self {
        KFold {
            n_splits,
            shuffle_seed: None,
        }
    }

    /// Shuffles with `seed` before splitting.
    pub fn shuffled(mut self, seed: u64) -> Self {
        self.shuffle_seed = Some(seed);
        self
    }

    /// The folds of `0..n`.
    pub fn split(&self, n: usize) -> Result<Vec<Fold>> {
        check_splits("KFold::split", self.n_splits, n)?;
        let mut order: Vec<usize> = (0..n).collect();
        if let Some(seed) = self.shuffle_seed {
            Rng::new(seed).shuffle(&mut order);
        }
        let (base, extra) = (n / self.n_splits, n % self.n_splits);
        let mut start = 0;
        Ok((0..self.n_splits)
            .map(|k| {
                let size = base + usize::from(k < extra);
                let test = order[start..start + size].to_vec();
                start += size;
                Fold::from_test(n, test)
            })
            .collect())
    }
}

/// K folds that keep each class's proportion (scikit-learn's `StratifiedKFold` algorithm:
/// classes in order of first appearance, samples of the sorted labels dealt round-robin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StratifiedKFold {
    /// Number of folds (at least 2, at most the size of the largest class).
    pub n_splits: usize,
    /// Shuffle each class's fold assignment with this seed (`None`: deterministic order).
    pub shuffle_seed: Option<u64>,
}

impl StratifiedKFold {
    /// `n_splits` stratified folds without shuffling.
    pub fn new(n_splits: usize) -> Self {
        StratifiedKFold {
            n_splits,
            shuffle_seed: None,
        }
    }

    /// Shuffles with `seed`.
    pub fn shuffled(mut self, seed: u64) -> Self {
        self.shuffle_seed = Some(seed);
        self
    }

    /// The folds for labels `y`.
    pub fn split<T: Ord>(&self, y: &[T]) -> Result<Vec<Fold>> {
        let n = y.len();
        check_splits("StratifiedKFold::split", self.n_splits, n)?;
        let enc = encode_by_first_appearance(y);
        let n_classes = enc.iter().max().map_or(0, |m| m + 1);
        let mut counts = vec![0usize; n_classes];
        for &c in &enc {
            counts[c] += 1;
        }
        if counts.iter().all(|&c| c < self.n_splits) {
            return Err(DataError::invalid(
                "StratifiedKFold::split",
                format!(
                    "n_splits = {} is greater than the number of members in every class (largest: {})",
                    self.n_splits,
                    counts.iter().max().copied().unwrap_or(0)
                ),
            ));
        }
        // allocation[k][c]: how many samples of class c go to fold k (round-robin over the
        // sorted encoded labels, as `np.bincount(y_order[k::n_splits])`).
        let mut y_order = enc.clone();
        y_order.sort_unstable();
        let mut allocation = vec![vec![0usize; n_classes]; self.n_splits];
        for (pos, &c) in y_order.iter().enumerate() {
            allocation[pos % self.n_splits][c] += 1;
        }
        let mut rng = self.shuffle_seed.map(Rng::new);
        let mut test_fold = vec![0usize; n];
        #[allow(clippy::needless_range_loop)] // `c` indexes the inner vectors of `allocation`
        for c in 0..n_classes {
            let mut folds_for_class: Vec<usize> = (0..self.n_splits)
                .flat_map(|k| std::iter::repeat_n(k, allocation[k][c]))
                .collect();
            if let Some(r) = rng.as_mut() {
                r.shuffle(&mut folds_for_class);
            }
            let members = (0..n).filter(|&i| enc[i] == c);
            for (i, f) in members.zip(folds_for_class) {
                test_fold[i] = f;
            }
        }
        Ok((0..self.n_splits)
            .map(|k| Fold::from_test(n, (0..n).filter(|&i| test_fold[i] == k).collect()))
            .collect())
    }
}

/// Encodes labels as `0..n_classes` in order of first appearance.
fn encode_by_first_appearance<T: Ord>(y: &[T]) -> Vec<usize> {
    let mut map: BTreeMap<&T, usize> = BTreeMap::new();
    y.iter()
        .map(|v| {
            let next = map.len();
            *map.entry(v).or_insert(next)
        })
        .collect()
}

fn check_splits(op: &'static str, k: usize, n: usize) -> Result<()> {
    if k < 2 {
        return Err(DataError::invalid(
            op,
            format!("n_splits must be at least 2, got {k}"),
        ));
    }
    if k > n {
        return Err(DataError::invalid(
            op,
            format!("n_splits = {k} is greater than the number of samples {n}"),
        ));
    }
    Ok(())
}

fn check_fraction(op: &'static str, test_fraction: f64, n: usize) -> Result<usize> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(DataError::invalid(
            op,
            format!("test_fraction must be in (0, 1), got {test_fraction}"),
        ));
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(DataError::invalid(
            op,
            format!(
                "test_fraction {test_fraction} of {n} samples leaves an empty train or test set"
            ),
        ));
    }
    Ok(n_test)
}

/// Shuffles `0..n` with `seed` and returns `(train, test)` with `ceil(test_fraction · n)`
/// test indices (as scikit-learn's `train_test_split`), each part in shuffled order.
pub fn train_test_split(
    n: usize,
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let n_test = check_fraction("train_test_split", test_fraction, n)?;
    let perm = Rng::new(seed).permutation(n);
    Ok((perm[n_test..].to_vec(), perm[..n_test].to_vec()))
}

/// Like [`train_test_split`] but keeps class proportions: each class contributes
/// `floor(n_test · share)` test samples, and the left-over test slots go to the classes with
/// the largest remainders (scikit-learn's `_approximate_mode`, ties broken by class order).
pub fn stratified_train_test_split<T: Ord>(
    y: &[T],
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let n = y.len();
    let n_test = check_fraction("stratified_train_test_split", test_fraction, n)?;
    let mut classes: BTreeMap<&T, Vec<usize>> = BTreeMap::new();
    for (i, v) in y.iter().enumerate() {
        classes.entry(v).or_default().push(i);
    }
    if n_test < classes.len() || n - n_test < classes.len() {
        return Err(DataError::invalid(
            "stratified_train_test_split",
            format!(
                "{n_test} test and {} train samples cannot hold {} classes",
                n - n_test,
                classes.len()
            ),
        ));
    }
    let groups: Vec<Vec<usize>> = classes.into_values().collect();
    let exact: Vec<f64> = groups
        .iter()
        .map(|g| n_test as f64 * g.len() as f64 / n as f64)
        .collect();
    let mut take: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = n_test - take.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for &c in order.iter().cycle() {
        if left == 0 {
            break;
        }
        if take[c] < groups[c].len() {
            take[c] += 1;
            left -= 1;
        }
    }
    let mut rng = Rng::new(seed);
    let (mut train, mut test) = (Vec::with_capacity(n - n_test), Vec::with_capacity(n_test));
    for (g, t) in groups.into_iter().zip(take) {
        let mut g = g;
        rng.shuffle(&mut g);
        test.extend_from_slice(&g[..t]);
        train.extend_from_slice(&g[t..]);
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kfold_sizes() {
        let f = KFold::new(3).split(7).unwrap();
        let sizes: Vec<usize> = f.iter().map(|f| f.test.len()).collect();
        assert_eq!(sizes, vec![3, 2, 2]);
        assert_eq!(f[1].test, vec![3, 4]);
        assert_eq!(f[1].train, vec![0, 1, 2, 5, 6]);
        assert!(KFold::new(1).split(5).is_err());
        assert!(KFold::new(6).split(5).is_err());
        assert_eq!(
            KFold::new(2).shuffled(1).split(9).unwrap(),
            KFold::new(2).shuffled(1).split(9).unwrap()
        );
    }

    #[test]
    fn stratified_rejects_too_many_splits() {
        let e = StratifiedKFold::new(3)
            .split(&[0, 0, 1, 1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("n_splits = 3"), "{e}");
    }

    #[test]
    fn train_test_split_sizes() {
        let (tr, te) = train_test_split(10, 0.25, 0).unwrap();
        assert_eq!((tr.len(), te.len()), (7, 3));
        let y = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
        let (tr, te) = stratified_train_test_split(&y, 0.5, 3).unwrap();
        assert_eq!(te.iter().filter(|&&i| y[i] == 1).count(), 2);
        assert_eq!(tr.len(), 5);
        assert!(train_test_split(10, 1.0, 0).is_err());
        assert!(stratified_train_test_split(&y, 0.1, 0).is_err());
    }
}
