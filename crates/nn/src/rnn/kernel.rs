//! The fused recurrent kernels: one graph node runs a whole layer over the sequence
//! (forward), keeps the gate activations, and runs backpropagation through time in its
//! backward. The input projection `X W_ihᵀ` for all time steps, and the weight gradients
//! `dGᵀ X`, `dGᵀ H_prev`, are single large GEMMs; only `h W_hhᵀ` and `dG W_hh` run per step.
//!
//! Layouts are batch-first and row-major: row `b·T + t` of a `[B·T, ·]` buffer belongs to
//! sample `b` at step `t`. Gate order is PyTorch's: LSTM `i, f, g, o`; GRU `r, z, n`.

use glassbox_autograd::{BackwardOp, Result as AgResult, Var};
use glassbox_tensor::Tensor;

use crate::error::Result;

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

    /// Floats saved per (sample, step) for the backward pass.
    fn saved(self, h: usize) -> usize {
        match self {
            CellKind::Tanh => h,
            CellKind::Lstm | CellKind::Gru => 4 * h,
        }
    }
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `tanh` through one `exp` (`1 − 2 / (e^{2x} + 1)`): several times faster than libm's
/// `tanhf` (which goes through `expm1f`), absolute error of order 1e-7, exact limits ±1.
#[inline]
fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / ((2.0 * x).exp() + 1.0)
}

fn mat(data: Vec<f32>, rows: usize, cols: usize) -> glassbox_tensor::Result<Tensor> {
    Tensor::from_vec(data, &[rows, cols])
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    match t.as_slice() {
        Some(s) => s.to_vec(),
        None => t.to_vec(),
    }
}

/// Column sums of a row-major `[rows, cols]` buffer.
fn col_sums(data: &[f32], cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; cols];
    for row in data.chunks_exact(cols) {
        out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
    }
    out
}

struct Saved {
    kind: CellKind,
    b: usize,
    t: usize,
    h: usize,
    x: Tensor,      // [B*T, I]
    w_ih: Tensor,   // [gH, I]
    w_hh: Tensor,   // [gH, H]
    h0: Vec<f32>,   // [B*H]
    c0: Vec<f32>,   // [B*H] (LSTM)
    acts: Vec<f32>, // [B*T, saved]
    cs: Vec<f32>,   // [B*T, H] cell states after each step (LSTM)
    outs: Vec<f32>, // [B*T, H] hidden states after each step
}

/// Runs one layer. Inputs are `[x, w_ih, w_hh, b_ih, b_hh, h0, c0]` with `x: [B, T, I]`,
/// `h0, c0: [B, H]` (c0 ignored unless LSTM). Returns the packed output
/// `[B, T + k, H]`: steps `0..T` are the outputs, step `T` is `h_n` and, for LSTM, step
/// `T + 1` is `c_n`.
pub fn run_layer(kind: CellKind, inputs: [&Var; 7]) -> Result<Var> {
    let [x, w_ih, w_hh, b_ih, b_hh, h0, c0] = inputs;
    let xv = x.value();
    let (b, t, i) = (xv.shape()[0], xv.shape()[1], xv.shape()[2]);
    let w_ih_v = w_ih.value();
    let w_hh_v = w_hh.value();
    let h = w_hh_v.shape()[1];
    let g = kind.gates() * h;
    let x2 = xv.try_reshape(&[b * t, i])?;
    // Input projection for every step at once, plus b_ih.
    let mut xp = to_vec(&x2.try_matmul(&w_ih_v.try_t()?)?);
    let bih = to_vec(&b_ih.value());
    let bhh = to_vec(&b_hh.value());
    for row in xp.chunks_exact_mut(g) {
        row.iter_mut().zip(&bih).for_each(|(v, bb)| *v += bb);
    }
    let w_hh_t = w_hh_v.try_t()?;
    let h0v = to_vec(&h0.value());
    let c0v = to_vec(&c0.value());
    let sv = kind.saved(h);
    let mut acts = vec![0.0f32; b * t * sv];
    let mut cs = if kind == CellKind::Lstm {
        vec![0.0f32; b * t * h]
    } else {
        Vec::new()
    };
    let mut outs = vec![0.0f32; b * t * h];
    let mut h_cur = h0v.clone();
    let mut c_cur = c0v.clone();
    for step in 0..t {
        let hp = mat(h_cur.clone(), b, h)?.try_matmul(&w_hh_t)?;
        let hps = hp
            .as_slice()
            .map(|s| s.to_vec())
            .unwrap_or_else(|| hp.to_vec());
        for bi in 0..b {
            let row = bi * t + step;
            let xg = &xp[row * g..(row + 1) * g];
            let hg = &hps[bi * g..(bi + 1) * g];
            let a = &mut acts[row * sv..(row + 1) * sv];
            let hc = &mut h_cur[bi * h..(bi + 1) * h];
            match kind {
                CellKind::Tanh => {
                    for k in 0..h {
                        let v = tanh(xg[k] + hg[k] + bhh[k]);
                        a[k] = v;
                        hc[k] = v;
                    }
                }
                CellKind::Lstm => {
                    let cc = &mut c_cur[bi * h..(bi + 1) * h];
                    for k in 0..h {
                        let ig = sigmoid(xg[k] + hg[k] + bhh[k]);
                        let fg = sigmoid(xg[h + k] + hg[h + k] + bhh[h + k]);
                        let gg = tanh(xg[2 * h + k] + hg[2 * h + k] + bhh[2 * h + k]);
                        let og = sigmoid(xg[3 * h + k] + hg[3 * h + k] + bhh[3 * h + k]);
                        let c = fg * cc[k] + ig * gg;
                        cc[k] = c;
                        hc[k] = og * tanh(c);
                        a[k] = ig;
                        a[h + k] = fg;
                        a[2 * h + k] = gg;
                        a[3 * h + k] = og;
                    }
                    cs[row * h..(row + 1) * h].copy_from_slice(cc);
                }
                CellKind::Gru => {
                    for k in 0..h {
                        let r = sigmoid(xg[k] + hg[k] + bhh[k]);
                        let z = sigmoid(xg[h + k] + hg[h + k] + bhh[h + k]);
                        let hn = hg[2 * h + k] + bhh[2 * h + k];
                        let n = tanh(xg[2 * h + k] + r * hn);
                        let hv = (1.0 - z) * n + z * hc[k];
                        hc[k] = hv;
                        a[k] = r;
                        a[h + k] = z;
                        a[2 * h + k] = n;
                        a[3 * h + k] = hn;
                    }
                }
            }
            outs[row * h..(row + 1) * h].copy_from_slice(hc);
        }
    }
    let extra = if kind == CellKind::Lstm { 2 } else { 1 };
    let tt = t + extra;
    let mut packed = vec![0.0f32; b * tt * h];
    for bi in 0..b {
        let dst = &mut packed[bi * tt * h..(bi + 1) * tt * h];
        dst[..t * h].copy_from_slice(&outs[bi * t * h..(bi + 1) * t * h]);
        dst[t * h..(t + 1) * h].copy_from_slice(&h_cur[bi * h..(bi + 1) * h]);
        if kind == CellKind::Lstm {
            dst[(t + 1) * h..(t + 2) * h].copy_from_slice(&c_cur[bi * h..(bi + 1) * h]);
        }
    }
    let value = Tensor::from_vec(packed, &[b, tt, h])?;
    let saved = Saved {
        kind,
        b,
        t,
        h,
        x: x2,
        w_ih: w_ih_v,
        w_hh: w_hh_v,
        h0: h0v,
        c0: c0v,
        acts,
        cs,
        outs,
    };
    let inputs: Vec<Var> = [x, w_ih, w_hh, b_ih, b_hh, h0, c0]
        .iter()
        .map(|v| (*v).clone())
        .collect();
    Ok(Var::from_op(value, &inputs, Box::new(saved)))
}

impl BackwardOp for Saved {
    fn backward(&self, grad_out: &Tensor, inputs: &[Var]) -> AgResult<Vec<Option<Tensor>>> {
        let (b, t, h, kind) = (self.b, self.t, self.h, self.kind);
        let g = kind.gates() * h;
        let sv = kind.saved(h);
        let extra = if kind == CellKind::Lstm { 2 } else { 1 };
        let tt = t + extra;
        let go = grad_out.contiguous();
        let gs = go.as_slice().expect("contiguous");
        let mut dh = vec![0.0f32; b * h];
        let mut dc = vec![0.0f32; b * h];
        for bi in 0..b {
            dh[bi * h..(bi + 1) * h].copy_from_slice(&gs[(bi * tt + t) * h..(bi * tt + t + 1) * h]);
            if kind == CellKind::Lstm {
                dc[bi * h..(bi + 1) * h]
                    .copy_from_slice(&gs[(bi * tt + t + 1) * h..(bi * tt + t + 2) * h]);
            }
        }
        let separate_hidden = kind == CellKind::Gru;
        let mut dxp = vec![0.0f32; b * t * g];
        let mut dhp_all = if separate_hidden {
            vec![0.0f32; b * t * g]
        } else {
            Vec::new()
        };
        let mut dhp_step = vec![0.0f32; b * g];
        let mut direct = vec![0.0f32; b * h];
        for step in (0..t).rev() {
            for bi in 0..b {
                let row = bi * t + step;
                let dhr = &mut dh[bi * h..(bi + 1) * h];
                let up = &gs[(bi * tt + step) * h..(bi * tt + step + 1) * h];
                dhr.iter_mut().zip(up).for_each(|(d, u)| *d += u);
                let a = &self.acts[row * sv..(row + 1) * sv];
                let dx = &mut dxp[row * g..(row + 1) * g];
                let dhs = &mut dhp_step[bi * g..(bi + 1) * g];
                let dir = &mut direct[bi * h..(bi + 1) * h];
                match kind {
                    CellKind::Tanh => {
                        for k in 0..h {
                            let v = dhr[k] * (1.0 - a[k] * a[k]);
                            dx[k] = v;
                            dhs[k] = v;
                        }
                    }
                    CellKind::Lstm => {
                        let dcr = &mut dc[bi * h..(bi + 1) * h];
                        let c = &self.cs[row * h..(row + 1) * h];
                        let c_prev: &[f32] = if step == 0 {
                            &self.c0[bi * h..(bi + 1) * h]
                        } else {
                            &self.cs[(row - 1) * h..row * h]
                        };
                        for k in 0..h {
                            let (ig, fg, gg, og) = (a[k], a[h + k], a[2 * h + k], a[3 * h + k]);
                            let tc = tanh(c[k]);
                            let d_o = dhr[k] * tc;
                            let dct = dcr[k] + dhr[k] * og * (1.0 - tc * tc);
                            let di = dct * gg;
                            let dg = dct * ig;
                            let df = dct * c_prev[k];
                            dcr[k] = dct * fg;
                            dx[k] = di * ig * (1.0 - ig);
                            dx[h + k] = df * fg * (1.0 - fg);
                            dx[2 * h + k] = dg * (1.0 - gg * gg);
                            dx[3 * h + k] = d_o * og * (1.0 - og);
                        }
                        dhs.copy_from_slice(dx);
                    }
                    CellKind::Gru => {
                        let h_prev: &[f32] = if step == 0 {
                            &self.h0[bi * h..(bi + 1) * h]
                        } else {
                            &self.outs[(row - 1) * h..row * h]
                        };
                        for k in 0..h {
                            let (r, z, n, hn) = (a[k], a[h + k], a[2 * h + k], a[3 * h + k]);
                            let d = dhr[k];
                            let dn = d * (1.0 - z);
                            let dz = d * (h_prev[k] - n);
                            dir[k] = d * z;
                            let dgn = dn * (1.0 - n * n);
                            let dr = dgn * hn;
                            let dgr = dr * r * (1.0 - r);
                            let dgz = dz * z * (1.0 - z);
                            dx[k] = dgr;
                            dx[h + k] = dgz;
                            dx[2 * h + k] = dgn;
                            dhs[k] = dgr;
                            dhs[h + k] = dgz;
                            dhs[2 * h + k] = dgn * r;
                        }
                        dhp_all[row * g..(row + 1) * g].copy_from_slice(dhs);
                    }
                }
            }
            // dh_prev = direct + dHp W_hh
            let prop = mat(dhp_step.clone(), b, g)?.try_matmul(&self.w_hh)?;
            let ps = prop
                .as_slice()
                .map(|s| s.to_vec())
                .unwrap_or_else(|| prop.to_vec());
            if kind == CellKind::Gru {
                for k in 0..b * h {
                    dh[k] = ps[k] + direct[k];
                }
            } else {
                dh.copy_from_slice(&ps);
            }
        }
        let want = |k: usize| inputs[k].requires_grad();
        let bt = b * t;
        let dxp_t = mat(dxp, bt, g)?;
        let dhp_t = if separate_hidden {
            mat(dhp_all, bt, g)?
        } else {
            dxp_t.clone()
        };
        let i_dim = self.x.shape()[1];
        let dx = if want(0) {
            Some(dxp_t.try_matmul(&self.w_ih)?.try_reshape(&[b, t, i_dim])?)
        } else {
            None
        };
        let dw_ih = if want(1) {
            Some(dxp_t.try_t()?.try_matmul(&self.x)?)
        } else {
            None
        };
        let dw_hh = if want(2) {
            let mut hprev = vec![0.0f32; bt * h];
            for bi in 0..b {
                for step in 0..t {
                    let row = bi * t + step;
                    let src: &[f32] = if step == 0 {
                        &self.h0[bi * h..(bi + 1) * h]
                    } else {
                        &self.outs[(row - 1) * h..row * h]
                    };
                    hprev[row * h..(row + 1) * h].copy_from_slice(src);
                }
            }
            Some(dhp_t.try_t()?.try_matmul(&mat(hprev, bt, h)?)?)
        } else {
            None
        };
        let sum_rows = |m: &Tensor| -> AgResult<Tensor> {
            let v = to_vec(m);
            Ok(Tensor::from_vec(col_sums(&v, g), &[g])?)
        };
        let db_ih = if want(3) {
            Some(sum_rows(&dxp_t)?)
        } else {
            None
        };
        let db_hh = if want(4) {
            Some(sum_rows(&dhp_t)?)
        } else {
            None
        };
        let dh0 = if want(5) {
            Some(Tensor::from_vec(dh, &[b, h])?)
        } else {
            None
        };
        let dc0 = if want(6) && kind == CellKind::Lstm {
            Some(Tensor::from_vec(dc, &[b, h])?)
        } else {
            None
        };
        Ok(vec![dx, dw_ih, dw_hh, db_ih, db_hh, dh0, dc0])
    }

    fn name(&self) -> &'static str {
        match self.kind {
            CellKind::Tanh => "rnn_tanh_layer",
            CellKind::Lstm => "lstm_layer",
            CellKind::Gru => "gru_layer",
        }
    }
}
