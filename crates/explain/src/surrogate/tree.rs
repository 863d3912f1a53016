//! A CART classification tree (Breiman et al., 1984) with the Gini criterion.

use ndarray::{ArrayView1, ArrayView2};

use crate::error::{ExplainError, Result};
use crate::predictor::check_matrix;

/// Growth limits of a [`DecisionTree`] (scikit-learn's names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct TreeConfig {
    /// Maximum depth (root = depth 0); `None` grows until leaves are pure or too small.
    pub max_depth: Option<usize>,
    /// A node with fewer samples is not split.
    pub min_samples_split: usize,
    /// Each child must keep at least this many samples.
    pub min_samples_leaf: usize,
    /// A split must lower the weighted Gini impurity by at least this (fraction of all
    /// samples, as scikit-learn).
    pub min_impurity_decrease: f64,
}

impl Default for TreeConfig {
    fn default() -> Self {
        TreeConfig {
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            min_impurity_decrease: 0.0,
        }
    }
}

/// A node of a [`DecisionTree`].
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Internal node: rows with `x[feature] <= threshold` go to `left`, others to `right`.
    Split {
        /// Feature tested.
        feature: usize,
        /// Threshold (midpoint between two training values).
        threshold: f64,
        /// Index of the left child in [`DecisionTree::nodes`].
        left: usize,
        /// Index of the right child.
        right: usize,
    },
    /// Leaf predicting `class`.
    Leaf {
        /// Majority class of the training rows in the leaf (smallest label on ties).
        class: usize,
        /// Training rows per class in the leaf.
        counts: Vec<usize>,
    },
}

/// A fitted CART classification tree.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionTree {
    /// Nodes; index 0 is the root.
    pub nodes: Vec<Node>,
    /// Number of features seen in training.
    pub n_features: usize,
    /// Number of classes (labels are `0..n_classes`).
    pub n_classes: usize,
}

fn gini(counts: &[usize], n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    1.0 - counts.iter().map(|&c| (c as f64 / n).powi(2)).sum::<f64>()
}

struct BestSplit {
    feature: usize,
    threshold: f64,
    decrease: f64,
}

impl DecisionTree {
    /// Fits the tree to rows `x` and class labels `y` (`0..n_classes`).
    pub fn fit(x: ArrayView2<f64>, y: &[usize], config: &TreeConfig) -> Result<Self> {
        const OP: &str = "DecisionTree::fit";
        check_matrix(OP, "x", x)?;
        if y.len() != x.nrows() {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what: "labels y",
                expected: vec![x.nrows()],
                found: vec![y.len()],
            });
        }
        if config.min_samples_leaf == 0 || config.min_samples_split < 2 {
            return Err(ExplainError::invalid(
                OP,
                "min_samples_leaf / min_samples_split",
                "need min_samples_leaf >= 1 and min_samples_split >= 2",
            ));
        }
        let max_label = y.iter().copied().max().unwrap_or(0);
        if max_label >= x.nrows().max(2) * 16 {
            return Err(ExplainError::invalid(
                OP,
                "labels y",
                format!(
                    "labels must be 0..n_classes; found label {max_label} for {} rows",
                    x.nrows()
                ),
            ));
        }
        let n_classes = max_label + 1;
        let n_total = x.nrows();
        let mut tree = DecisionTree {
            nodes: Vec::new(),
            n_features: x.ncols(),
            n_classes,
        };
        // Work stack of (node index, rows, depth); nodes are created before being filled.
        tree.nodes.push(Node::Leaf {
            class: 0,
            counts: vec![],
        });
        let mut stack = vec![(0usize, (0..n_total).collect::<Vec<usize>>(), 0usize)];
        while let Some((id, rows, depth)) = stack.pop() {
            let mut counts = vec![0usize; n_classes];
            rows.iter().for_each(|&i| counts[y[i]] += 1);
            let class = (0..n_classes).fold(0, |b, c| if counts[c] > counts[b] { c } else { b });
            let pure = counts.iter().filter(|&&c| c > 0).count() <= 1;
            let stop = pure
                || rows.len() < config.min_samples_split
                || rows.len() < 2 * config.min_samples_leaf
                || config.max_depth.is_some_and(|d| depth >= d);
            let split = if stop {
                None
            } else {
                best_split(x, y, &rows, &counts, n_classes, config.min_samples_leaf)
                    .filter(|s| {
                        s.decrease * rows.len() as f64 / n_total as f64
                            >= config.min_impurity_decrease
                    })
                    .filter(|s| s.decrease > 1e-12)
            };
            match split {
                None => tree.nodes[id] = Node::Leaf { class, counts },
                Some(s) => {
                    let (l_rows, r_rows): (Vec<usize>, Vec<usize>) = rows
                        .iter()
                        .partition(|&&i| x[[i, s.feature]] <= s.threshold);
                    let left = tree.nodes.len();
                    let right = left + 1;
                    tree.nodes.push(Node::Leaf {
                        class: 0,
                        counts: vec![],
                    });
                    tree.nodes.push(Node::Leaf {
                        class: 0,
                        counts: vec![],
                    });
                    tree.nodes[id] = Node::Split {
                        feature: s.feature,
                        threshold: s.threshold,
                        left,
                        right,
                    };
                    stack.push((right, r_rows, depth + 1));
                    stack.push((left, l_rows, depth + 1));
                }
            }
        }
        Ok(tree)
    }

    /// Index of the leaf that `row` falls into (`row` has `n_features` values).
    pub(crate) fn leaf_of(&self, row: ArrayView1<f64>) -> usize {
        let mut id = 0;
        loop {
            match &self.nodes[id] {
                Node::Leaf { .. } => return id,
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    id = if row[*feature] <= *threshold {
                        *left
                    } else {
                        *right
                    }
                }
            }
        }
    }

    /// Predicted class of every row of `x`.
    pub fn predict(&self, x: ArrayView2<f64>) -> Result<Vec<usize>> {
        check_matrix("DecisionTree::predict", "x", x)?;
        if x.ncols() != self.n_features {
            return Err(ExplainError::ShapeMismatch {
                op: "DecisionTree::predict",
                what: "x (columns must match training)",
                expected: vec![x.nrows(), self.n_features],
                found: x.shape().to_vec(),
            });
        }
        Ok(x.outer_iter()
            .map(|r| match &self.nodes[self.leaf_of(r)] {
                Node::Leaf { class, .. } => *class,
                Node::Split { .. } => unreachable!("leaf_of returns leaves"),
            })
            .collect())
    }

    /// Depth of the tree (a single leaf has depth 0).
    pub fn depth(&self) -> usize {
        let mut best = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((id, d)) = stack.pop() {
            best = best.max(d);
            if let Node::Split { left, right, .. } = &self.nodes[id] {
                stack.push((*left, d + 1));
                stack.push((*right, d + 1));
            }
        }
        best
    }
}

fn best_split(
    x: ArrayView2<f64>,
    y: &[usize],
    rows: &[usize],
    counts: &[usize],
    n_classes: usize,
    min_leaf: usize,
) -> Option<BestSplit> {
    let n = rows.len();
    let parent = gini(counts, n);
    let mut best: Option<BestSplit> = None;
    let mut sorted = rows.to_vec();
    for f in 0..x.ncols() {
        sorted.sort_by(|&a, &b| x[[a, f]].total_cmp(&x[[b, f]]));
        let mut left = vec![0usize; n_classes];
        let mut right = counts.to_vec();
        for p in 0..n - 1 {
            let c = y[sorted[p]];
            left[c] += 1;
            right[c] -= 1;
            let (a, b) = (x[[sorted[p], f]], x[[sorted[p + 1], f]]);
            let nl = p + 1;
            if a == b || nl < min_leaf || n - nl < min_leaf {
                continue;
            }
            let child =
                (nl as f64 * gini(&left, nl) + (n - nl) as f64 * gini(&right, n - nl)) / n as f64;
            let decrease = parent - child;
            if best.as_ref().is_none_or(|s| decrease > s.decrease + 1e-15) {
                let mut threshold = a + (b - a) / 2.0;
                if threshold >= b {
                    threshold = a;
                }
                best = Some(BestSplit {
                    feature: f,
                    threshold,
                    decrease,
                });
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn learns_an_axis_aligned_rule() {
        // class 1 iff x0 > 2 and x1 <= 5
        let x = array![
            [1.0, 0.0],
            [2.0, 9.0],
            [3.0, 1.0],
            [4.0, 4.0],
            [3.5, 8.0],
            [5.0, 6.0]
        ];
        let y = [0, 0, 1, 1, 0, 0];
        let t = DecisionTree::fit(x.view(), &y, &TreeConfig::default()).unwrap();
        assert_eq!(t.predict(x.view()).unwrap(), y.to_vec());
        assert!(t.depth() <= 2);
        // root split: best Gini decrease is on x1 at 5.0 (midpoint of 4 and 6) or x0 at 2.5.
        // Hand check of the chosen root: parent gini = 1 - (4/6)^2 - (2/6)^2 = 4/9.
        let stump = DecisionTree::fit(
            x.view(),
            &y,
            &TreeConfig {
                max_depth: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(stump.depth(), 1);
        match &stump.nodes[0] {
            Node::Split {
                feature, threshold, ..
            } => {
                // x1 <= 5: left {0,1,2,3} has classes {0,1,1}+{..}; compute both candidates:
                // x0 <= 2.5: left {0,0} pure, right {1,1,0,0} gini 0.5 → child 4/6·0.5 = 1/3
                // x1 <= 5.0: left rows 0,2,3 → {0,1,1} gini 4/9, right {0,0,0} → 3/6·4/9 = 2/9
                assert_eq!((*feature, *threshold), (1, 5.0));
            }
            other => panic!("expected a split, got {other:?}"),
        }
    }
}
