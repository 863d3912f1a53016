//! Fused losses: cross-entropy on logits (class weights, label smoothing, ignored class,
//! mean/sum/none reduction) and NLL on log-probabilities, with PyTorch's formulas.
//!
//! Both are one graph node whose backward is closed-form: for a row with log-probabilities
//! `ℓ = log_softmax(z)` and a (weighted, smoothed) target vector `q`, the loss is
//! `−Σ_k q_k ℓ_k` and its gradient with respect to the logits is `(Σ_k q_k) softmax(z) − q`.

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

struct RowLossBackward {
    /// Probabilities `softmax(z)` (`None` for NLL, whose input is already log-probabilities).
    probs: Option<Tensor>,
    q: Tensor,
    /// Per-row multiplier of the upstream gradient (1/denominator for mean).
    scale: f32,
    reduction: Reduction,
    name: &'static str,
}

impl BackwardOp for RowLossBackward {
    fn backward(&self, g: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let (n, c) = (self.q.shape()[0], self.q.shape()[1]);
        // upstream per row
        let up: Vec<f32> = match self.reduction {
            Reduction::None => g.to_vec().iter().map(|u| u * self.scale).collect(),
            _ => vec![g.sum_all() * self.scale; n],
        };
        let up = Tensor::from_vec(up, &[n, 1])?;
        let local = match &self.probs {
            // (Σ q) p − q
            Some(p) => {
                let qsum = self.q.try_sum_axes(&[1], true)?;
                p.try_mul(&qsum)?.try_sub(&self.q)?
            }
            // d(−Σ q ℓ)/dℓ = −q
            None => self.q.neg(),
        };
        debug_assert_eq!(local.shape(), &[n, c]);
        Ok(vec![Some(local.try_mul(&up)?)])
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

fn row_loss(
    name: &'static str,
    input: &Var,
    logp: Tensor,
    probs: Option<Tensor>,
    targets: &[usize],
    opts: &CrossEntropyOptions,
) -> Result<Var> {
    let (n, c) = (logp.shape()[0], logp.shape()[1]);
    let (q, denom) = targets_matrix(n, c, targets, opts);
    let q = Tensor::from_vec(q, &[n, c])?;
    // per-row loss −Σ_k q_k ℓ_k
    let rows = q.try_mul(&logp)?.try_sum_axes(&[1], false)?.neg();
    let (value, scale) = match opts.reduction {
        Reduction::None => (rows, 1.0),
        Reduction::Sum => (Tensor::scalar(rows.sum_all()), 1.0),
        Reduction::Mean => (Tensor::scalar(rows.sum_all() / denom), 1.0 / denom),
    };
    let reduction = opts.reduction;
    Ok(Var::record(value, &[input], || RowLossBackward {
        probs,
        q,
        scale,
        reduction,
        name,
    }))
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
    let z = logits.value();
    check("cross_entropy", &z, targets, opts)?;
    let logp = z.try_log_softmax(1)?;
    let probs = logits.requires_grad().then(|| logp.exp());
    row_loss("cross_entropy", logits, logp, probs, targets, opts)
}

/// Negative log-likelihood of log-probabilities `log_probs` `[N, C]` (the output of a
/// log-softmax) against `targets`, as `torch.nn.functional.nll_loss` (class weights,
/// ignored class, reduction; `label_smoothing` must be 0).
pub fn nll_loss(log_probs: &Var, targets: &[usize], opts: &CrossEntropyOptions) -> Result<Var> {
    let lp = log_probs.value();
    check("nll_loss", &lp, targets, opts)?;
    if opts.label_smoothing != 0.0 {
        return Err(AutogradError::invalid(
            "nll_loss",
            "label smoothing is only defined for cross_entropy",
        ));
    }
    row_loss("nll_loss", log_probs, lp, None, targets, opts)
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
