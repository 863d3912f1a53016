//! IF–THEN rules read off a [`DecisionTree`](super::DecisionTree).

use std::fmt;

use ndarray::{ArrayView1, ArrayView2};

use super::tree::{DecisionTree, Node};
use crate::error::{ExplainError, Result};

/// Bounds on one feature: `lower < x[feature] <= upper`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Feature index.
    pub feature: usize,
    /// Strict lower bound, if any.
    pub lower: Option<f64>,
    /// Inclusive upper bound, if any.
    pub upper: Option<f64>,
}

impl Condition {
    /// Whether `v` satisfies the condition.
    pub fn holds(&self, v: f64) -> bool {
        self.lower.is_none_or(|l| v > l) && self.upper.is_none_or(|u| v <= u)
    }
}

/// One leaf of the tree as a rule, with its statistics on an evaluation set.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Conjunction of conditions (at most one per feature, bounds merged along the path).
    pub conditions: Vec<Condition>,
    /// Predicted class.
    pub class: usize,
    /// Samples of the evaluation set the rule covers.
    pub support: usize,
    /// `support / samples`.
    pub coverage: f64,
    /// Fraction of covered samples whose label equals `class` (NaN if none covered).
    pub accuracy: f64,
}

impl Rule {
    /// Whether `row` satisfies every condition (false if `row` lacks a tested feature).
    pub fn matches(&self, row: ArrayView1<f64>) -> bool {
        self.conditions
            .iter()
            .all(|c| row.get(c.feature).is_some_and(|&v| c.holds(v)))
    }
}

/// The rules of a tree, one per leaf. The leaves partition feature space, so every sample
/// satisfies exactly one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Rules in depth-first order (left before right).
    pub rules: Vec<Rule>,
    /// Feature names used when printing (`x[j]` when absent).
    pub feature_names: Option<Vec<String>>,
    /// Class names used when printing (`class k` when absent).
    pub class_names: Option<Vec<String>>,
}

impl RuleSet {
    /// Reads the rules off `tree` and computes each rule's coverage and accuracy on rows
    /// `x` with reference labels `labels` (for a surrogate: the model's predicted classes).
    pub fn from_tree(tree: &DecisionTree, x: ArrayView2<f64>, labels: &[usize]) -> Result<Self> {
        const OP: &str = "RuleSet::from_tree";
        if labels.len() != x.nrows() || x.ncols() != tree.n_features {
            return Err(ExplainError::ShapeMismatch {
                op: OP,
                what: "x / labels",
                expected: vec![labels.len(), tree.n_features],
                found: x.shape().to_vec(),
            });
        }
        let mut rules = Vec::new();
        // (node, conditions so far)
        let mut stack: Vec<(usize, Vec<Condition>)> = vec![(0, vec![])];
        while let Some((id, conds)) = stack.pop() {
            match &tree.nodes[id] {
                Node::Leaf { class, .. } => rules.push(Rule {
                    conditions: conds,
                    class: *class,
                    support: 0,
                    coverage: 0.0,
                    accuracy: f64::NAN,
                }),
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    stack.push((*right, with_bound(&conds, *feature, Some(*threshold), None)));
                    stack.push((*left, with_bound(&conds, *feature, None, Some(*threshold))));
                }
            }
        }
        let n = x.nrows();
        for rule in rules.iter_mut() {
            let mut hit = 0;
            let mut correct = 0;
            for (row, &l) in x.outer_iter().zip(labels) {
                if rule.matches(row) {
                    hit += 1;
                    correct += usize::from(l == rule.class);
                }
            }
            rule.support = hit;
            rule.coverage = if n > 0 { hit as f64 / n as f64 } else { 0.0 };
            rule.accuracy = if hit > 0 {
                correct as f64 / hit as f64
            } else {
                f64::NAN
            };
        }
        Ok(RuleSet {
            rules,
            feature_names: None,
            class_names: None,
        })
    }

    /// Index of every rule that `row` satisfies (exactly one for rules of a tree).
    pub fn matching(&self, row: ArrayView1<f64>) -> Vec<usize> {
        (0..self.rules.len())
            .filter(|&r| self.rules[r].matches(row))
            .collect()
    }

    fn feature_name(&self, j: usize) -> String {
        self.feature_names
            .as_ref()
            .and_then(|n| n.get(j).cloned())
            .unwrap_or_else(|| format!("x[{j}]"))
    }

    fn class_name(&self, k: usize) -> String {
        self.class_names
            .as_ref()
            .and_then(|n| n.get(k).cloned())
            .unwrap_or_else(|| format!("class {k}"))
    }
}

fn with_bound(
    conds: &[Condition],
    feature: usize,
    lower: Option<f64>,
    upper: Option<f64>,
) -> Vec<Condition> {
    let mut out = conds.to_vec();
    match out.iter_mut().find(|c| c.feature == feature) {
        Some(c) => {
            if let Some(l) = lower {
                c.lower = Some(c.lower.map_or(l, |o| o.max(l)));
            }
            if let Some(u) = upper {
                c.upper = Some(c.upper.map_or(u, |o| o.min(u)));
            }
        }
        None => out.push(Condition {
            feature,
            lower,
            upper,
        }),
    }
    out
}

impl fmt::Display for RuleSet {
    /// One line per rule:
    /// `IF x[2] > 2.45 AND x[3] <= 1.75 THEN class 1  (coverage 33.3%, accuracy 97.9%, n = 49)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for rule in &self.rules {
            let conds: Vec<String> = rule
                .conditions
                .iter()
                .map(|c| {
                    let name = self.feature_name(c.feature);
                    match (c.lower, c.upper) {
                        (Some(l), Some(u)) => format!("{l:.4} < {name} <= {u:.4}"),
                        (Some(l), None) => format!("{name} > {l:.4}"),
                        (None, Some(u)) => format!("{name} <= {u:.4}"),
                        (None, None) => "TRUE".to_string(),
                    }
                })
                .collect();
            let lhs = if conds.is_empty() {
                "TRUE".to_string()
            } else {
                conds.join(" AND ")
            };
            writeln!(
                f,
                "IF {lhs} THEN {}  (coverage {:.1}%, accuracy {:.1}%, n = {})",
                self.class_name(rule.class),
                100.0 * rule.coverage,
                100.0 * rule.accuracy,
                rule.support
            )?;
        }
        Ok(())
    }
}
