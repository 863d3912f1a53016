//! Fused losses: cross-entropy on logits (class weights, label smoothing, ignored class,
//! mean/sum/none reduction) and NLL on log-probabilities, with PyTorch's formulas.
//!
//! Both are one graph node whose backward is closed-form: for a row with log-probabilities
//! `ℓ = log_softmax(z)` and a (weighted, smoothed) target vector `q`, the loss is
//! `−Σ_k q_k ℓ_k` and its gradient with respect to the logits is `(Σ_k q_k) softmax(z) − q`.
//! The value is one fused pass over each row (log-sum-exp and loss together); the gradient
//! is built only when the logits need one. [`record_loss`] records any loss computed with
//! its local gradient this way (`glassbox-nn`'s elementwise losses use it too).

use glassbox_tensor::Tensor;

use crate::error::{AutogradError, Result};
use crate::op::BackwardOp;
use crate::var::Var;

/// How per-row (or, for `glassbox-nn`'s elementwise losses, per-element) losses are
/// combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean; for cross-entropy / NLL with class weights, the weighted mean
    /// `Σ w_t l / Σ w_t` (PyTorch).
    #[default]
    Mean,
    /// The sum.
    Sum,
    /// No reduction: one loss per row for cross-entropy / NLL (shape `[N]`), one per
    /// element for elementwise losses.
    None,
}

/// Options of [`cross_entropy`] and [`nll_loss`]; the default is PyTorch's (mean, no
/// weights, no smoothing, no ignored class).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CrossEntropyOptions {
    /// How rows are combined.
    pub reduction: Reduction,
    /// Per-class weights (length = number of classes).
    pub weight: Option<Vec<f32>>,
    /// Label smoothing ε in `[0, 1]`: the target becomes `(1 − ε) one_hot + ε / C`.
    pub label_smoothing: f32,
    /// Rows whose target is this class contribute nothing (and are not counted by the mean).
    pub ignore_index: Option<usize>,
}

/// Checks shapes and targets; returns `(rows, classes)`.
fn check(
    op: &'static str,
    x: &Tensor,
    targets: &[usize],
    opts: &CrossEntropyOptions,
) -> Result<(usize, usize)> {
    if x.rank() != 2 {
        return Err(AutogradError::invalid(
            op,
            format!("expects [N, C] input, got shape {:?}", x.shape()),
        ));
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    if targets.len() != n {
        return Err(AutogradError::invalid(
            op,
            format!(
                "{} targets for {n} rows (input shape {:?})",
                targets.len(),
                x.shape()
            ),
        ));
    }
    for (row, &t) in targets.iter().enumerate() {
        if t >= c && opts.ignore_index != Some(t) {
            return Err(AutogradError::invalid(
                op,
                format!("row {row}: class index {t} is out of range for {c} classes"),
            ));
        }
    }
    if let Some(w) = &opts.weight {
        if w.len() != c {
            return Err(AutogradError::invalid(
                op,
                format!("{} class weights for {c} classes", w.len()),
            ));
        }
    }
    if !(0.0..=1.0).contains(&opts.label_smoothing) {
        return Err(AutogradError::invalid(
            op,
            format!("label_smoothing {} is outside [0, 1]", opts.label_smoothing),
        ));
    }
    Ok((n, c))
}

/// The target distribution of cross-entropy / NLL: `q` (`[N, C]`, row-major; row `i` is
/// `w ⊙ ((1 − ε) one_hot(t_i) + ε / C)` with class weights `w` and smoothing `ε`, zero for
/// an ignored row) and the weighted mean's denominator `Σ w_t` over the rows not ignored.
/// `targets` (length `n`) and `opts` must already be valid for `c` classes.
pub fn targets_matrix(
    n: usize,
    c: usize,
    targets: &[usize],
    opts: &CrossEntropyOptions,
) -> (Vec<f32>, f32) {
    let eps = opts.label_smoothing;
    let w = |k: usize| opts.weight.as_ref().map_or(1.0, |w| w[k]);
    let mut q = vec![0.0f32; n * c];
    let mut denom = 0.0f32;
    for (i, &t) in targets.iter().enumerate() {
        if opts.ignore_index == Some(t) {
            continue;
        }
        denom += w(t);
        let row = &mut q[i * c..(i + 1) * c];
        if eps > 0.0 {
            for (k, qk) in row.iter_mut().enumerate() {
                *qk = eps / c as f32 * w(k);
            }
        }
        row[t] += (1.0 - eps) * w(t);
    }
    (q, denom)
}

/// Backward of a loss whose gradient with respect to its single input was computed with
/// the value (the fused losses here and `glassbox-nn`'s elementwise losses): the input's
/// gradient is `local · upstream`, with the scalar upstream for a reduced loss, or each
/// row's (`cols` elements per row) upstream for `Reduction::None`.
struct PrecomputedGrad {
    /// Gradient of the reduced loss (for `None`, of each output element) w.r.t. the input.
    local: Tensor,
    reduction: Reduction,
    /// Input elements per output element for `Reduction::None` (1 for elementwise losses).
    cols: usize,
    name: &'static str,
}

impl BackwardOp for PrecomputedGrad {
    fn backward(&self, grad_out: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let g = match self.reduction {
            Reduction::Mean | Reduction::Sum => self.local.mul_scalar(grad_out.sum_all()),
            Reduction::None => {
                let up = grad_out.contiguous();
                let us = up.as_slice().expect("contiguous");
                let mut l = self.local.contiguous();
                let cols = self.cols;
                for (i, x) in l.as_slice_mut().iter_mut().enumerate() {
                    *x *= us[i / cols];
                }
                l
            }
        };
        Ok(vec![Some(g)])
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// Records a loss computed in one pass together with its local gradient: `value` is the
/// loss (a scalar, or one value per output element for `Reduction::None`), `local` the
/// gradient of the reduced loss (for `None`, of each output element) with respect to
/// `input`, already scaled (by `1/N` or the weighted mean's denominator), and `cols` the
/// input elements per output element under `None`. `local` is only called when a gradient
/// is needed, so inference under [`no_grad`](crate::no_grad) computes none.
pub fn record_loss(
    name: &'static str,
    input: &Var,
    value: Tensor,
    reduction: Reduction,
    cols: usize,
    local: impl FnOnce() -> Result<Tensor>,
) -> Result<Var> {
    if !(crate::no_grad::is_grad_enabled() && input.requires_grad()) {
        return Ok(Var::constant(value));
    }
    let local = local()?;
    Ok(Var::record(value, &[input], || PrecomputedGrad {
        local,
        reduction,
        cols,
        name,
    }))
}

/// Reduces per-row losses: returns the output value and the gradient scale of each row.
fn reduce_rows(rows: Vec<f32>, denom: f32, reduction: Reduction) -> Result<(Tensor, f32)> {
    let n = rows.len();
    Ok(match reduction {
        Reduction::Mean => (
            Tensor::scalar(rows.iter().sum::<f32>() / denom),
            1.0 / denom,
        ),
        Reduction::Sum => (Tensor::scalar(rows.iter().sum::<f32>()), 1.0),
        Reduction::None => (Tensor::from_vec(rows, &[n])?, 1.0),
    })
}

/// Cross-entropy of `logits` `[N, C]` against class indices `targets` (length N), as
/// `torch.nn.functional.cross_entropy`: class weights, label smoothing (PyTorch's
/// formula, weights included), an ignored class, and mean / sum / none reduction. The
/// log-softmax is fused in, so large logits are stable.
///
/// ```
/// use glassbox_autograd::ops::loss::{cross_entropy, CrossEntropyOptions};
/// use glassbox_autograd::Var;
/// use glassbox_tensor::Tensor;
/// let z = Var::parameter(Tensor::zeros(&[1, 4]));
/// let loss = cross_entropy(&z, &[2], &CrossEntropyOptions::default()).unwrap();
/// assert!((loss.value().item().unwrap() - 4f32.ln()).abs() < 1e-6);
/// loss.backward().unwrap();
/// assert_eq!(z.grad().unwrap().to_vec(), vec![0.25, 0.25, -0.75, 0.25]);
/// ```
pub fn cross_entropy(logits: &Var, targets: &[usize], opts: &CrossEntropyOptions) -> Result<Var> {
    let x = logits.value();
    let (n, c) = check("cross_entropy", &x, targets, opts)?;
    let (q, denom) = targets_matrix(n, c, targets, opts);
    let xc = x.contiguous();
    let xs = xc.as_slice().expect("contiguous");
    // One pass per row: the log-sum-exp, the loss Σ q_k (lse − z_k), and (kept for the
    // backward) the lse, so the gradient (Σ q) softmax(z) − q needs no second softmax.
    let mut rows = vec![0.0f32; n];
    let mut lses = vec![0.0f32; n];
    for i in 0..n {
        let r = &xs[i * c..(i + 1) * c];
        let qr = &q[i * c..(i + 1) * c];
        let m = r.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let se: f32 = r.iter().map(|&v| (v - m).exp()).sum();
        let lse = m + se.ln();
        lses[i] = lse;
        rows[i] = qr.iter().zip(r).map(|(&qk, &v)| qk * (lse - v)).sum();
    }
    let (value, scale) = reduce_rows(rows, denom, opts.reduction)?;
    record_loss("cross_entropy", logits, value, opts.reduction, c, || {
        let mut local = vec![0.0f32; n * c];
        for (i, lse) in lses.iter().enumerate() {
            let r = &xs[i * c..(i + 1) * c];
            let qr = &q[i * c..(i + 1) * c];
            let qsum: f32 = qr.iter().sum();
            for (k, l) in local[i * c..(i + 1) * c].iter_mut().enumerate() {
                *l = (qsum * (r[k] - lse).exp() - qr[k]) * scale;
            }
        }
        Tensor::from_vec(local, &[n, c]).map_err(Into::into)
    })
}

/// Negative log-likelihood of log-probabilities `log_probs` `[N, C]` (the output of a
/// log-softmax) against `targets`, as `torch.nn.functional.nll_loss` (class weights,
/// ignored class, reduction; `label_smoothing` must be 0).
pub fn nll_loss(log_probs: &Var, targets: &[usize], opts: &CrossEntropyOptions) -> Result<Var> {
    if opts.label_smoothing != 0.0 {
        return Err(AutogradError::invalid(
            "nll_loss",
            "label smoothing is only defined for cross_entropy",
        ));
    }
    let x = log_probs.value();
    let (n, c) = check("nll_loss", &x, targets, opts)?;
    let (q, denom) = targets_matrix(n, c, targets, opts);
    let xc = x.contiguous();
    let xs = xc.as_slice().expect("contiguous");
    let rows: Vec<f32> = (0..n)
        .map(|i| -(0..c).map(|k| q[i * c + k] * xs[i * c + k]).sum::<f32>())
        .collect();
    let (value, scale) = reduce_rows(rows, denom, opts.reduction)?;
    record_loss("nll_loss", log_probs, value, opts.reduction, c, || {
        let local = q.iter().map(|v| -v * scale).collect();
        Tensor::from_vec(local, &[n, c]).map_err(Into::into)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_row() {
        let z = Var::parameter(Tensor::zeros(&[2, 3]));
        let e = cross_entropy(&z, &[0, 5], &CrossEntropyOptions::default()).unwrap_err();
        assert!(e.to_string().contains("row 1: class index 5"), "{e}");
        let e = cross_entropy(&z, &[0], &CrossEntropyOptions::default()).unwrap_err();
        assert!(e.to_string().contains("1 targets for 2 rows"), "{e}");
        let opts = CrossEntropyOptions {
            weight: Some(vec![1.0]),
            ..Default::default()
        };
        assert!(cross_entropy(&z, &[0, 1], &opts).is_err());
    }

    #[test]
    fn ignore_index_drops_rows() {
        // Row 1 ignored: the mean is over row 0 only.
        let z = Var::parameter(Tensor::from_vec(vec![0., 0., 5., -5.], &[2, 2]).unwrap());
        let opts = CrossEntropyOptions {
            ignore_index: Some(1),
            ..Default::default()
        };
        let l = cross_entropy(&z, &[0, 1], &opts).unwrap();
        assert!((l.value().item().unwrap() - 2f32.ln()).abs() < 1e-6);
        l.backward().unwrap();
        assert_eq!(z.grad().unwrap().to_vec(), vec![-0.5, 0.5, 0.0, 0.0]);
    }

    #[test]
    fn none_reduction_per_row() {
        let z = Var::parameter(Tensor::zeros(&[2, 2]));
        let opts = CrossEntropyOptions {
            reduction: Reduction::None,
            ..Default::default()
        };
        let l = cross_entropy(&z, &[0, 1], &opts).unwrap();
        assert_eq!(l.shape(), vec![2]);
        l.backward_with(&Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap())
            .unwrap();
        assert_eq!(z.grad().unwrap().to_vec(), vec![-0.5, 0.5, 1.0, -1.0]);
    }
}
