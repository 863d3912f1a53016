//! End-to-end tests of the umbrella crate (one test binary).

mod text_attention;
mod text_lig;
mod text_methods;
mod text_perturb;
mod text_spam;
