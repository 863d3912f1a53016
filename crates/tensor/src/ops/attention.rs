//! Scaled dot-product attention kernels over strided head layouts.
//!
//! `softmax(scale · Q Kᵀ + mask) V`, one `(batch, head)` block at a time: the block's scores
//! are one GEMM into an `[L, S]` buffer, the scale, the additive mask and the causal limit
//! are applied and the softmax normalised in place row by row, and the output is one more
//! GEMM written straight into its place in the caller's layout. Heads are read where they
//! lie ([`HeadLayout`]): the packed `[B, L, 3E]` output of an input projection, a key/value
//! cache with spare capacity, or a dense `[B, H, L, D]` tensor, so splitting and merging
//! heads costs no copy. Blocks go to rayon threads only when the whole call is large
//! ([`MATMUL_PARALLEL_FLOPS`]); each block's GEMMs are single-threaded.
//!
//! Rows whose every key is masked (all `-inf`) give all-zero probabilities (PyTorch's math
//! path gives NaN there); the backward treats them as constants. A NaN score makes its row
//! NaN.

use rayon::prelude::*;

use crate::error::{Result, TensorError};
use crate::ops::fastmath::dispatched;
use crate::ops::matmul::{sgemm, MatRef};
use crate::ops::rowmath::{lane_max, softmax_shifted};
use crate::parallel::MATMUL_PARALLEL_FLOPS;

/// Where the heads of a `[batch, heads, len, head_dim]` operand lie in a flat buffer:
/// element `(b, h, i, d)` is at `offset + b·batch_stride + i·seq_stride + h·head_stride + d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadLayout {
    /// Batch size `B`.
    pub batch: usize,
    /// Number of heads `H`.
    pub heads: usize,
    /// Sequence length (`L` for queries, `S` for keys and values).
    pub len: usize,
    /// Features per head `D`.
    pub head_dim: usize,
    /// Index of element `(0, 0, 0, 0)`.
    pub offset: usize,
    /// Distance between batches, in elements.
    pub batch_stride: usize,
    /// Distance between sequence positions, in elements.
    pub seq_stride: usize,
    /// Distance between heads, in elements.
    pub head_stride: usize,
}

impl HeadLayout {
    /// A dense row-major `[B, H, L, D]` tensor.
    pub fn bhld(batch: usize, heads: usize, len: usize, head_dim: usize) -> Self {
        HeadLayout {
            batch,
            heads,
            len,
            head_dim,
            offset: 0,
            batch_stride: heads * len * head_dim,
            seq_stride: head_dim,
            head_stride: len * head_dim,
        }
    }

    /// Heads side by side in rows of width `row_width`, starting at column `column` (head
    /// `h` in columns `column + h·D ..`): a batch-first `[B, L, row_width]` buffer, or a
    /// sequence-first `[L, B, row_width]` one when `batch_first` is false. The packed
    /// `[.., 3E]` projection of a self-attention holds Q, K and V at columns 0, E and 2E.
    pub fn packed(
        batch: usize,
        len: usize,
        heads: usize,
        head_dim: usize,
        row_width: usize,
        column: usize,
        batch_first: bool,
    ) -> Self {
        let (batch_stride, seq_stride) = if batch_first {
            (len * row_width, row_width)
        } else {
            (row_width, batch * row_width)
        };
        HeadLayout {
            batch,
            heads,
            len,
            head_dim,
            offset: column,
            batch_stride,
            seq_stride,
            head_stride: head_dim,
        }
    }

    fn dims(&self) -> [(usize, usize); 4] {
        [
            (1, self.head_dim),
            (self.head_stride, self.heads),
            (self.seq_stride, self.len),
            (self.batch_stride, self.batch),
        ]
    }

    fn is_empty(&self) -> bool {
        self.dims().iter().any(|&(_, n)| n == 0)
    }

    /// Largest addressed index, or `None` on overflow (empty layouts address nothing).
    fn last_index(&self) -> Option<usize> {
        self.dims()
            .iter()
            .try_fold(self.offset, |acc, &(stride, n)| {
                stride.checked_mul(n.saturating_sub(1))?.checked_add(acc)
            })
    }

    /// Whether distinct elements have distinct addresses (needed for an output).
    fn is_injective(&self) -> bool {
        let mut dims: Vec<(usize, usize)> =
            self.dims().into_iter().filter(|&(_, n)| n > 1).collect();
        dims.sort_unstable();
        let mut span = 0usize;
        for (stride, n) in dims {
            if stride <= span {
                return false;
            }
            span += stride * (n - 1);
        }
        true
    }

    fn base(&self, b: usize, h: usize) -> usize {
        self.offset + b * self.batch_stride + h * self.head_stride
    }

    fn check(&self, what: &str, data_len: usize) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        match self.last_index() {
            Some(last) if last < data_len && last <= isize::MAX as usize => Ok(()),
            _ => Err(TensorError::arg(
                "attention",
                &[self.batch, self.heads, self.len, self.head_dim],
                format!("{what}: layout {self:?} addresses past its {data_len} elements"),
            )),
        }
    }
}

/// A read-only attention operand: a buffer and where its heads lie in it.
#[derive(Clone, Copy, Debug)]
pub struct Heads<'a> {
    /// Backing storage.
    pub data: &'a [f32],
    /// Where each head's rows are.
    pub layout: HeadLayout,
}

impl Heads<'_> {
    /// The `(b, h)` block as a GEMM operand, rows = positions (`transposed`: columns).
    fn block(&self, b: usize, h: usize, transposed: bool) -> MatRef {
        let l = &self.layout;
        // SAFETY (of later reads): `check` verified every element of the layout is inside
        // `data`; `base(b, h)` is the block's first element.
        let ptr = unsafe { self.data.as_ptr().add(l.base(b, h)) };
        let (rs, cs) = if transposed {
            (1, l.seq_stride as isize)
        } else {
            (l.seq_stride as isize, 1)
        };
        MatRef { ptr, rs, cs }
    }
}

/// An additive mask, row-major `[mb, mh, ml, S]` with each of `mb`, `mh`, `ml` either the
/// full size (`B`, `H`, `L`) or 1 (broadcast). `-inf` excludes a key.
#[derive(Clone, Copy, Debug)]
pub struct MaskRef<'a> {
    /// The values, `shape.iter().product()` of them.
    pub data: &'a [f32],
    /// `[mb, mh, ml, S]`.
    pub shape: [usize; 4],
}

impl MaskRef<'_> {
    /// The `ml` mask rows (`[ml, S]`) that apply to batch `b`, head `h` (broadcast over
    /// the size-1 axes).
    fn block(&self, b: usize, h: usize) -> &[f32] {
        let [mb, mh, ml, s] = self.shape;
        let start = ((b % mb) * mh + h % mh) * ml * s;
        &self.data[start..start + ml * s]
    }
}

/// Scale, causal limit and whether rows run on several threads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionParams {
    /// Factor on `Q Kᵀ`, usually `1/√D`.
    pub scale: f32,
    /// Query `i` sees key `j` only when `j ≤ i + S − L`: the queries are the last `L`
    /// positions of the key sequence (for `L = S` this is the usual lower-triangular mask;
    /// with a key/value cache the new tokens see the whole past).
    pub causal: bool,
}

struct Shapes {
    b: usize,
    h: usize,
    l: usize,
    s: usize,
    d: usize,
}

fn check_qk(q: &Heads, k: &Heads, mask: Option<&MaskRef>) -> Result<Shapes> {
    let (ql, kl) = (&q.layout, &k.layout);
    if ql.batch != kl.batch || ql.heads != kl.heads || ql.head_dim != kl.head_dim {
        return Err(TensorError::mismatch(
            "attention",
            &[ql.batch, ql.heads, ql.len, ql.head_dim],
            &[kl.batch, kl.heads, kl.len, kl.head_dim],
            "queries and keys must agree in batch, heads and head size",
        ));
    }
    q.layout.check("queries", q.data.len())?;
    k.layout.check("keys", k.data.len())?;
    let sh = Shapes {
        b: ql.batch,
        h: ql.heads,
        l: ql.len,
        s: kl.len,
        d: ql.head_dim,
    };
    if let Some(m) = mask {
        let [mb, mh, ml, ms] = m.shape;
        let fits = |m: usize, full: usize| m == full || m == 1;
        if !fits(mb, sh.b) || !fits(mh, sh.h) || !fits(ml, sh.l) || ms != sh.s {
            return Err(TensorError::mismatch(
                "attention",
                &m.shape,
                &[sh.b, sh.h, sh.l, sh.s],
                "the mask must be [B|1, H|1, L|1, S]",
            ));
        }
        if m.data.len() != m.shape.iter().product::<usize>() {
            return Err(TensorError::arg(
                "attention",
                &m.shape,
                format!("mask has {} values", m.data.len()),
            ));
        }
    }
    Ok(sh)
}

dispatched! {
    /// Scale, additive mask, causal limit and softmax of every `s`-wide row of one block
    /// of scores (`[L, S]`, row-major), in place. `mask_rows` holds the block's `L` mask
    /// rows back to back (or one row per mask row when `mask_rows.len() / s < L`).
    fn softmax_scores(scores: &mut [f32], s: usize, scale: f32, causal: bool, mask_rows: Option<&[f32]>) {
        let l = scores.len() / s;
        for (i, row) in scores.chunks_exact_mut(s).enumerate() {
            let limit = if causal { (i + 1 + s).saturating_sub(l).min(s) } else { s };
            let (live, dead) = row.split_at_mut(limit);
            dead.fill(0.0);
            match mask_rows {
                Some(m) => {
                    let rows = m.len() / s;
                    let m = &m[(i % rows) * s..(i % rows) * s + limit];
                    live.iter_mut().zip(m).for_each(|(x, &a)| *x = *x * scale + a);
                }
                None => live.iter_mut().for_each(|x| *x *= scale),
            }
            let m = lane_max(live);
            if m == f32::NEG_INFINITY {
                // Every key masked (or a row of NaNs, which stays NaN).
                let nan = live.iter().any(|x| x.is_nan());
                live.fill(if nan { f32::NAN } else { 0.0 });
            } else {
                softmax_shifted(live, m);
            }
        }
    }
}

/// Probabilities of block `(b, h)` into `dst` (`[L, S]`, row-major).
///
/// # Safety
/// `q` and `k` passed [`check_qk`].
unsafe fn probs_block(
    q: &Heads,
    k: &Heads,
    mask: Option<&MaskRef>,
    p: AttentionParams,
    sh: &Shapes,
    (b, h): (usize, usize),
    dst: &mut [f32],
) {
    let (l, s) = (sh.l, sh.s);
    sgemm(
        l,
        s,
        sh.d,
        dst.as_mut_ptr(),
        s as isize,
        false,
        q.block(b, h, false),
        k.block(b, h, true),
        false,
    );
    softmax_scores(
        &mut dst[..l * s],
        s,
        p.scale,
        p.causal,
        mask.map(|m| m.block(b, h)),
    );
}

fn parallel_for(flops: usize, tasks: usize) -> bool {
    tasks > 1 && flops >= MATMUL_PARALLEL_FLOPS && crate::parallel::threads() > 1
}

/// The attention probabilities `softmax(scale · Q Kᵀ + mask)` as a dense `[B, H, L, S]`
/// buffer (the forward of the differentiable path, whose `· V` is a separate product).
pub fn attention_probs(
    q: Heads<'_>,
    k: Heads<'_>,
    mask: Option<MaskRef<'_>>,
    p: AttentionParams,
) -> Result<Vec<f32>> {
    let sh = check_qk(&q, &k, mask.as_ref())?;
    let block = sh.l * sh.s;
    let mut out = vec![0.0f32; sh.b * sh.h * block];
    if block == 0 || sh.b * sh.h == 0 {
        return Ok(out);
    }
    let run = |(t, dst): (usize, &mut [f32])| {
        // SAFETY: `check_qk` validated both layouts.
        unsafe { probs_block(&q, &k, mask.as_ref(), p, &sh, (t / sh.h, t % sh.h), dst) }
    };
    if parallel_for(2 * sh.b * sh.h * block * sh.d, sh.b * sh.h) {
        out.par_chunks_mut(block).enumerate().for_each(run);
    } else {
        out.chunks_mut(block).enumerate().for_each(run);
    }
    Ok(out)
}

/// A raw output pointer handed to the threads that write disjoint blocks of it.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: each (batch, head) block writes a disjoint set of elements (injective layout).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

/// The whole attention `softmax(scale · Q Kᵀ + mask) V` written into `out` at
/// `out_layout` (same batch, heads and length as the queries, head size of the values),
/// and the probabilities into `probs` (`[B, H, L, S]`) when given. Used when no gradient
/// is recorded: nothing but the output (and the probabilities if asked) is stored.
#[allow(clippy::too_many_arguments)]
pub fn attention_forward(
    q: Heads<'_>,
    k: Heads<'_>,
    v: Heads<'_>,
    mask: Option<MaskRef<'_>>,
    p: AttentionParams,
    out: &mut [f32],
    out_layout: HeadLayout,
    probs: Option<&mut [f32]>,
) -> Result<()> {
    let sh = check_qk(&q, &k, mask.as_ref())?;
    let (vl, ol) = (&v.layout, &out_layout);
    if vl.batch != sh.b || vl.heads != sh.h || vl.len != sh.s {
        return Err(TensorError::mismatch(
            "attention",
            &[sh.b, sh.h, sh.s, sh.d],
            &[vl.batch, vl.heads, vl.len, vl.head_dim],
            "values must match the keys in batch, heads and length",
        ));
    }
    if ol.batch != sh.b || ol.heads != sh.h || ol.len != sh.l || ol.head_dim != vl.head_dim {
        return Err(TensorError::mismatch(
            "attention",
            &[sh.b, sh.h, sh.l, vl.head_dim],
            &[ol.batch, ol.heads, ol.len, ol.head_dim],
            "the output layout must be [B, H, L, D_v]",
        ));
    }
    v.layout.check("values", v.data.len())?;
    out_layout.check("output", out.len())?;
    if !out_layout.is_injective() {
        return Err(TensorError::arg(
            "attention",
            &[ol.batch, ol.heads, ol.len, ol.head_dim],
            "output layout maps two elements to one address",
        ));
    }
    let block = sh.l * sh.s;
    let tasks = sh.b * sh.h;
    if let Some(pr) = &probs {
        if pr.len() != tasks * block {
            return Err(TensorError::arg(
                "attention",
                &[sh.b, sh.h, sh.l, sh.s],
                format!("probability buffer has {} elements", pr.len()),
            ));
        }
    }
    if tasks == 0 || sh.l == 0 || vl.head_dim == 0 {
        return Ok(());
    }
    let dv = vl.head_dim;
    let optr = OutPtr(out.as_mut_ptr());
    let run = |t: usize, scores: &mut [f32]| {
        let (b, h) = (t / sh.h, t % sh.h);
        // SAFETY: layouts checked above; the output block of (b, h) is disjoint from every
        // other block's (injective layout) and lies inside `out`.
        unsafe {
            probs_block(&q, &k, mask.as_ref(), p, &sh, (b, h), scores);
            let pm = MatRef {
                ptr: scores.as_ptr(),
                rs: sh.s as isize,
                cs: 1,
            };
            let o = optr;
            sgemm(
                sh.l,
                dv,
                sh.s,
                o.0.add(ol.base(b, h)),
                ol.seq_stride as isize,
                false,
                pm,
                v.block(b, h, false),
                false,
            );
        }
    };
    let parallel = parallel_for(2 * tasks * block * (sh.d + dv), tasks);
    match probs {
        Some(pr) if parallel => pr
            .par_chunks_mut(block)
            .enumerate()
            .for_each(|(t, s)| run(t, s)),
        Some(pr) => pr
            .chunks_mut(block)
            .enumerate()
            .for_each(|(t, s)| run(t, s)),
        None if parallel => (0..tasks)
            .into_par_iter()
            .for_each_init(|| vec![0.0f32; block], |buf, t| run(t, buf)),
        None => {
            let mut buf = vec![0.0f32; block];
            (0..tasks).for_each(|t| run(t, &mut buf));
        }
    }
    Ok(())
}

/// Backward of [`attention_probs`]: from the probabilities `P` and their gradient `dP`
/// (both dense `[B, H, L, S]`), `dS = scale · P ⊙ (dP − Σ_j P dP)`, then
/// `dQ = dS K` (`[B, H, L, D]`) and `dK = dSᵀ Q` (`[B, H, S, D]`), dense.
pub fn attention_probs_backward(
    probs: &[f32],
    grad_probs: &[f32],
    q: Heads<'_>,
    k: Heads<'_>,
    scale: f32,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let sh = check_qk(&q, &k, None)?;
    let block = sh.l * sh.s;
    let tasks = sh.b * sh.h;
    if probs.len() != tasks * block || grad_probs.len() != tasks * block {
        return Err(TensorError::arg(
            "attention_backward",
            &[sh.b, sh.h, sh.l, sh.s],
            format!(
                "probabilities and their gradient have {} and {} elements",
                probs.len(),
                grad_probs.len()
            ),
        ));
    }
    let mut dq = vec![0.0f32; tasks * sh.l * sh.d];
    let mut dk = vec![0.0f32; tasks * sh.s * sh.d];
    if tasks == 0 || block == 0 || sh.d == 0 {
        return Ok((dq, dk));
    }
    let run = |t: usize, dqb: &mut [f32], dkb: &mut [f32], ds: &mut Vec<f32>| {
        let (b, h) = (t / sh.h, t % sh.h);
        let (pb, gb) = (
            &probs[t * block..(t + 1) * block],
            &grad_probs[t * block..(t + 1) * block],
        );
        ds.clear();
        for (pr, gr) in pb.chunks_exact(sh.s).zip(gb.chunks_exact(sh.s)) {
            let dot: f32 = pr.iter().zip(gr).map(|(a, b)| a * b).sum();
            ds.extend(pr.iter().zip(gr).map(|(a, g)| scale * a * (g - dot)));
        }
        let dsm = MatRef {
            ptr: ds.as_ptr(),
            rs: sh.s as isize,
            cs: 1,
        };
        let dst = MatRef {
            ptr: ds.as_ptr(),
            rs: 1,
            cs: sh.s as isize,
        };
        // SAFETY: layouts checked; `dqb`/`dkb` are this block's dense outputs.
        unsafe {
            let d = sh.d as isize;
            let (qb, kb) = (q.block(b, h, false), k.block(b, h, false));
            sgemm(sh.l, sh.d, sh.s, dqb.as_mut_ptr(), d, false, dsm, kb, false);
            sgemm(sh.s, sh.d, sh.l, dkb.as_mut_ptr(), d, false, dst, qb, false);
        }
    };
    let (lq, lk) = (sh.l * sh.d, sh.s * sh.d);
    if parallel_for(4 * tasks * block * sh.d, tasks) {
        dq.par_chunks_mut(lq)
            .zip(dk.par_chunks_mut(lk))
            .enumerate()
            .for_each_init(Vec::new, |ds, (t, (a, b))| run(t, a, b, ds));
    } else {
        let mut ds = Vec::with_capacity(block);
        dq.chunks_mut(lq)
            .zip(dk.chunks_mut(lk))
            .enumerate()
            .for_each(|(t, (a, b))| run(t, a, b, &mut ds));
    }
    Ok((dq, dk))
}

#[cfg(test)]
#[path = "attention_tests.rs"]
mod tests;
