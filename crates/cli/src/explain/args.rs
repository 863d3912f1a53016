//! The flags of `glassbox explain` ([`ExplainArgs`], [`Method`]) and the checks of the
//! flags of a bundle's explanation.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::error::{usage, CliResult};

/// Attribution methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Integrated Gradients (zero baseline, adaptive rule complete to 1e-4 of f(x) - f(0)), with convergence delta.
    Ig,
    /// |gradient| of the explained output.
    Saliency,
    /// SmoothGrad: gradients averaged over 32 noisy copies (σ = 0.15).
    Smoothgrad,
    /// Grad-CAM on the last convolutional feature map (CNN bundles).
    Gradcam,
    /// Occlusion with 2×2 windows (images) or single features (tables).
    Occlusion,
    /// DeepLIFT (rescale rule).
    Deeplift,
    /// Kernel SHAP (background: k-means of the data, 10 centres).
    Shap,
    /// LIME for tabular rows (5000 samples).
    Lime,
    /// Global permutation importance (needs the target column).
    Permutation,
    /// Surrogate decision-tree rules and their fidelity.
    Rules,
    /// Layer Integrated Gradients on the embeddings of a Hugging Face text model (with
    /// `--text`): a BERT classifier's class or a GPT-2's next token.
    Lig,
    /// Attention rollout of `[CLS]` (Abnar & Zuidema; a heuristic, not an explanation) of a
    /// Hugging Face BERT classifier (with `--text`).
    Rollout,
}

impl Method {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::Ig => "ig",
            Method::Saliency => "saliency",
            Method::Smoothgrad => "smoothgrad",
            Method::Gradcam => "gradcam",
            Method::Occlusion => "occlusion",
            Method::Deeplift => "deeplift",
            Method::Shap => "shap",
            Method::Lime => "lime",
            Method::Permutation => "permutation",
            Method::Rules => "rules",
            Method::Lig => "lig",
            Method::Rollout => "rollout",
        }
    }
}

/// Flags of `glassbox explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Model bundle, or a Hugging Face model directory (with `--text`).
    #[arg(long, value_parser = crate::path_arg)]
    pub model: PathBuf,
    /// Data file (CSV or IDX images) of a bundle.
    #[arg(long, value_parser = crate::path_arg)]
    pub data: Option<PathBuf>,
    /// A text to explain with a Hugging Face BertForSequenceClassification (its predicted
    /// class, or `--target`) or GPT2LMHeadModel (its next token) directory.
    #[arg(long)]
    pub text: Option<String>,
    /// Gauss–Legendre points of `--method lig` (default 50, as Captum).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Output to explain with `--text`: class index or token id (default: the largest).
    #[arg(long)]
    pub target: Option<usize>,
    /// Also aggregate subword scores to words (`--text`).
    #[arg(long, value_enum)]
    pub words: Option<crate::explain_text::WordsFlag>,
    /// Method.
    #[arg(long, value_enum)]
    pub method: Method,
    /// Rows to explain, 0-based: `0,3,10-12` (default: the first 5).
    #[arg(long)]
    pub rows: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write pictures (SVG bar charts or PNG heatmaps) and an HTML page here; with `--text`,
    /// the report's text page (every method side by side, faithfulness table) to this
    /// `.html` file (or `explanation.html` in this directory).
    #[arg(long, value_parser = crate::path_arg)]
    pub out: Option<PathBuf>,
    /// With `--text` and `--out`: a faithfulness table (JSON, as written by the
    /// `text_faithfulness` example) to show instead of measuring on the one text.
    #[arg(long, value_parser = crate::path_arg)]
    pub faithfulness: Option<PathBuf>,
    /// Seed of the sampling methods.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Split the work across the ranks of an MPI job (`mpirun -np N glassbox explain …
    /// --distributed`; shap, ig and permutation); results equal one process bit for bit and
    /// only rank 0 prints and writes.
    #[arg(long)]
    pub distributed: bool,
}

/// The data file of a bundle's explanation, after the checks that the flags are those of
/// a bundle (not of `--text`) and that `--model` is not a Hugging Face directory.
pub(super) fn check_bundle_flags(a: &ExplainArgs) -> CliResult<PathBuf> {
    if matches!(a.method, Method::Lig | Method::Rollout) {
        return Err(usage(format!(
            "invalid value '{}' for '--method': it explains a text of a Hugging Face model \
             directory; pass '--text \"…\"' (a bundle takes '--data' and another method)",
            a.method.name()
        )));
    }
    for (set, flag) in [
        (a.steps.is_some(), "--steps"),
        (a.target.is_some(), "--target"),
        (a.words.is_some(), "--words"),
        (a.faithfulness.is_some(), "--faithfulness"),
    ] {
        if set {
            return Err(usage(format!(
                "'{flag}' goes with '--text' (a Hugging Face text model)"
            )));
        }
    }
    if a.model.is_dir() {
        if let Ok(source @ glassbox::ModelSource::HuggingFace { .. }) =
            glassbox::ModelSource::detect(&a.model)
        {
            return Err(usage(format!(
                "'--model {}': 'glassbox explain' with '--data' takes glassbox bundles and does \
                 not support a Hugging Face {}; explain one text with '--text \"…\"' \
                 (--method lig)",
                a.model.display(),
                source.kind()
            )));
        }
    }
    a.data.clone().ok_or_else(|| {
        usage(
            "the following required argument was not provided: '--data <DATA>' (or '--text' \
             with a Hugging Face model directory)",
        )
    })
}

/// With `--distributed` (`distributed`), checks that the method is one that runs
/// distributed.
pub(super) fn check_distributed_method(a: &ExplainArgs, distributed: bool) -> CliResult<()> {
    if distributed && !matches!(a.method, Method::Shap | Method::Ig | Method::Permutation) {
        return Err(usage(format!(
            "invalid value '{}' for '--method' with '--distributed': shap, ig and permutation run distributed",
            a.method.name()
        )));
    }
    Ok(())
}
