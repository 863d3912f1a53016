//! Global surrogate: a CART tree fitted to a model's predicted classes, printed as IF–THEN
//! rules with coverage and accuracy, and its fidelity to the model on held-out data.

mod rules;
mod tree;

pub use rules::{Condition, Rule, RuleSet};
pub use tree::{DecisionTree, Node, TreeConfig};

use ndarray::ArrayView2;

use crate::error::Result;
use crate::predictor::{check_matrix, predict_checked, Predictor};

/// How a predictor's outputs become class labels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum LabelRule {
    /// Index of the largest output (multi-class scores or probabilities).
    #[default]
    Argmax,
    /// For a single output: class 1 if the output is above the threshold, else 0.
    Threshold(f64),
}

/// The model's predicted classes for rows `x`.
pub fn model_labels<P: Predictor + ?Sized>(
    predictor: &P,
    x: ArrayView2<f64>,
    rule: LabelRule,
) -> Result<Vec<usize>> {
    const OP: &str = "model_labels";
    check_matrix(OP, "x", x)?;
    let y = predict_checked(OP, predictor, x, None)?;
    Ok(match rule {
        LabelRule::Threshold(t) => y.column(0).iter().map(|&v| usize::from(v > t)).collect(),
        LabelRule::Argmax => y
            .rows()
            .into_iter()
            .map(glassbox_tensor::ops::reduce::argmax)
            .collect(),
    })
}

/// A decision tree that mimics a model (a *global surrogate*, Craven & Shavlik, 1996).
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalSurrogate {
    /// The fitted tree.
    pub tree: DecisionTree,
    /// How model outputs were turned into labels.
    pub label_rule: LabelRule,
}

impl GlobalSurrogate {
    /// Fits a tree to the model's predicted classes on `x`.
    pub fn fit<P: Predictor + ?Sized>(
        predictor: &P,
        x: ArrayView2<f64>,
        label_rule: LabelRule,
        config: &TreeConfig,
    ) -> Result<Self> {
        let labels = model_labels(predictor, x, label_rule)?;
        let tree = DecisionTree::fit(x, &labels, config)?;
        Ok(GlobalSurrogate { tree, label_rule })
    }

    /// Fraction of rows of `x` on which the tree predicts the model's class (use held-out
    /// rows to measure how faithful the surrogate is).
    pub fn fidelity<P: Predictor + ?Sized>(
        &self,
        predictor: &P,
        x: ArrayView2<f64>,
    ) -> Result<f64> {
        let labels = model_labels(predictor, x, self.label_rule)?;
        let pred = self.tree.predict(x)?;
        let agree = labels.iter().zip(&pred).filter(|(a, b)| a == b).count();
        Ok(agree as f64 / labels.len() as f64)
    }

    /// The tree's rules with coverage and accuracy (agreement with the model) on rows `x`.
    pub fn rules<P: Predictor + ?Sized>(
        &self,
        predictor: &P,
        x: ArrayView2<f64>,
    ) -> Result<RuleSet> {
        let labels = model_labels(predictor, x, self.label_rule)?;
        RuleSet::from_tree(&self.tree, x, &labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, Axis};

    #[test]
    fn surrogate_of_a_threshold_model_is_exact_and_rules_partition() {
        // model: class 1 iff x0 > 0.5 (x0 = i/40, so rows 0..=20 are class 0; the split is
        // the midpoint of 0.5 and 0.525)
        let f = |x: ArrayView2<f64>| x.column(0).mapv(|v| v - 0.5).insert_axis(Axis(1));
        let x = Array2::from_shape_fn((40, 2), |(i, j)| {
            if j == 0 {
                i as f64 / 40.0
            } else {
                (i % 7) as f64
            }
        });
        let s = GlobalSurrogate::fit(
            &f,
            x.view(),
            LabelRule::Threshold(0.0),
            &TreeConfig::default(),
        )
        .unwrap();
        assert_eq!(s.fidelity(&f, x.view()).unwrap(), 1.0);
        let rules = s.rules(&f, x.view()).unwrap();
        assert_eq!(rules.rules.len(), 2);
        for row in x.outer_iter() {
            assert_eq!(rules.matching(row).len(), 1);
        }
        let text = rules.to_string();
        assert!(
            text.contains(
                "IF x[0] <= 0.5125 THEN class 0  (coverage 52.5%, accuracy 100.0%, n = 21)"
            ),
            "{text}"
        );
    }
}
