//! The per-parameter update rule shared by every optimizer, and its serialisable state.
//!
//! An [`UpdateRule`] is a pure function of `(lr, param, grad, state)`: it updates `param`
//! in place and advances `state`. It knows nothing about graphs, names or schedules; the
//! [`Optimizer`](crate::Optimizer) wrappers walk a model's named parameters and call it.
//! Keeping the rule this small lets the PyTorch trajectories be tested on plain slices.

use serde::{Deserialize, Serialize};

use crate::error::{OptimError, Result};

/// The state an optimizer keeps for one parameter: the number of updates applied so far
/// and the rule's named buffers (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, ...), each with
/// the parameter's number of elements, in the parameter's row-major order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ParamState {
    /// Number of updates applied to this parameter (PyTorch's `state["step"]`).
    pub step: u64,
    /// Named state buffers, in the order given by [`UpdateRule::buffer_names`].
    pub buffers: Vec<(String, Vec<f32>)>,
}

impl ParamState {
    /// The buffer called `name`, if this state holds it.
    pub fn buffer(&self, name: &str) -> Option<&[f32]> {
        self.buffers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// Makes sure the state holds `names` buffers of `len` elements each, creating missing
    /// ones filled with `init`. Errors if an existing buffer has another length.
    pub(crate) fn ensure_buffers(
        &mut self,
        optimizer: &'static str,
        param: &str,
        names: &[&str],
        len: usize,
        init: f32,
    ) -> Result<()> {
        if self.buffers.is_empty() {
            self.buffers = names
                .iter()
                .map(|n| (n.to_string(), vec![init; len]))
                .collect();
            return Ok(());
        }
        if self.buffers.len() != names.len()
            || self.buffers.iter().zip(names).any(|((a, _), b)| a != b)
        {
            return Err(OptimError::StateMismatch {
                reason: format!(
                    "{optimizer}: parameter `{param}` has state buffers {:?}, expected {names:?}",
                    self.buffers
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                ),
            });
        }
        for (n, b) in &self.buffers {
            if b.len() != len {
                return Err(OptimError::LengthMismatch {
                    optimizer,
                    param: param.to_string(),
                    what: format!("state buffer {n}"),
                    expected: len,
                    found: b.len(),
                });
            }
        }
        Ok(())
    }
}

/// A per-parameter optimizer update, matching one of PyTorch's `torch.optim` algorithms.
pub trait UpdateRule: Send + Sync + std::fmt::Debug {
    /// Name of the algorithm (`"SGD"`, `"Adam"`, ...), used in errors and saved state.
    fn name(&self) -> &'static str;

    /// The learning rate the rule was configured with.
    fn default_lr(&self) -> f64;

    /// Names of the per-parameter buffers the rule keeps, in storage order.
    fn buffer_names(&self) -> &'static [&'static str];

    /// Checks that every hyperparameter is in range.
    fn validate(&self) -> Result<()>;

    /// Applies one update with learning rate `lr` to `param` given its gradient `grad`,
    /// advancing `state` (creating its buffers on the first call). `name` is used only in
    /// error messages.
    fn update(
        &self,
        name: &str,
        lr: f64,
        param: &mut [f32],
        grad: &[f32],
        state: &mut ParamState,
    ) -> Result<()>;
}

/// Checks that `grad` has as many elements as `param`.
pub(crate) fn check_len(
    optimizer: &'static str,
    name: &str,
    param: &[f32],
    grad: &[f32],
) -> Result<()> {
    if param.len() != grad.len() {
        return Err(OptimError::LengthMismatch {
            optimizer,
            param: name.to_string(),
            what: "gradient".to_string(),
            expected: param.len(),
            found: grad.len(),
        });
    }
    Ok(())
}

/// Errors unless `value` is finite and `>= 0` (or `> 0` when `strict`).
pub(crate) fn check_non_negative(
    optimizer: &'static str,
    name: &'static str,
    value: f64,
    strict: bool,
) -> Result<()> {
    let ok = value.is_finite() && if strict { value > 0.0 } else { value >= 0.0 };
    if ok {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperparameter {
            optimizer,
            name,
            value,
            reason: if strict {
                "must be finite and > 0"
            } else {
                "must be finite and >= 0"
            },
        })
    }
}

/// Errors unless `0 <= value < 1`.
pub(crate) fn check_unit(optimizer: &'static str, name: &'static str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperparameter {
            optimizer,
            name,
            value,
            reason: "must be in [0, 1)",
        })
    }
}
