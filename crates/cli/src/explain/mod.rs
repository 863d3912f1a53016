//! `glassbox explain`: attributions of a bundle's predictions (gradient, perturbation and
//! Shapley methods), global permutation importance, or surrogate rules.
//!
//! - `args`: the flags and their checks;
//! - `context`: the loaded bundle and its rows;
//! - `local`: attributions of chosen rows;
//! - `global`: surrogate rules and permutation importance;
//! - `output`: printing local attributions, pictures and the HTML page.
//!
//! A text of a Hugging Face model (`--text`) is explained by [`crate::explain_text`].

mod args;
mod context;
mod global;
mod local;
mod output;

pub use args::{ExplainArgs, Method};

use args::{check_bundle_flags, check_distributed_method};
use context::Ctx;

use crate::error::CliResult;
use crate::input::prepare;
use crate::rows::parse_rows;

/// Runs `glassbox explain`.
pub fn run(a: ExplainArgs) -> CliResult<()> {
    if let Some(text) = &a.text {
        return crate::explain_text::run(&a, text);
    }
    let data = check_bundle_flags(&a)?;
    let comm = crate::distributed::communicator(a.distributed)?;
    check_distributed_method(&a, comm.is_some())?;
    let comm = comm.as_deref();
    let (bundle, net) = crate::models::load_bundle(&a.model, "explain")?.into_parts();
    let prepared = prepare(&bundle, &data)?;
    if let Some(c) = comm {
        // Every rank must explain the same model on the same rows.
        let model_print = glassbox::distributed::values_print(&net);
        glassbox::distributed::agree(c, &format!("model {}", a.model.display()), model_print)
            .map_err(glassbox::Error::from)?;
        let rows: Vec<f32> = prepared.x.iter().map(|&v| v as f32).collect();
        let data_print = glassbox::distributed::array_print(prepared.x.shape(), rows.iter());
        glassbox::distributed::agree(c, &format!("data {}", data.display()), data_print)
            .map_err(glassbox::Error::from)?;
    }
    let root = comm.is_none_or(|c| c.is_root());
    let ctx = Ctx {
        bundle: &bundle,
        net: &net,
        x: prepared.x,
    };
    match a.method {
        Method::Rules => return global::rules(&a, &ctx),
        Method::Permutation => {
            return global::permutation(&a, &ctx, prepared.targets, &data, comm, root)
        }
        _ => {}
    }
    let n = ctx.x.nrows();
    let rows = match &a.rows {
        Some(spec) => parse_rows(spec, n)?,
        None => (0..n.min(5)).collect(),
    };
    let (targets, attrs, extra) = local::attributions(&ctx, a.method, &rows, a.seed, comm)?;
    if !root {
        return Ok(());
    }
    output::print_local(&a, &ctx, &data, &rows, &targets, &attrs, &extra)
}
