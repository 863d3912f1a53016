//! The black-box view of a text model for perturbation methods: [`TokenPredictor`] (rows of
//! token ids in, outputs out), the perturbable features of one input ([`TextFeatures`]:
//! tokens or groups of tokens such as words; special tokens are never perturbed), how a
//! removed feature is rendered ([`Removal`]), and [`MaskedText`], the
//! [`Predictor`] over presence masks that lets the crate's model-agnostic methods run on
//! text unchanged.

use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array2, ArrayView2};

use crate::error::{ExplainError, Result};
use crate::predictor::{PredictResult, Predictor};
use crate::stop::StopCheck;

/// A text model seen as a black box over token ids.
///
/// `predict_ids` returns `[rows, outputs]`: one row per row of ids (rows may have different
/// lengths, e.g. after deleting tokens), one column per output. Adapters say what the
/// outputs are; glassbox's classifier adapters return class probabilities, which is what
/// ERASER's faithfulness measures ([`aopc`](super::aopc)) expect.
///
/// Closures `Fn(&[Vec<u32>]) -> Array2<f64> + Sync` are token predictors.
pub trait TokenPredictor: Sync {
    /// Outputs for each row of token ids.
    fn predict_ids(&self, rows: &[Vec<u32>]) -> PredictResult;
}

impl<F: Fn(&[Vec<u32>]) -> Array2<f64> + Sync> TokenPredictor for F {
    fn predict_ids(&self, rows: &[Vec<u32>]) -> PredictResult {
        Ok(self(rows))
    }
}

/// How a removed feature's tokens are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Every token of the feature becomes this id (a `[MASK]`, `[PAD]` or `[UNK]` token:
    /// positions and length are kept).
    Replace(u32),
    /// The feature's tokens are deleted (the text gets shorter), as ERASER does.
    Delete,
}

/// The evaluation budget and stop check every text method takes.
#[derive(Debug, Clone)]
pub struct TextBudget {
    /// Most model evaluations (rows of token ids given to the predictor) one call may
    /// make. A method that would need more returns [`ExplainError::TooLarge`] before it
    /// calls the model.
    pub max_evaluations: usize,
    /// Rows per predictor call (`0` means 256).
    pub max_batch_rows: usize,
    /// Asked before every predictor call; once it fires the method returns
    /// [`ExplainError::Stopped`].
    pub stop: StopCheck,
}

impl Default for TextBudget {
    fn default() -> Self {
        TextBudget {
            max_evaluations: 20_000,
            max_batch_rows: 256,
            stop: StopCheck::never(),
        }
    }
}

impl TextBudget {
    /// Errors when `needed` evaluations exceed the budget.
    pub(crate) fn check(&self, op: &'static str, needed: usize) -> Result<()> {
        if needed > self.max_evaluations {
            return Err(ExplainError::TooLarge {
                op,
                what: "model evaluations",
                value: needed,
                limit: self.max_evaluations,
            });
        }
        Ok(())
    }

    /// Rows per predictor call.
    pub(crate) fn batch_rows(&self) -> usize {
        if self.max_batch_rows == 0 {
            256
        } else {
            self.max_batch_rows
        }
    }
}

/// The token ids of one input and its perturbable features: each feature is a set of
/// token positions (one token, or the tokens of a word). Positions in no feature (special
/// tokens such as `[CLS]` and `[SEP]`) are never perturbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFeatures {
    ids: Vec<u32>,
    groups: Vec<Vec<usize>>,
}

impl TextFeatures {
    /// One feature per token whose `special` flag is `false` (a tokenizer's special-tokens
    /// mask, `true` for `[CLS]`, `[SEP]`, …).
    pub fn tokens(ids: Vec<u32>, special: &[bool]) -> Result<Self> {
        if special.len() != ids.len() {
            return Err(ExplainError::ShapeMismatch {
                op: "TextFeatures::tokens",
                what: "special-tokens mask (one flag per token)",
                expected: vec![ids.len()],
                found: vec![special.len()],
            });
        }
        let groups = (0..ids.len())
            .filter(|&p| !special[p])
            .map(|p| vec![p])
            .collect();
        Self::from_groups(ids, groups)
    }

    /// Features given as groups of token positions (e.g. [`word_groups`](super::word_groups)).
    /// Groups must be non-empty, disjoint and within the ids; at least one is needed.
    pub fn from_groups(ids: Vec<u32>, groups: Vec<Vec<usize>>) -> Result<Self> {
        const OP: &str = "TextFeatures";
        if groups.is_empty() {
            return Err(ExplainError::Empty {
                op: OP,
                what: "perturbable features (the text has no non-special tokens)",
            });
        }
        let mut seen = vec![false; ids.len()];
        for (g, members) in groups.iter().enumerate() {
            if members.is_empty() {
                return Err(ExplainError::invalid(
                    OP,
                    "groups",
                    format!("group {g} is empty"),
                ));
            }
            for &p in members {
                if p >= ids.len() {
                    return Err(ExplainError::FeatureOutOfRange {
                        op: OP,
                        feature: p,
                        features: ids.len(),
                    });
                }
                if std::mem::replace(&mut seen[p], true) {
                    return Err(ExplainError::invalid(
                        OP,
                        "groups",
                        format!("token position {p} is in two groups (the second is group {g})"),
                    ));
                }
            }
        }
        Ok(TextFeatures { ids, groups })
    }

    /// The input's token ids.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Token positions of each feature.
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.groups.len()
    }

    /// The ids with the features for which `present(feature)` is `false` removed.
    pub fn render(&self, present: impl Fn(usize) -> bool, removal: Removal) -> Vec<u32> {
        let mut keep = vec![true; self.ids.len()];
        for (f, members) in self.groups.iter().enumerate() {
            if !present(f) {
                members.iter().for_each(|&p| keep[p] = false);
            }
        }
        match removal {
            Removal::Replace(id) => self
                .ids
                .iter()
                .zip(&keep)
                .map(|(&t, &k)| if k { t } else { id })
                .collect(),
            Removal::Delete => self
                .ids
                .iter()
                .zip(&keep)
                .filter(|(_, &k)| k)
                .map(|(&t, _)| t)
                .collect(),
        }
    }

    /// Per-feature scores spread to tokens: every token of a feature gets the feature's
    /// score, tokens in no feature get 0.
    pub fn token_scores(&self, scores: &[f64]) -> Result<Vec<f64>> {
        check_scores("TextFeatures::token_scores", self, scores)?;
        let mut out = vec![0.0; self.ids.len()];
        for (members, &s) in self.groups.iter().zip(scores) {
            members.iter().for_each(|&p| out[p] = s);
        }
        Ok(out)
    }
}

/// Errors unless `scores` has one finite entry per feature.
pub(crate) fn check_scores(op: &'static str, f: &TextFeatures, scores: &[f64]) -> Result<()> {
    if scores.len() != f.n_features() {
        return Err(ExplainError::ShapeMismatch {
            op,
            what: "scores (one per feature)",
            expected: vec![f.n_features()],
            found: vec![scores.len()],
        });
    }
    if let Some(j) = scores.iter().position(|s| !s.is_finite()) {
        return Err(ExplainError::NonFinite {
            op,
            what: "scores",
            row: 0,
            column: j,
        });
    }
    Ok(())
}

/// One input text as a [`Predictor`] over presence masks: a row `z` of `[rows, features]`
/// (1 = present, 0 = removed; values above 0.5 count as present) is rendered with
/// [`TextFeatures::render`] and given to the token predictor. The stop check is asked
/// before every call and the rows are counted ([`MaskedText::evaluations`]); a call that
/// would pass the evaluation limit fails instead of reaching the model.
#[derive(Debug)]
pub struct MaskedText<'a, P: TokenPredictor + ?Sized> {
    predictor: &'a P,
    features: &'a TextFeatures,
    removal: Removal,
    stop: StopCheck,
    limit: usize,
    evaluations: AtomicUsize,
}

/// The error of a [`MaskedText`] call that would pass its evaluation limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the evaluation budget of {limit} model evaluations is spent")]
pub struct BudgetSpent {
    /// The limit.
    pub limit: usize,
}

impl<'a, P: TokenPredictor + ?Sized> MaskedText<'a, P> {
    /// Wraps `predictor` for the input `features`, rendering removals with `removal`, under
    /// `budget`'s evaluation limit and stop check.
    pub fn new(
        predictor: &'a P,
        features: &'a TextFeatures,
        removal: Removal,
        budget: &TextBudget,
    ) -> Self {
        MaskedText {
            predictor,
            features,
            removal,
            stop: budget.stop.clone(),
            limit: budget.max_evaluations,
            evaluations: AtomicUsize::new(0),
        }
    }

    /// Rows given to the model so far.
    pub fn evaluations(&self) -> usize {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// The features.
    pub fn features(&self) -> &TextFeatures {
        self.features
    }
}

impl<P: TokenPredictor + ?Sized> Predictor for MaskedText<'_, P> {
    fn predict(&self, x: ArrayView2<f64>) -> PredictResult {
        self.stop.check()?;
        let m = self.features.n_features();
        if x.ncols() != m {
            return Err(format!(
                "masked text: a mask row has {} entries, the text has {m} features",
                x.ncols()
            )
            .into());
        }
        let before = self.evaluations.fetch_add(x.nrows(), Ordering::Relaxed);
        if before + x.nrows() > self.limit {
            return Err(BudgetSpent { limit: self.limit }.into());
        }
        let rows: Vec<Vec<u32>> = x
            .outer_iter()
            .map(|z| self.features.render(|f| z[f] > 0.5, self.removal))
            .collect();
        self.predictor.predict_ids(&rows)
    }
}

/// Turns a [`BudgetSpent`] model error into [`ExplainError::TooLarge`].
pub(crate) fn budget_error(e: ExplainError, op: &'static str, needed: usize) -> ExplainError {
    match e
        .model_error()
        .and_then(|m| m.downcast_ref::<BudgetSpent>())
    {
        Some(b) => ExplainError::TooLarge {
            op,
            what: "model evaluations",
            value: needed.max(b.limit + 1),
            limit: b.limit,
        },
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rendering_replaces_or_deletes_features_and_keeps_special_tokens() {
        // [CLS] a b c [SEP]
        let f = TextFeatures::tokens(vec![101, 7, 8, 9, 102], &[true, false, false, false, true])
            .unwrap();
        assert_eq!(f.n_features(), 3);
        assert_eq!(
            f.render(|j| j != 1, Removal::Replace(0)),
            vec![101, 7, 0, 9, 102]
        );
        assert_eq!(f.render(|j| j == 1, Removal::Delete), vec![101, 8, 102]);
        let words =
            TextFeatures::from_groups(vec![101, 7, 8, 9, 102], vec![vec![1, 2], vec![3]]).unwrap();
        assert_eq!(words.render(|j| j == 1, Removal::Delete), vec![101, 9, 102]);
        assert_eq!(
            words.token_scores(&[0.5, -1.0]).unwrap(),
            vec![0.0, 0.5, 0.5, -1.0, 0.0]
        );
        assert!(TextFeatures::from_groups(vec![1, 2], vec![vec![0], vec![0, 1]]).is_err());
        assert!(TextFeatures::from_groups(vec![1, 2], vec![vec![2]]).is_err());
        assert!(matches!(
            TextFeatures::tokens(vec![101, 102], &[true, true]),
            Err(ExplainError::Empty { .. })
        ));
        assert!(TextFeatures::tokens(vec![1], &[]).is_err());
    }

    #[test]
    fn masked_text_counts_rows_and_enforces_its_limit() {
        let f = TextFeatures::tokens(vec![5, 6, 7], &[false; 3]).unwrap();
        let model = |rows: &[Vec<u32>]| {
            Array2::from_shape_fn((rows.len(), 1), |(r, _)| rows[r].len() as f64)
        };
        let budget = TextBudget {
            max_evaluations: 3,
            ..TextBudget::default()
        };
        let masked = MaskedText::new(&model, &f, Removal::Delete, &budget);
        let y = masked
            .predict(array![[1.0, 1.0, 1.0], [0.0, 1.0, 0.0]].view())
            .unwrap();
        assert_eq!(y, array![[3.0], [1.0]]);
        assert_eq!(masked.evaluations(), 2);
        let err = masked
            .predict(array![[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]].view())
            .unwrap_err();
        assert!(err.downcast_ref::<BudgetSpent>().is_some(), "{err}");
        assert!(masked.predict(array![[1.0, 0.0]].view()).is_err());
        let stopped = MaskedText::new(
            &model,
            &f,
            Removal::Delete,
            &TextBudget {
                stop: StopCheck::new(|| true),
                ..TextBudget::default()
            },
        );
        let err = stopped.predict(array![[1.0, 1.0, 1.0]].view()).unwrap_err();
        assert!(err.downcast_ref::<crate::stop::Stopped>().is_some());
        assert_eq!(stopped.evaluations(), 0);
    }
}
