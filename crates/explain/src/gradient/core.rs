//! Shared plumbing: targets, baselines, batch caps and one batched forward/backward pass.

use glassbox_autograd::Var;
use glassbox_tensor::Tensor;
use ndarray::{ArrayD, IxDyn};

use super::error::{GradientError, Result};
use super::model::{GradModel, Rule};

/// Reference input of path methods (IG, DeepLIFT, layer methods).
#[derive(Debug, Clone, Default)]
pub enum Baseline {
    /// All zeros (Captum's default).
    #[default]
    Zeros,
    /// Every feature set to this value.
    Scalar(f32),
    /// One baseline per input (`[N, …]`, the input's shape) or one shared by all inputs
    /// (`[1, …]` or the shape of one sample).
    Tensor(Tensor),
}

impl Baseline {
    /// The baseline expanded to `x`'s shape `[N, …]`.
    pub fn expand(&self, op: &'static str, x: &Tensor) -> Result<Tensor> {
        let shape = x.shape();
        match self {
            Baseline::Zeros => Ok(Tensor::zeros(shape)),
            Baseline::Scalar(v) => Ok(Tensor::full(shape, *v)),
            Baseline::Tensor(b) => {
                let sample = &shape[1..];
                if b.shape() == shape {
                    Ok(b.contiguous())
                } else if b.shape() == sample
                    || (b.shape().len() == shape.len()
                        && b.shape()[0] == 1
                        && &b.shape()[1..] == sample)
                {
                    let one = b.contiguous().to_vec();
                    let mut v = Vec::with_capacity(x.len());
                    for _ in 0..shape[0] {
                        v.extend_from_slice(&one);
                    }
                    Ok(Tensor::from_vec(v, shape)?)
                } else {
                    Err(GradientError::Shape {
                        op,
                        what: "baseline",
                        expected: format!("{shape:?}, [1, {sample:?}…] or {sample:?}"),
                        found: b.shape().to_vec(),
                    })
                }
            }
        }
    }
}

/// Cap on the rows of one forward/backward batch, which bounds peak memory: the
/// interpolation points of IG (steps × inputs rows in all) go through the model in chunks
/// of at most this many rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchCap {
    /// At most this many rows per batch.
    Rows(usize),
    /// Rows per batch chosen so the batch's activations, gradients and input take at most
    /// about this many bytes (measured with one no-grad forward of a single row).
    Bytes(usize),
    /// Everything in one batch.
    Unlimited,
}

impl Default for BatchCap {
    fn default() -> Self {
        BatchCap::Rows(4096)
    }
}

impl BatchCap {
    /// Rows per batch for `model` on samples shaped like row 0 of `x`.
    pub fn rows(self, op: &'static str, model: &GradModel, x: &Tensor) -> Result<usize> {
        match self {
            BatchCap::Rows(0) | BatchCap::Bytes(0) => Err(GradientError::InvalidArgument {
                op,
                field: "batch cap",
                reason: "must be positive".into(),
            }),
            BatchCap::Rows(r) => Ok(r),
            BatchCap::Unlimited => Ok(usize::MAX),
            BatchCap::Bytes(b) => {
                let per_row = model.bytes_per_row(&rows(x, 0, 1)?)?;
                Ok((b / per_row.max(1)).max(1))
            }
        }
    }
}

impl GradModel<'_> {
    /// Bytes one row needs in a recorded forward/backward pass: input, every layer's output
    /// and its gradient, in f32.
    pub(crate) fn bytes_per_row(&self, one: &Tensor) -> Result<usize> {
        let mut total = one.len() * 2;
        glassbox_autograd::no_grad(|| -> Result<()> {
            let mut h = Var::constant(one.clone());
            for l in self.layers() {
                h = l.module.forward(&h)?;
                total += h.value().len() * 2;
            }
            Ok(())
        })?;
        Ok(total * 4)
    }
}

/// Rows `start..start + len` of `x` (a copy, contiguous).
pub(crate) fn rows(x: &Tensor, start: usize, len: usize) -> Result<Tensor> {
    Ok(x.try_narrow(0, start, len)?.contiguous())
}

/// Runs `f` on chunks of at most [`GradModel::cap`] rows of `x` (with their `targets`,
/// already one per row) and stacks the results along axis 0. Every chunk is its own
/// forward pass, so the model's [`StopCheck`](crate::stop::StopCheck) is asked between
/// chunks and peak memory is one chunk's.
pub(crate) fn by_chunks(
    op: &'static str,
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    f: impl Fn(&Tensor, &[usize]) -> Result<ArrayD<f64>>,
) -> Result<ArrayD<f64>> {
    let n = targets.len();
    let cap = model.cap().rows(op, model, x)?;
    if cap >= n {
        return f(x, targets);
    }
    let mut parts = Vec::with_capacity(n.div_ceil(cap));
    for start in (0..n).step_by(cap) {
        let len = cap.min(n - start);
        parts.push(f(&rows(x, start, len)?, &targets[start..start + len])?);
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    Ok(ndarray::concatenate(ndarray::Axis(0), &views)
        .expect("the chunks share their trailing shape"))
}

/// Checks `x` is a batch `[N, …]` with `N > 0` and expands `targets` (one per row or one
/// for all rows).
pub(crate) fn expand_targets(
    op: &'static str,
    x: &Tensor,
    targets: &[usize],
) -> Result<Vec<usize>> {
    let n = batch_size(op, x)?;
    match targets.len() {
        1 => Ok(vec![targets[0]; n]),
        l if l == n => Ok(targets.to_vec()),
        l => Err(GradientError::InvalidArgument {
            op,
            field: "targets",
            reason: format!("{l} targets for {n} input rows (give one per row, or one for all)"),
        }),
    }
}

/// `N` of a batch `[N, …]`.
pub(crate) fn batch_size(op: &'static str, x: &Tensor) -> Result<usize> {
    match x.shape().first() {
        Some(&n) if n > 0 && !x.is_empty() => Ok(n),
        _ => Err(GradientError::Shape {
            op,
            what: "input",
            expected: "a non-empty batch [N, …]".into(),
            found: x.shape().to_vec(),
        }),
    }
}

/// One-hot `[N, K]` upstream selecting `targets` of a model output `out`.
pub(crate) fn target_mask(op: &'static str, out: &Tensor, targets: &[usize]) -> Result<Tensor> {
    let s = out.shape();
    if s.len() != 2 || s[0] != targets.len() {
        return Err(GradientError::Shape {
            op,
            what: "model output",
            expected: format!("[{}, outputs]", targets.len()),
            found: s.to_vec(),
        });
    }
    let k = s[1];
    let mut m = vec![0f32; s[0] * k];
    for (row, &t) in targets.iter().enumerate() {
        if t >= k {
            return Err(GradientError::Target {
                op,
                row,
                target: t,
                outputs: k,
            });
        }
        m[row * k + t] = 1.0;
    }
    Ok(Tensor::from_vec(m, s)?)
}

/// The target outputs `out[i, targets[i]]`.
pub(crate) fn pick(op: &'static str, out: &Tensor, targets: &[usize]) -> Result<Vec<f64>> {
    let mask = target_mask(op, out, targets)?;
    let k = out.shape()[1];
    let o = out.contiguous().to_vec();
    drop(mask);
    Ok(targets
        .iter()
        .enumerate()
        .map(|(i, &t)| o[i * k + t] as f64)
        .collect())
}

/// Gradient of `Σ_i out[i, targets[i]]` with respect to the output of layer `from − 1`
/// (the input when `from == 0`), evaluated at `h`, running layers `from..` under `rule`.
/// Returns the gradient (shaped like `h`) and the target outputs.
pub(crate) fn grad_from(
    op: &'static str,
    model: &GradModel,
    h: &Tensor,
    from: usize,
    targets: &[usize],
    rule: Rule,
) -> Result<(Tensor, Vec<f64>)> {
    // A rayon job may run on a thread waiting inside another job's `no_grad`.
    glassbox_autograd::enable_grad(|| {
        let v = Var::leaf(h.clone(), true);
        let out = model.forward_range(&v, from, model.layers().len(), rule)?;
        let ov = out.value();
        let mask = target_mask(op, &ov, targets)?;
        let picked = pick(op, &ov, targets)?;
        out.backward_with(&mask)?;
        let g = v.grad().ok_or(GradientError::NoGradient {
            op,
            what: "the input",
        })?;
        Ok((g, picked))
    })
}

/// A tensor's values as an `f64` array of the same shape.
pub fn to_array(t: &Tensor) -> ArrayD<f64> {
    let v: Vec<f64> = t.contiguous().to_vec().into_iter().map(f64::from).collect();
    ArrayD::from_shape_vec(IxDyn(t.shape()), v).expect("length matches shape")
}

/// An `f64` array as an f32 tensor.
pub fn from_array(a: &ArrayD<f64>) -> Tensor {
    Tensor::from(a.mapv(|v| v as f32))
}
