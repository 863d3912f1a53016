//! The report's data model: plain, serde-serialisable data with no dependency on the
//! model crates. Every section is optional; empty or absent sections are not rendered.

use serde::{Deserialize, Serialize};

use crate::colormap::Colormap;

/// A complete report. Fill the sections you have and call
/// [`Report::write_html`](crate::Report::write_html).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    /// Page title (also the `<title>`).
    pub title: String,
    /// One line under the title (e.g. the command that produced the report).
    pub subtitle: Option<String>,
    /// Free text shown in the footer (e.g. generation time, glassbox version).
    pub footer: Option<String>,
    /// What the model was trained on.
    pub dataset: Option<DatasetSummary>,
    /// What the model is.
    pub model: Option<ModelSummary>,
    /// Per-epoch training history.
    pub history: Option<TrainingHistory>,
    /// Metrics on the held-out test set.
    pub test_metrics: Option<TestMetrics>,
    /// Confusion matrix on the test set.
    pub confusion: Option<ConfusionMatrix>,
    /// Per-class precision, recall, F1 and support.
    pub per_class: Vec<ClassMetrics>,
    /// Cross-validation scores.
    pub cross_validation: Option<CrossValidation>,
    /// Attribution heatmaps for individual images.
    pub image_explanations: Vec<ImageExplanation>,
    /// Feature-importance bar charts for tabular models (SHAP, permutation importance...).
    pub tabular_attributions: Vec<FeatureChart>,
    /// Rules extracted by a surrogate model.
    pub rules: Option<RuleSet>,
    /// Sanity and faithfulness checks of the explanations.
    pub checks: Option<ExplanationChecks>,
    /// Token attributions of texts, several methods each (the text page).
    pub text_explanations: Option<crate::model_text::TextExplanations>,
    /// Faithfulness of the text methods next to random rankings.
    pub faithfulness: Option<crate::model_text::FaithfulnessTable>,
}

/// A summary of the data set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetSummary {
    /// Name (e.g. `"MNIST"`, `"digits.csv"`).
    pub name: String,
    /// Shape of one input sample (e.g. `[1, 28, 28]` or `[30]`).
    pub input_shape: Vec<usize>,
    /// Class names in label order (empty for regression).
    pub classes: Vec<String>,
    /// Number of training samples.
    pub n_train: Option<u64>,
    /// Number of validation samples.
    pub n_val: Option<u64>,
    /// Number of test samples.
    pub n_test: Option<u64>,
    /// Any other facts worth showing, as `(label, value)` pairs.
    pub extra: Vec<(String, String)>,
}

/// A summary of the model and how it was trained.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSummary {
    /// Architecture description, e.g. `"Conv(1→8,3×3) → ReLU → MaxPool → Linear(1352→10)"`.
    pub architecture: String,
    /// Number of trainable parameters.
    pub n_parameters: u64,
    /// Wall-clock training time in seconds.
    pub training_time_secs: Option<f64>,
    /// Optimizer description, e.g. `"Adam(lr=1e-3)"`.
    pub optimizer: Option<String>,
    /// Any other facts worth showing, as `(label, value)` pairs.
    pub extra: Vec<(String, String)>,
}

/// Per-epoch training history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingHistory {
    /// One record per epoch, in order.
    pub epochs: Vec<EpochRecord>,
}

/// Metrics recorded at the end of one epoch. Missing values are skipped in the charts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EpochRecord {
    /// Epoch number (1-based by convention).
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: Option<f64>,
    /// Validation loss.
    pub val_loss: Option<f64>,
    /// Training accuracy in `[0, 1]` (leave `None` for regression).
    pub train_accuracy: Option<f64>,
    /// Validation accuracy in `[0, 1]`.
    pub val_accuracy: Option<f64>,
    /// Learning rate used during the epoch.
    pub learning_rate: Option<f64>,
}

/// Test-set classification metrics (fractions in `[0, 1]`, except log loss).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestMetrics {
    /// Number of test samples.
    pub n_samples: Option<u64>,
    /// Accuracy.
    pub accuracy: Option<f64>,
    /// Balanced accuracy (mean per-class recall).
    pub balanced_accuracy: Option<f64>,
    /// Macro-averaged precision.
    pub precision_macro: Option<f64>,
    /// Macro-averaged recall.
    pub recall_macro: Option<f64>,
    /// Macro-averaged F1.
    pub f1_macro: Option<f64>,
    /// Cross-entropy (natural log).
    pub log_loss: Option<f64>,
    /// ROC-AUC (binary, or one-vs-rest macro average).
    pub roc_auc: Option<f64>,
}

/// A confusion matrix: `counts[i][j]` samples of true class `i` were predicted as `j`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfusionMatrix {
    /// Class names; `counts` is `classes.len()` × `classes.len()`.
    pub classes: Vec<String>,
    /// Row = true class, column = predicted class.
    pub counts: Vec<Vec<u64>>,
}

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// Precision in `[0, 1]`.
    pub precision: f64,
    /// Recall in `[0, 1]`.
    pub recall: f64,
    /// F1 in `[0, 1]`.
    pub f1: f64,
    /// Number of true samples of the class.
    pub support: u64,
}

/// K-fold cross-validation scores: one or more metrics, each with one score per fold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CrossValidation {
    /// How the folds were made, e.g. `"stratified 5-fold, shuffled, seed 0"`.
    pub description: Option<String>,
    /// The metrics; all must have the same number of folds.
    pub metrics: Vec<CvMetric>,
}

/// One metric's per-fold scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CvMetric {
    /// Metric name, e.g. `"accuracy"`.
    pub name: String,
    /// Score of each fold.
    pub fold_scores: Vec<f64>,
}

impl CvMetric {
    /// Mean of the fold scores (`NaN` when there are none).
    pub fn mean(&self) -> f64 {
        if self.fold_scores.is_empty() {
            return f64::NAN;
        }
        self.fold_scores.iter().sum::<f64>() / self.fold_scores.len() as f64
    }

    /// Population standard deviation of the fold scores (`ddof = 0`, as NumPy's `std()` on
    /// scikit-learn's `cross_val_score` output).
    pub fn std(&self) -> f64 {
        let m = self.mean();
        if !m.is_finite() {
            return f64::NAN;
        }
        let var = self
            .fold_scores
            .iter()
            .map(|s| (s - m) * (s - m))
            .sum::<f64>()
            / self.fold_scores.len() as f64;
        var.sqrt()
    }
}

/// A grayscale image stored row-major.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrayImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` intensities, row-major.
    pub pixels: Vec<f32>,
    /// Intensities mapped to black and white; `None` uses the image's own min and max.
    pub value_range: Option<(f32, f32)>,
    /// Show low values as white and high values as black (ink on paper), e.g. for digits.
    pub invert: bool,
}

/// One named attribution map for an image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttributionMap {
    /// Method name, e.g. `"Integrated Gradients"` or `"Grad-CAM"`.
    pub method: String,
    /// Map width; may be coarser than the image (Grad-CAM), it is then upsampled bilinearly.
    pub width: usize,
    /// Map height.
    pub height: usize,
    /// `width * height` attribution values, row-major.
    pub values: Vec<f32>,
    /// Colour scale; `None` picks diverging when any value is negative, sequential otherwise.
    pub colormap: Option<Colormap>,
    /// A short note shown under the picture (e.g. `"δ = 3e-4"` for IG's completeness gap).
    pub note: Option<String>,
}

impl AttributionMap {
    /// The colour scale used for this map (see [`AttributionMap::colormap`]).
    pub fn effective_colormap(&self) -> Colormap {
        self.colormap.unwrap_or_else(|| {
            if self.values.iter().any(|v| *v < 0.0) {
                Colormap::Diverging
            } else {
                Colormap::Sequential
            }
        })
    }

    /// The colour limit: the 99th percentile of `|values|`, so one outlier pixel does not wash
    /// out the map (Captum's `visualize_image_attr` uses a similar percentile clip). `1.0`
    /// when all values are zero.
    pub fn color_limit(&self) -> f64 {
        let q = crate::colormap::abs_quantile(&self.values, 0.99);
        if q > 0.0 {
            q
        } else {
            let max = crate::colormap::abs_quantile(&self.values, 1.0);
            if max > 0.0 {
                max
            } else {
                1.0
            }
        }
    }
}

/// Attribution maps for one input image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageExplanation {
    /// Caption, e.g. `"test sample #17"`.
    pub label: String,
    /// The input image.
    pub image: GrayImage,
    /// Predicted class name.
    pub predicted: String,
    /// True class name.
    pub actual: Option<String>,
    /// Probability of the predicted class.
    pub confidence: Option<f64>,
    /// Attribution maps, shown left to right after the input.
    pub attributions: Vec<AttributionMap>,
}

/// A horizontal bar chart of per-feature values, optionally with ± error bars.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureChart {
    /// Chart title, e.g. `"SHAP: mean |value|"`.
    pub title: String,
    /// Text under the title explaining what the bars mean.
    pub description: Option<String>,
    /// Axis label for the values, e.g. `"mean |SHAP value| (log-odds)"`.
    pub value_label: String,
    /// One bar per feature (sorted by value, largest first, when rendered).
    pub features: Vec<FeatureValue>,
    /// Show at most this many features (the largest); `None` shows all.
    pub max_features: Option<usize>,
}

/// One bar of a [`FeatureChart`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureValue {
    /// Feature name.
    pub name: String,
    /// Bar length.
    pub value: f64,
    /// Half-width of the error bar (e.g. a standard deviation).
    pub error: Option<f64>,
}

/// Rules extracted from a surrogate model, with the surrogate's fidelity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleSet {
    /// The surrogate, e.g. `"decision tree, depth 3"`.
    pub surrogate: Option<String>,
    /// Fraction of samples on which the surrogate agrees with the model.
    pub fidelity: f64,
    /// The data the fidelity was measured on, e.g. `"test set (n = 45)"`.
    pub fidelity_data: Option<String>,
    /// The rules.
    pub rules: Vec<Rule>,
}

/// One extracted rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rule {
    /// The rule as text, e.g. `"IF petal width ≤ 0.8 THEN setosa"`.
    pub text: String,
    /// Fraction of samples the rule covers.
    pub coverage: f64,
    /// Fraction of covered samples on which the rule's conclusion matches the model.
    pub accuracy: f64,
}

/// Sanity and faithfulness checks of the explanations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExplanationChecks {
    /// Model-parameter randomisation checks (Adebayo et al., 2018).
    pub sanity: Vec<SanityCheck>,
    /// Deletion / insertion curves (Petsiuk et al., 2018).
    pub curves: Vec<PerturbationCurve>,
}

/// Model-parameter randomisation test: attributions of the trained model are compared with
/// those of a model whose weights were re-initialised; a faithful method must change, i.e.
/// the rank correlation must be low.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SanityCheck {
    /// Attribution method checked.
    pub method: String,
    /// Spearman rank correlation between the two attribution maps (mean over samples).
    pub spearman: f64,
    /// The check passes when `|spearman|` is below this threshold.
    pub threshold: f64,
    /// Whether the check passed.
    pub passed: bool,
    /// Extra detail, e.g. how many samples were used.
    pub detail: Option<String>,
}

/// Whether features are removed from or added to the input along the curve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurveKind {
    /// Most important features are removed first; a faithful ranking makes the score drop
    /// fast (lower AUC is better).
    #[default]
    Deletion,
    /// Most important features are inserted first into a blank input; a faithful ranking
    /// makes the score rise fast (higher AUC is better).
    Insertion,
}

impl CurveKind {
    /// `"Deletion"` or `"Insertion"`.
    pub fn title(self) -> &'static str {
        match self {
            CurveKind::Deletion => "Deletion",
            CurveKind::Insertion => "Insertion",
        }
    }
}

/// A deletion or insertion curve for one or more feature rankings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PerturbationCurve {
    /// Deletion or insertion.
    pub kind: CurveKind,
    /// Label of the y axis, e.g. `"p(true class)"`.
    pub score_label: String,
    /// One line per ranking (e.g. Integrated Gradients and a random ranking).
    pub series: Vec<CurveSeries>,
}

/// One ranking's curve.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CurveSeries {
    /// Ranking name, e.g. `"Integrated Gradients"` or `"random"`.
    pub name: String,
    /// Fraction of features removed/inserted, increasing, in `[0, 1]`.
    pub fractions: Vec<f64>,
    /// Model score at each fraction.
    pub scores: Vec<f64>,
    /// Area under the curve; `None` computes it with the trapezoid rule.
    pub auc: Option<f64>,
}

impl CurveSeries {
    /// The given AUC, or the trapezoid-rule area under `(fractions, scores)`.
    pub fn area(&self) -> f64 {
        self.auc
            .unwrap_or_else(|| trapezoid(&self.fractions, &self.scores))
    }
}

/// Trapezoid-rule integral of `y` over `x` (pairs beyond the shorter length are ignored).
pub fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    (1..n)
        .map(|i| (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0)
        .sum()
}
