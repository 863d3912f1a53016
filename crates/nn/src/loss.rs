//! Loss functions, each a single fused graph node with a hand-written backward:
//! cross-entropy (class weights, label smoothing, ignore index), NLL, MSE, L1,
//! Huber / smooth-L1 and BCE-with-logits, with PyTorch's formulas and reductions.

use glassbox_autograd::ops::loss::targets_matrix;
pub use glassbox_autograd::ops::loss::{CrossEntropyOptions, Reduction};
use glassbox_autograd::{BackwardOp, Result as AgResult, Var};
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};

/// Backward of a loss whose gradient with respect to its single input is precomputed:
/// `d loss_total / d input = local ⊙ (scalar upstream)` for reduced losses, or rowwise /
/// elementwise scaled for `Reduction::None`.
struct PrecomputedGrad {
    /// Gradient of the reduced loss (or, for `None`, of each output element) w.r.t. input.
    local: Tensor,
    reduction: Reduction,
    /// For `None` with row outputs: number of columns per row (1 for elementwise losses).
    cols: usize,
    name: &'static str,
}

impl BackwardOp for PrecomputedGrad {
    fn backward(&self, grad_out: &Tensor, inputs: &[Var]) -> AgResult<Vec<Option<Tensor>>> {
        if !inputs[0].requires_grad() {
            return Ok(vec![None]);
        }
        let g = match self.reduction {
            Reduction::Mean | Reduction::Sum => {
                let up = grad_out.sum_all();
                self.local.mul_scalar(up)
            }
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

fn check_logits(
    op: &'static str,
    logits: &Tensor,
    targets: &[usize],
    opts: &CrossEntropyOptions,
) -> Result<(usize, usize)> {
    if logits.rank() != 2 {
        return Err(NnError::InputShape {
            layer: op,
            expected: "[N, C] logits".into(),
            found: logits.shape().to_vec(),
        });
    }
    let (n, c) = (logits.shape()[0], logits.shape()[1]);
    if targets.len() != n {
        return Err(NnError::InvalidTarget {
            op,
            reason: format!("{} targets for {n} rows", targets.len()),
        });
    }
    for (row, &t) in targets.iter().enumerate() {
        if t >= c && Some(t) != opts.ignore_index {
            return Err(NnError::InvalidTarget {
                op,
                reason: format!("row {row}: class index {t} >= {c} classes"),
            });
        }
    }
    if let Some(w) = &opts.weight {
        if w.len() != c {
            return Err(NnError::InvalidTarget {
                op,
                reason: format!("{} class weights for {c} classes", w.len()),
            });
        }
    }
    if !(0.0..=1.0).contains(&opts.label_smoothing) {
        return Err(NnError::InvalidTarget {
            op,
            reason: format!("label_smoothing {} is outside [0, 1]", opts.label_smoothing),
        });
    }
    Ok((n, c))
}

#[allow(clippy::too_many_arguments)]
fn reduce_rows(
    op: &'static str,
    rows: Vec<f32>,
    local: Vec<f32>,
    n: usize,
    c: usize,
    denom: f32,
    reduction: Reduction,
    input: &Var,
) -> Result<Var> {
    let (value, scale) = match reduction {
        Reduction::Mean => (rows.iter().sum::<f32>() / denom, 1.0 / denom),
        Reduction::Sum => (rows.iter().sum::<f32>(), 1.0),
        Reduction::None => (0.0, 1.0),
    };
    let mut local = Tensor::from_vec(local, &[n, c])?;
    if scale != 1.0 {
        local.map_inplace(|x| x * scale);
    }
    let out = match reduction {
        Reduction::None => Tensor::from_vec(rows, &[n])?,
        _ => Tensor::scalar(value),
    };
    Ok(Var::from_op(
        out,
        std::slice::from_ref(input),
        Box::new(PrecomputedGrad {
            local,
            reduction,
            cols: c,
            name: op,
        }),
    ))
}

/// Cross-entropy of `logits` `[N, C]` against class indices `targets` (length N), with
/// optional class weights, label smoothing and an ignored class, exactly as
/// `torch.nn.functional.cross_entropy`. The log-softmax is fused in (numerically stable).
pub fn cross_entropy(logits: &Var, targets: &[usize], opts: &CrossEntropyOptions) -> Result<Var> {
    let x = logits.value();
    let (n, c) = check_logits("cross_entropy", &x, targets, opts)?;
    let (q, denom) = targets_matrix(n, c, targets, opts);
    let xc = x.contiguous();
    let xs = xc.as_slice().expect("contiguous");
    let mut rows = vec![0.0f32; n];
    let mut local = vec![0.0f32; n * c];
    for i in 0..n {
        let r = &xs[i * c..(i + 1) * c];
        let qr = &q[i * c..(i + 1) * c];
        let m = r.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let se: f32 = r.iter().map(|&v| (v - m).exp()).sum();
        let lse = m + se.ln();
        let qsum: f32 = qr.iter().sum();
        rows[i] = qr.iter().zip(r).map(|(&qk, &v)| qk * (lse - v)).sum();
        for k in 0..c {
            let p = (r[k] - lse).exp();
            local[i * c + k] = qsum * p - qr[k];
        }
    }
    reduce_rows(
        "cross_entropy",
        rows,
        local,
        n,
        c,
        denom,
        opts.reduction,
        logits,
    )
}

/// Negative log-likelihood of log-probabilities `log_probs` `[N, C]` (the output of a
/// log-softmax) against `targets`, with optional class weights and ignored class, as
/// `torch.nn.functional.nll_loss`.
pub fn nll_loss(log_probs: &Var, targets: &[usize], opts: &CrossEntropyOptions) -> Result<Var> {
    if opts.label_smoothing != 0.0 {
        return Err(NnError::InvalidTarget {
            op: "nll_loss",
            reason: "label smoothing is only defined for cross_entropy".into(),
        });
    }
    let x = log_probs.value();
    let (n, c) = check_logits("nll_loss", &x, targets, opts)?;
    let (q, denom) = targets_matrix(n, c, targets, opts);
    let xc = x.contiguous();
    let xs = xc.as_slice().expect("contiguous");
    let rows: Vec<f32> = (0..n)
        .map(|i| -(0..c).map(|k| q[i * c + k] * xs[i * c + k]).sum::<f32>())
        .collect();
    let local: Vec<f32> = q.iter().map(|v| -v).collect();
    reduce_rows(
        "nll_loss",
        rows,
        local,
        n,
        c,
        denom,
        opts.reduction,
        log_probs,
    )
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
    Ok(Var::from_op(
        out,
        std::slice::from_ref(pred),
        Box::new(PrecomputedGrad {
            local: Tensor::from_vec(local, p.shape())?,
            reduction,
            cols: 1,
            name: op,
        }),
    ))
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
