//! Loss functions, each a single fused graph node with a hand-written backward:
//! cross-entropy (class weights, label smoothing, ignore index), NLL, MSE, L1,
//! Huber / smooth-L1 and BCE-with-logits, with PyTorch's formulas and reductions.
//! Cross-entropy and NLL are autograd's kernels (one implementation in the workspace);
//! every loss here records its gradient through autograd's
//! [`record_loss`](glassbox_autograd::ops::loss::record_loss).

use glassbox_autograd::ops::loss;
pub use glassbox_autograd::ops::loss::{CrossEntropyOptions, Reduction};
use glassbox_autograd::Var;
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};

/// Cross-entropy of `logits` `[N, C]` against class indices `targets` (length N), with
/// optional class weights, label smoothing and an ignored class, exactly as
/// `torch.nn.functional.cross_entropy`. The log-softmax is fused in (numerically stable).
/// The kernel is autograd's ([`glassbox_autograd::ops::loss::cross_entropy`]).
pub fn cross_entropy(logits: &Var, targets: &[usize], opts: &CrossEntropyOptions) -> Result<Var> {
    Ok(loss::cross_entropy(logits, targets, opts)?)
}

/// Negative log-likelihood of log-probabilities `log_probs` `[N, C]` (the output of a
/// log-softmax) against `targets`, with optional class weights and ignored class, as
/// `torch.nn.functional.nll_loss`. The kernel is autograd's
/// ([`glassbox_autograd::ops::loss::nll_loss`]).
pub fn nll_loss(log_probs: &Var, targets: &[usize], opts: &CrossEntropyOptions) -> Result<Var> {
    Ok(loss::nll_loss(log_probs, targets, opts)?)
}

/// A loss `Σ f(pred_i, target_i)` with derivative `f'` w.r.t. `pred`.
fn pointwise(
    op: &'static str,
    pred: &Var,
    target: &Tensor,
    reduction: Reduction,
    f: impl Fn(f32, f32) -> (f32, f32),
) -> Result<Var> {
    let p = pred.value();
    if p.shape() != target.shape() {
        return Err(NnError::InputShape {
            layer: op,
            expected: format!(
                "target shape {:?} equal to the prediction's",
                target.shape()
            ),
            found: p.shape().to_vec(),
        });
    }
    let pc = p.contiguous();
    let tc = target.contiguous();
    let (ps, ts) = (
        pc.as_slice().expect("contiguous"),
        tc.as_slice().expect("contiguous"),
    );
    let n = ps.len();
    let mut vals = Vec::with_capacity(n);
    let mut local = Vec::with_capacity(n);
    for (&a, &b) in ps.iter().zip(ts) {
        let (v, d) = f(a, b);
        vals.push(v);
        local.push(d);
    }
    let (out, scale) = match reduction {
        Reduction::Mean => (
            Tensor::scalar(vals.iter().sum::<f32>() / n.max(1) as f32),
            1.0 / n.max(1) as f32,
        ),
        Reduction::Sum => (Tensor::scalar(vals.iter().sum::<f32>()), 1.0),
        Reduction::None => (Tensor::from_vec(vals, p.shape())?, 1.0),
    };
    if scale != 1.0 {
        local.iter_mut().for_each(|x| *x *= scale);
    }
    let shape = p.shape().to_vec();
    Ok(loss::record_loss(op, pred, out, reduction, 1, || {
        Ok(Tensor::from_vec(local, &shape)?)
    })?)
}

/// Mean squared error `(pred − target)²`.
pub fn mse_loss(pred: &Var, target: &Tensor, reduction: Reduction) -> Result<Var> {
    pointwise("mse_loss", pred, target, reduction, |a, b| {
        let d = a - b;
        (d * d, 2.0 * d)
    })
}

/// Mean absolute error `|pred − target|` (gradient 0 where they are equal, as PyTorch).
pub fn l1_loss(pred: &Var, target: &Tensor, reduction: Reduction) -> Result<Var> {
    pointwise("l1_loss", pred, target, reduction, |a, b| {
        let d = a - b;
        let s = if d > 0.0 {
            1.0
        } else if d < 0.0 {
            -1.0
        } else {
            0.0
        };
        (d.abs(), s)
    })
}

/// Huber loss: `½ d²` for `|d| < delta`, else `delta (|d| − ½ delta)`.
pub fn huber_loss(pred: &Var, target: &Tensor, delta: f32, reduction: Reduction) -> Result<Var> {
    if delta.is_nan() || delta <= 0.0 {
        return Err(NnError::InvalidConfig {
            layer: "huber_loss",
            field: "delta",
            reason: format!("{delta} must be > 0"),
        });
    }
    pointwise("huber_loss", pred, target, reduction, move |a, b| {
        let d = a - b;
        if d.abs() < delta {
            (0.5 * d * d, d)
        } else {
            (delta * (d.abs() - 0.5 * delta), delta * d.signum())
        }
    })
}

/// Smooth-L1 loss: `½ d² / beta` for `|d| < beta`, else `|d| − ½ beta` (`beta = 0` is L1).
pub fn smooth_l1_loss(pred: &Var, target: &Tensor, beta: f32, reduction: Reduction) -> Result<Var> {
    if beta.is_nan() || beta < 0.0 {
        return Err(NnError::InvalidConfig {
            layer: "smooth_l1_loss",
            field: "beta",
            reason: format!("{beta} must be >= 0"),
        });
    }
    if beta == 0.0 {
        return l1_loss(pred, target, reduction);
    }
    pointwise("smooth_l1_loss", pred, target, reduction, move |a, b| {
        let d = a - b;
        if d.abs() < beta {
            (0.5 * d * d / beta, d / beta)
        } else {
            (d.abs() - 0.5 * beta, d.signum())
        }
    })
}

/// Binary cross-entropy on logits: `max(x, 0) − x y + ln(1 + e^−|x|)` (stable), gradient
/// `σ(x) − y`, as `binary_cross_entropy_with_logits` (targets may be soft, in `[0, 1]`).
pub fn bce_with_logits(logits: &Var, target: &Tensor, reduction: Reduction) -> Result<Var> {
    pointwise("bce_with_logits", logits, target, reduction, |x, y| {
        let v = x.max(0.0) - x * y + (-x.abs()).exp().ln_1p();
        let s = 1.0 / (1.0 + (-x).exp());
        (v, s - y)
    })
}
