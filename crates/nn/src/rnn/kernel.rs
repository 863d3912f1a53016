//! The fused recurrent kernel: one graph node runs a whole layer over the sequence
//! (forward), keeps the gate activations, and runs backpropagation through time in its
//! backward.
//!
//! The recurrence is independent per sample, so the batch is split into contiguous blocks
//! of samples, one per rayon thread, and each block runs the *whole* sequence (and, in
//! backward, the whole BPTT plus its share of the weight gradients) with no per-step
//! synchronisation; small problems stay on the calling thread. The per-block loops live in
//! [`super::cells`]. Weight gradients are per-block GEMMs over aligned rows (`dGᵀ X`,
//! `dGᵀ H_prev`) summed across blocks.
//!
//! The node's value is the packed tensor `[B, L, H]`: slot 0 is `h0`, slot `t + 1` is the
//! output at step `t` (so slot `T` is `h_n`), and for LSTM slot `T + 1` is `c_n`. Gate
//! order is PyTorch's: LSTM `i, f, g, o`; GRU `r, z, n`.

use glassbox_autograd::{BackwardOp, Result as AgResult, Var};
use glassbox_tensor::ops::matmul::{gemm_into, GemmOperand};
use glassbox_tensor::Tensor;
use rayon::prelude::*;

use super::cells::{self, Dims};
use super::pool;
use crate::error::{NnError, Result};

/// The recurrent cell of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
    Tanh,
    /// Long short-term memory, gates `i, f, g, o`.
    Lstm,
    /// Gated recurrent unit, gates `r, z, n`.
    Gru,
}

impl CellKind {
    /// Number of stacked gate blocks in the weight matrices.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Tanh => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }
}

/// Below this many multiply-adds for the whole layer (`B·T·gH·(H + I)`), the layer runs on
/// the calling thread: handing work to the pool costs a few microseconds.
const PARALLEL_MIN_FMAS: usize = 1 << 20;
/// Fewest samples per block when splitting the batch.
const MIN_BLOCK: usize = 4;

/// How many blocks to split a batch of `b` samples into.
fn auto_blocks(d: Dims, b: usize) -> usize {
    let work = b * d.t * d.g() * (d.h + d.i);
    if work < PARALLEL_MIN_FMAS {
        return 1;
    }
    glassbox_tensor::parallel::threads()
        .min(b / MIN_BLOCK)
        .max(1)
}

/// Sample counts of `blocks` near-equal contiguous blocks of `b` samples.
fn block_sizes(b: usize, blocks: usize) -> Vec<usize> {
    let blocks = blocks.clamp(1, b.max(1));
    (0..blocks)
        .map(|k| b / blocks + usize::from(k < b % blocks))
        .collect()
}

/// Splits `s` into consecutive pieces of `sizes[k] · per` elements (empty pieces when
/// `s` is empty, for buffers a cell kind does not use).
fn split<'a, T>(mut s: &'a mut [T], sizes: &[usize], per: usize) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(sizes.len());
    for &n in sizes {
        let take = if s.is_empty() { 0 } else { n * per };
        let (head, tail) = std::mem::take(&mut s).split_at_mut(take);
        out.push(head);
        s = tail;
    }
    out
}

/// Splits a shared slice the same way as [`split`].
fn split_ref<'a, T>(mut s: &'a [T], sizes: &[usize], per: usize) -> Vec<&'a [T]> {
    let mut out = Vec::with_capacity(sizes.len());
    for &n in sizes {
        let take = if s.is_empty() { 0 } else { n * per };
        let (head, tail) = s.split_at(take);
        out.push(head);
        s = tail;
    }
    out
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    match t.as_slice() {
        Some(s) => s.to_vec(),
        None => t.to_vec(),
    }
}

/// Row-major transpose of a `[rows, cols]` buffer.
fn transpose(src: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    // 16 × 16 tiles keep both the reads and the writes within a few cache lines.
    const TILE: usize = 16;
    let mut out = vec![0.0f32; rows * cols];
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for c in c0..c1 {
                let dst = &mut out[c * rows + r0..c * rows + r1];
                for (d, r) in dst.iter_mut().zip(r0..r1) {
                    *d = src[r * cols + c];
                }
            }
        }
    }
    out
}

/// Runs `f` over the blocks, on the calling thread when there is one block.
fn run_blocks<B: Send>(blocks: Vec<B>, f: impl Fn(B) + Sync + Send) {
    if blocks.len() == 1 {
        blocks.into_iter().for_each(f);
    } else {
        blocks.into_par_iter().for_each(f);
    }
}

struct Saved {
    d: Dims,
    b: usize,
    /// Number of blocks the backward pass splits the batch into.
    blocks: usize,
    x: Tensor,      // [B, T, I], contiguous
    w_ih: Vec<f32>, // [G, I]
    w_hh: Vec<f32>, // [G, H]
    acts: Vec<f32>, // [B, T, S]
    hs: Tensor,     // [B, L, H], the packed output
    cs: Vec<f32>,   // [B, T, H] (LSTM)
    tcs: Vec<f32>,  // [B, T, H] (LSTM)
}

/// Runs one layer. Inputs are `[x, w_ih, w_hh, b_ih, b_hh, h0, c0]` with `x: [B, T, I]`,
/// `h0, c0: [B, H]` (c0 ignored unless LSTM). Returns the packed output `[B, L, H]`
/// described in the module docs.
pub fn run_layer(kind: CellKind, inputs: [&Var; 7]) -> Result<Var> {
    let d = check_inputs(kind, &inputs)?;
    run_layer_blocks(d, inputs, auto_blocks(d, inputs[0].shape()[0]))
}

/// Validates the shapes of [`run_layer`]'s inputs and returns the layer sizes.
fn check_inputs(kind: CellKind, inputs: &[&Var; 7]) -> Result<Dims> {
    let names = ["x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0"];
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|v| v.shape()).collect();
    let bad = |k: usize, expected: String| NnError::InputShape {
        layer: "recurrent kernel",
        expected: format!("{} of shape {expected}", names[k]),
        found: shapes[k].clone(),
    };
    let (xs, whh) = (&shapes[0], &shapes[2]);
    if xs.len() != 3 || xs[0] == 0 || xs[1] == 0 {
        return Err(bad(0, "[B, T, I] with B, T > 0".into()));
    }
    let (b, t, i) = (xs[0], xs[1], xs[2]);
    if whh.len() != 2 || whh[1] == 0 || whh[0] != kind.gates() * whh[1] {
        return Err(bad(2, format!("[{} * H, H] with H > 0", kind.gates())));
    }
    let h = whh[1];
    let g = kind.gates() * h;
    let want: [Vec<usize>; 7] = [
        vec![b, t, i],
        vec![g, i],
        vec![g, h],
        vec![g],
        vec![g],
        vec![b, h],
        vec![b, h],
    ];
    let last = if kind == CellKind::Lstm { 7 } else { 6 };
    for k in 1..last {
        if shapes[k] != want[k] {
            return Err(bad(k, format!("{:?}", want[k])));
        }
    }
    Ok(Dims { kind, t, i, h })
}

/// [`run_layer`] with an explicit number of sample blocks (tests compare block counts).
pub(super) fn run_layer_blocks(d: Dims, inputs: [&Var; 7], blocks: usize) -> Result<Var> {
    let [x, w_ih, w_hh, b_ih, b_hh, h0, c0] = inputs;
    let Dims { kind, t, i, h } = d;
    let (g, s, l) = (d.g(), d.s(), d.l());
    let b = x.shape()[0];
    // A contiguous tensor is shared, not copied.
    let x_t = x.value().contiguous();
    let xs = x_t.as_slice().unwrap_or(&[]);
    // Without a graph to record (inference), the backward-only buffers are not kept.
    let record = glassbox_autograd::is_grad_enabled() && inputs.iter().any(|v| v.requires_grad());
    let w_ih_v = to_vec(&w_ih.value());
    let w_hh_v = to_vec(&w_hh.value());
    let w_ih_t = transpose(&w_ih_v, g, i);
    let w_hh_t = transpose(&w_hh_v, g, h);
    let bih = to_vec(&b_ih.value());
    let bhh = to_vec(&b_hh.value());
    // The hidden bias joins the input projection, except GRU's b_hn (inside r ⊙ (·)).
    let joined = if kind == CellKind::Gru { 2 * h } else { g };
    let mut bias = bih.clone();
    bias[..joined]
        .iter_mut()
        .zip(&bhh)
        .for_each(|(a, v)| *a += v);
    let bhh_n: &[f32] = if kind == CellKind::Gru {
        &bhh[2 * h..]
    } else {
        &[]
    };
    let h0v = to_vec(&h0.value());
    let c0v = if kind == CellKind::Lstm {
        to_vec(&c0.value())
    } else {
        Vec::new()
    };
    let lstm_len = if kind == CellKind::Lstm && record {
        b * t * h
    } else {
        0
    };
    // Pooled buffers start with arbitrary contents: the forward pass writes every element.
    let mut acts = pool::take(b * t * s);
    let mut hs = vec![0.0f32; b * l * h];
    let mut cs = pool::take(lstm_len);
    let mut tcs = pool::take(lstm_len);
    for bi in 0..b {
        hs[bi * l * h..][..h].copy_from_slice(&h0v[bi * h..][..h]);
    }
    let sizes = block_sizes(b, blocks);
    let work: Vec<cells::Forward<'_>> = split(&mut acts, &sizes, t * s)
        .into_iter()
        .zip(split(&mut hs, &sizes, l * h))
        .zip(split(&mut cs, &sizes, t * h))
        .zip(split(&mut tcs, &sizes, t * h))
        .zip(split_ref(xs, &sizes, t * i))
        .zip(split_ref(&c0v, &sizes, h))
        .zip(&sizes)
        .map(|((((((acts, hs), cs), tcs), x), c0), &nb)| cells::Forward {
            nb,
            x,
            w_ih_t: &w_ih_t,
            w_hh_t: &w_hh_t,
            bias: &bias,
            bhh_n,
            c0,
            acts,
            hs,
            cs,
            tcs,
        })
        .collect();
    run_blocks(work, |f| cells::forward(d, f));
    let value = Tensor::from_vec(hs, &[b, l, h])?;
    let saved = Saved {
        d,
        b,
        blocks: sizes.len(),
        x: x_t,
        w_ih: w_ih_v,
        w_hh: w_hh_v,
        acts,
        hs: value.clone(),
        cs,
        tcs,
    };
    let inputs: Vec<Var> = [x, w_ih, w_hh, b_ih, b_hh, h0, c0]
        .iter()
        .map(|v| (*v).clone())
        .collect();
    Ok(Var::from_op(value, &inputs, Box::new(saved)))
}

impl Drop for Saved {
    fn drop(&mut self) {
        for v in [&mut self.acts, &mut self.cs, &mut self.tcs] {
            pool::give(std::mem::take(v));
        }
    }
}

/// One block's share of the parameter gradients.
struct Partial {
    dw_ih: Vec<f32>,
    dw_hh: Vec<f32>,
    db_ih: Vec<f32>,
    db_hh: Vec<f32>,
}

impl Saved {
    /// Weight and bias gradients of one block from its `dxp` / `dhp` (`[nb, L, G]`).
    fn partial(&self, block: &cells::Backward<'_>, x: &[f32]) -> glassbox_tensor::Result<Partial> {
        let Dims { t, i, h, .. } = self.d;
        let (g, l) = (self.d.g(), self.d.l());
        let (nb, hs, dxp) = (block.nb, block.hs, &*block.dxp);
        let (db_x, db_h) = (&block.db_x, &block.db_h);
        let dhp = if block.dhp.is_empty() {
            dxp
        } else {
            &*block.dhp
        };
        // dW_ih = Σ_(b,t) dG(b,t)ᵀ x(b,t): x padded to [nb, L, I] lines up with dxp rows.
        let mut xpad = vec![0.0f32; nb * l * i];
        for bi in 0..nb {
            xpad[bi * l * i..][..t * i].copy_from_slice(&x[bi * t * i..][..t * i]);
        }
        let mut dw_ih = vec![0.0f32; g * i];
        gemm_into(
            &mut dw_ih,
            i,
            false,
            GemmOperand::transposed(dxp, nb * l, g),
            GemmOperand::row_major(&xpad, nb * l, i),
            false,
        )?;
        // dW_hh = Σ dG(b,t)ᵀ h_{t-1}: row (b, s) of hs is h_{s-1}, aligned with dhp.
        let mut dw_hh = vec![0.0f32; g * h];
        gemm_into(
            &mut dw_hh,
            h,
            false,
            GemmOperand::transposed(dhp, nb * l, g),
            GemmOperand::row_major(hs, nb * l, h),
            false,
        )?;
        let db_ih = db_x.to_vec();
        let db_hh = if self.d.kind == CellKind::Gru {
            db_h.to_vec()
        } else {
            db_ih.clone()
        };
        Ok(Partial {
            dw_ih,
            dw_hh,
            db_ih,
            db_hh,
        })
    }
}

impl BackwardOp for Saved {
    fn backward(&self, grad_out: &Tensor, inputs: &[Var]) -> AgResult<Vec<Option<Tensor>>> {
        let d = self.d;
        let Dims { kind, t, i, h } = d;
        let (g, s, l, b) = (d.g(), d.s(), d.l(), self.b);
        let want = |k: usize| inputs[k].requires_grad();
        let go = grad_out.contiguous();
        let gs = go.as_slice().expect("contiguous");
        let hs_t = self.hs.contiguous();
        let hs = hs_t.as_slice().expect("contiguous");
        let sizes = block_sizes(b, self.blocks);
        // Rows t < T of dxp / dhp are written by the cells; the padding rows must be zero.
        let padded = |len: usize| {
            let mut v = pool::take(len);
            for sample in v.chunks_exact_mut(l * g) {
                sample[t * g..].fill(0.0);
            }
            v
        };
        let mut dxp = padded(b * l * g);
        let mut dhp = padded(if kind == CellKind::Gru { b * l * g } else { 0 });
        let mut dx = vec![0.0f32; if want(0) { b * t * i } else { 0 }];
        let mut dh0 = vec![0.0f32; b * h];
        let mut dc0 = vec![0.0f32; if kind == CellKind::Lstm { b * h } else { 0 }];
        let want_w = want(1) || want(2) || want(3) || want(4);
        let lstm_per = if kind == CellKind::Lstm { t * h } else { 0 };
        let work: Vec<(cells::Backward<'_>, &[f32])> = split(&mut dxp, &sizes, l * g)
            .into_iter()
            .zip(split(&mut dhp, &sizes, l * g))
            .zip(split(&mut dx, &sizes, t * i))
            .zip(split(&mut dh0, &sizes, h))
            .zip(split(&mut dc0, &sizes, h))
            .zip(split_ref(&self.acts, &sizes, t * s))
            .zip(split_ref(hs, &sizes, l * h))
            .zip(split_ref(&self.cs, &sizes, lstm_per))
            .zip(split_ref(&self.tcs, &sizes, lstm_per))
            .zip(split_ref(gs, &sizes, l * h))
            .zip(split_ref(self.x.as_slice().unwrap_or(&[]), &sizes, t * i))
            .zip(&sizes)
            .map(
                |(((((((((((dxp, dhp), dx), dh0), dc0), acts), hs), cs), tcs), gs), x), &nb)| {
                    let block = cells::Backward {
                        nb,
                        acts,
                        hs,
                        cs,
                        tcs,
                        gs,
                        w_hh: &self.w_hh,
                        w_ih: &self.w_ih,
                        dxp,
                        dhp,
                        dx,
                        dh0,
                        dc0,
                        db_x: vec![0.0f32; g],
                        db_h: vec![0.0f32; if kind == CellKind::Gru { g } else { 0 }],
                    };
                    (block, x)
                },
            )
            .collect();
        let run = |(mut block, x): (cells::Backward<'_>, &[f32])| {
            cells::backward(d, &mut block);
            if want_w {
                self.partial(&block, x).map(Some)
            } else {
                Ok(None)
            }
        };
        let partials: Vec<glassbox_tensor::Result<Option<Partial>>> = if work.len() == 1 {
            work.into_iter().map(run).collect()
        } else {
            work.into_par_iter().map(run).collect()
        };
        pool::give(dxp);
        pool::give(dhp);
        let mut total: Option<Partial> = None;
        for p in partials {
            let Some(p) = p? else { continue };
            match total.as_mut() {
                None => total = Some(p),
                Some(acc) => {
                    for (dst, src) in [
                        (&mut acc.dw_ih, &p.dw_ih),
                        (&mut acc.dw_hh, &p.dw_hh),
                        (&mut acc.db_ih, &p.db_ih),
                        (&mut acc.db_hh, &p.db_hh),
                    ] {
                        dst.iter_mut().zip(src).for_each(|(a, v)| *a += v);
                    }
                }
            }
        }
        let grad = |k: usize, v: Vec<f32>, shape: &[usize]| -> AgResult<Option<Tensor>> {
            Ok(if want(k) {
                Some(Tensor::from_vec(v, shape)?)
            } else {
                None
            })
        };
        let (dw_ih, dw_hh, db_ih, db_hh) = match total {
            Some(p) => (
                grad(1, p.dw_ih, &[g, i])?,
                grad(2, p.dw_hh, &[g, h])?,
                grad(3, p.db_ih, &[g])?,
                grad(4, p.db_hh, &[g])?,
            ),
            None => (None, None, None, None),
        };
        Ok(vec![
            grad(0, dx, &[b, t, i])?,
            dw_ih,
            dw_hh,
            db_ih,
            db_hh,
            grad(5, dh0, &[b, h])?,
            if kind == CellKind::Lstm {
                grad(6, dc0, &[b, h])?
            } else {
                None
            },
        ])
    }

    fn name(&self) -> &'static str {
        match self.d.kind {
            CellKind::Tanh => "rnn_tanh_layer",
            CellKind::Lstm => "lstm_layer",
            CellKind::Gru => "gru_layer",
        }
    }
}
