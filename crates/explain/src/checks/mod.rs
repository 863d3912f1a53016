//! Checks of explanations that need only a predictor and attributions: deletion and
//! insertion curves with their area, infidelity and max-sensitivity (as in Captum), and
//! rank correlations for the model-randomisation sanity check (Adebayo et al., 2018).

mod curves;
mod infidelity;
mod rank;
mod sensitivity;

pub use curves::{
    auc_trapezoid, deletion_curve, insertion_curve, perturbation_curves, Curve, CurveConfig,
    CurveKind,
};
pub use infidelity::{gaussian_perturbation, infidelity, InfidelityConfig};
pub use rank::{pearson, randomisation_check, ranks, spearman};
pub use sensitivity::{max_sensitivity, SensitivityConfig};
