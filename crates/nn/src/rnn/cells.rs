//! The per-block time loops of the fused recurrent kernel: one call runs a contiguous block
//! of samples through the whole sequence (forward) or through the whole of backpropagation
//! through time (backward), with no allocation per step and no synchronisation with other
//! blocks. The per-step products use the register-blocked [`super::gemm`]; gate math goes
//! through the branch-free `sigmoid_fast` / `tanh_fast`, so the loops vectorise. Both loops
//! are compiled three times (AVX-512, AVX2+FMA, baseline) and picked at run time.
//!
//! Buffer layouts (row-major, batch-first, `S` = saved floats per step, `L` = slots of the
//! packed output per sample, see [`Dims`]):
//! - `acts [nb, T, S]`: gate activations (LSTM `i, f, g, o`; GRU `r, z, n, W_hn h + b_hn`;
//!   tanh RNN `h`). Filled with the input projection plus biases, then the hidden
//!   projection is accumulated in place and the activations overwrite the pre-activations.
//! - `hs [nb, L, H]`: slot 0 is `h0`, slot `t + 1` is `h_t`, and for LSTM slot `T + 1` is
//!   `c_n`. This is the layer's output tensor, so the forward pass writes it exactly once.
//! - `cs [nb, T, H]` (LSTM): `c_{t-1}`; `tcs [nb, T, H]` (LSTM): `tanh(c_t)`.
//! - `dxp [nb, L, G]`: gradient of the gate pre-activations (row `t` for step `t`, rows
//!   `T..L` stay zero) so that `dW_hh = dxpᵀ · hs` is one GEMM over aligned rows; GRU also
//!   has `dhp` (gradient of the hidden projection, which differs in the `n` block).

use glassbox_tensor::ops::fastmath::{sigmoid_fast, simd_level, tanh_fast, SimdLevel};

use super::gemm::gemm;
use super::CellKind;

/// Sizes shared by every block of one layer call.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dims {
    pub kind: CellKind,
    pub t: usize,
    pub i: usize,
    pub h: usize,
}

impl Dims {
    /// Width of the stacked gate pre-activations.
    pub fn g(&self) -> usize {
        self.kind.gates() * self.h
    }

    /// Saved floats per (sample, step).
    pub fn s(&self) -> usize {
        match self.kind {
            CellKind::Tanh => self.h,
            CellKind::Lstm | CellKind::Gru => 4 * self.h,
        }
    }

    /// Slots per sample of the packed output (`h0`, `h_1..h_T`, and `c_n` for LSTM).
    pub fn l(&self) -> usize {
        self.t + if self.kind == CellKind::Lstm { 2 } else { 1 }
    }
}

/// One block's forward buffers (shapes in the module docs; `nb` samples).
pub(super) struct Forward<'a> {
    pub nb: usize,
    /// `[nb, T, I]`.
    pub x: &'a [f32],
    /// `W_ihᵀ`, `[I, G]`.
    pub w_ih_t: &'a [f32],
    /// `W_hhᵀ`, `[H, G]`.
    pub w_hh_t: &'a [f32],
    /// Bias added to the input projection, `[G]` (GRU: without `b_hn`).
    pub bias: &'a [f32],
    /// GRU: `b_hn`, `[H]` (empty otherwise).
    pub bhh_n: &'a [f32],
    /// LSTM: `c0`, `[nb, H]` (empty otherwise).
    pub c0: &'a [f32],
    pub acts: &'a mut [f32],
    /// Slot 0 of each sample must hold `h0`.
    pub hs: &'a mut [f32],
    /// LSTM, when recording for backward (else empty).
    pub cs: &'a mut [f32],
    /// LSTM, when recording for backward (else empty).
    pub tcs: &'a mut [f32],
}

/// One block's backward buffers.
pub(super) struct Backward<'a> {
    pub nb: usize,
    pub acts: &'a [f32],
    pub hs: &'a [f32],
    pub cs: &'a [f32],
    pub tcs: &'a [f32],
    /// Upstream gradient of the packed output, `[nb, L, H]`.
    pub gs: &'a [f32],
    /// `W_hh`, `[G, H]`.
    pub w_hh: &'a [f32],
    /// `W_ih`, `[G, I]`.
    pub w_ih: &'a [f32],
    /// `[nb, L, G]`, zero on entry.
    pub dxp: &'a mut [f32],
    /// GRU: `[nb, L, G]`, zero on entry (empty otherwise).
    pub dhp: &'a mut [f32],
    /// Gradient of `x`, `[nb, T, I]`, or empty to skip it.
    pub dx: &'a mut [f32],
    /// `[nb, H]`.
    pub dh0: &'a mut [f32],
    /// LSTM: `[nb, H]` (empty otherwise).
    pub dc0: &'a mut [f32],
    /// Output: column sums of the block's `dxp` rows (`[G]`, zero on entry).
    pub db_x: Vec<f32>,
    /// GRU output: column sums of `dhp` (`[G]`, zero on entry; empty otherwise).
    pub db_h: Vec<f32>,
}

/// Runs one block forward over the whole sequence.
pub(super) fn forward(d: Dims, f: Forward<'_>) {
    match simd_level() {
        // SAFETY: `simd_level` detected the features the function enables.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { forward_avx512(d, f) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma => unsafe { forward_avx2(d, f) },
        _ => forward_impl::<false, 4, 8>(d, f),
    }
}

/// Runs one block's backpropagation through time over the whole sequence.
pub(super) fn backward(d: Dims, b: &mut Backward<'_>) {
    match simd_level() {
        // SAFETY: `simd_level` detected the features the function enables.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { backward_avx512(d, b) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma => unsafe { backward_avx2(d, b) },
        _ => backward_impl::<false, 4, 8>(d, b),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn forward_avx512(d: Dims, f: Forward<'_>) {
    forward_impl::<true, 8, 32>(d, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_avx2(d: Dims, f: Forward<'_>) {
    forward_impl::<true, 6, 16>(d, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn backward_avx512(d: Dims, b: &mut Backward<'_>) {
    backward_impl::<true, 8, 32>(d, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn backward_avx2(d: Dims, b: &mut Backward<'_>) {
    backward_impl::<true, 6, 16>(d, b)
}

#[inline(always)]
fn forward_impl<const FMA: bool, const MR: usize, const NR: usize>(d: Dims, f: Forward<'_>) {
    let Dims { kind, t, i, h } = d;
    let (g, s, l) = (d.g(), d.s(), d.l());
    let Forward {
        nb,
        x,
        w_ih_t,
        w_hh_t,
        bias,
        bhh_n,
        c0,
        acts,
        hs,
        cs,
        tcs,
    } = f;
    for row in acts.chunks_exact_mut(s) {
        row[..g].copy_from_slice(bias);
    }
    gemm::<FMA, MR, NR>(nb * t, g, i, x, i, w_ih_t, acts, s, true);
    let mut c_cur = c0.to_vec();
    let mut hp = if kind == CellKind::Gru {
        vec![0.0f32; nb * g]
    } else {
        Vec::new()
    };
    for step in 0..t {
        let h_prev = &hs[step * h..];
        if kind == CellKind::Gru {
            gemm::<FMA, MR, NR>(nb, g, h, h_prev, l * h, w_hh_t, &mut hp, g, false);
        } else {
            gemm::<FMA, MR, NR>(
                nb,
                g,
                h,
                h_prev,
                l * h,
                w_hh_t,
                &mut acts[step * s..],
                t * s,
                true,
            );
        }
        for bi in 0..nb {
            let row = bi * t + step;
            let a = &mut acts[row * s..][..s];
            let (prev, next) = hs[(bi * l + step) * h..][..2 * h].split_at_mut(h);
            match kind {
                CellKind::Tanh => tanh_cell(a, next),
                CellKind::Lstm => {
                    let c = &mut c_cur[bi * h..][..h];
                    // `cs` / `tcs` are empty when nothing will run backward.
                    if cs.is_empty() {
                        lstm_cell(a, c, &mut [], next);
                    } else {
                        cs[row * h..][..h].copy_from_slice(c);
                        lstm_cell(a, c, &mut tcs[row * h..][..h], next);
                    }
                }
                CellKind::Gru => gru_cell(a, &hp[bi * g..][..g], bhh_n, prev, next),
            }
        }
    }
    if kind == CellKind::Lstm {
        for bi in 0..nb {
            hs[(bi * l + t + 1) * h..][..h].copy_from_slice(&c_cur[bi * h..][..h]);
        }
    }
}

/// Lanes per chunk of the gate loops. Each chunk is copied into local arrays, so the
/// arithmetic vectorises without LLVM having to prove the buffers do not alias.
const W: usize = 16;

/// Copies `src[k..k + n]` into the first `n` lanes of a zeroed chunk.
#[inline(always)]
fn load(src: &[f32], k: usize, n: usize) -> [f32; W] {
    let mut v = [0.0f32; W];
    if n == W {
        // Constant length: plain vector moves instead of a `memcpy` call.
        v.copy_from_slice(&src[k..k + W]);
    } else {
        v[..n].copy_from_slice(&src[k..k + n]);
    }
    v
}

/// Copies the first `n` lanes of `v` to `dst[k..k + n]`.
#[inline(always)]
fn save(dst: &mut [f32], k: usize, n: usize, v: &[f32; W]) {
    if n == W {
        dst[k..k + W].copy_from_slice(v);
    } else {
        dst[k..k + n].copy_from_slice(&v[..n]);
    }
}

/// Tanh RNN step: `a` holds the pre-activation on entry and `h_t` on exit; also writes it
/// to `h_out`.
#[inline(always)]
fn tanh_cell(a: &mut [f32], h_out: &mut [f32]) {
    let h = a.len();
    let mut k = 0;
    while k < h {
        let n = W.min(h - k);
        let mut v = load(a, k, n);
        for x in v.iter_mut() {
            *x = tanh_fast(*x);
        }
        save(a, k, n, &v);
        save(h_out, k, n, &v);
        k += n;
    }
}

/// LSTM step for one sample: `a` holds the pre-activations `[i | f | g | o]` on entry and
/// the activations on exit; `c` is updated in place; writes `h` and, unless `tc` is empty,
/// `tanh(c)`.
#[inline(always)]
fn lstm_cell(a: &mut [f32], c: &mut [f32], tc: &mut [f32], h_out: &mut [f32]) {
    let h = c.len();
    let (ai, rest) = a.split_at_mut(h);
    let (af, rest) = rest.split_at_mut(h);
    let (ag, ao) = rest.split_at_mut(h);
    let mut k = 0;
    while k < h {
        let n = W.min(h - k);
        let (mut vi, mut vf, mut vg, mut vo) = (
            load(ai, k, n),
            load(af, k, n),
            load(ag, k, n),
            load(ao, k, n),
        );
        let mut vc = load(c, k, n);
        let (mut vt, mut vh) = ([0.0f32; W], [0.0f32; W]);
        for j in 0..W {
            let ig = sigmoid_fast(vi[j]);
            let fg = sigmoid_fast(vf[j]);
            let gg = tanh_fast(vg[j]);
            let og = sigmoid_fast(vo[j]);
            let cn = fg * vc[j] + ig * gg;
            let t = tanh_fast(cn);
            vc[j] = cn;
            vt[j] = t;
            vh[j] = og * t;
            (vi[j], vf[j], vg[j], vo[j]) = (ig, fg, gg, og);
        }
        save(ai, k, n, &vi);
        save(af, k, n, &vf);
        save(ag, k, n, &vg);
        save(ao, k, n, &vo);
        save(c, k, n, &vc);
        if !tc.is_empty() {
            save(tc, k, n, &vt);
        }
        save(h_out, k, n, &vh);
        k += n;
    }
}

/// GRU step for one sample: `a` holds `[x_r | x_z | x_n | ·]` (input projection plus
/// biases) on entry and `[r | z | n | W_hn h + b_hn]` on exit; `hp` is `W_hh h_prev`.
#[inline(always)]
fn gru_cell(a: &mut [f32], hp: &[f32], bhh_n: &[f32], prev: &[f32], next: &mut [f32]) {
    let h = prev.len();
    let (ar, rest) = a.split_at_mut(h);
    let (az, rest) = rest.split_at_mut(h);
    let (an, ahn) = rest.split_at_mut(h);
    let (hr, rest) = hp.split_at(h);
    let (hz, hn) = rest.split_at(h);
    let mut k = 0;
    while k < h {
        let n = W.min(h - k);
        let (mut vr, mut vz, mut vn) = (load(ar, k, n), load(az, k, n), load(an, k, n));
        let (ur, uz, un, bn) = (
            load(hr, k, n),
            load(hz, k, n),
            load(hn, k, n),
            load(bhh_n, k, n),
        );
        let vp = load(prev, k, n);
        let (mut vhn, mut vh) = ([0.0f32; W], [0.0f32; W]);
        for j in 0..W {
            let r = sigmoid_fast(vr[j] + ur[j]);
            let z = sigmoid_fast(vz[j] + uz[j]);
            let hnv = un[j] + bn[j];
            let nv = tanh_fast(vn[j] + r * hnv);
            vh[j] = (1.0 - z) * nv + z * vp[j];
            (vr[j], vz[j], vn[j], vhn[j]) = (r, z, nv, hnv);
        }
        save(ar, k, n, &vr);
        save(az, k, n, &vz);
        save(an, k, n, &vn);
        save(ahn, k, n, &vhn);
        save(next, k, n, &vh);
        k += n;
    }
}

#[inline(always)]
fn backward_impl<const FMA: bool, const MR: usize, const NR: usize>(d: Dims, b: &mut Backward<'_>) {
    let Dims { kind, t, i, h } = d;
    let (g, s, l) = (d.g(), d.s(), d.l());
    let (nb, acts, hs, cs, tcs, gs, w_hh, w_ih) =
        (b.nb, b.acts, b.hs, b.cs, b.tcs, b.gs, b.w_hh, b.w_ih);
    let (dxp, dhp, dx) = (&mut *b.dxp, &mut *b.dhp, &mut *b.dx);
    let (dh0, dc0) = (&mut *b.dh0, &mut *b.dc0);
    let (db_x, db_h) = (&mut b.db_x[..], &mut b.db_h[..]);
    let mut dh = vec![0.0f32; nb * h];
    let mut dc = vec![0.0f32; if kind == CellKind::Lstm { nb * h } else { 0 }];
    if kind == CellKind::Lstm {
        for bi in 0..nb {
            dc[bi * h..][..h].copy_from_slice(&gs[(bi * l + t + 1) * h..][..h]);
        }
    }
    for step in (0..t).rev() {
        for bi in 0..nb {
            let row = bi * t + step;
            let drow = (bi * l + step) * g;
            let dhr = &mut dh[bi * h..][..h];
            let up = &gs[(bi * l + step + 1) * h..][..h];
            dhr.iter_mut().zip(up).for_each(|(d, u)| *d += u);
            let a = &acts[row * s..][..s];
            let dxr = &mut dxp[drow..][..g];
            match kind {
                CellKind::Tanh => tanh_cell_back(a, dhr, dxr),
                CellKind::Lstm => lstm_cell_back(
                    a,
                    &tcs[row * h..][..h],
                    &cs[row * h..][..h],
                    dhr,
                    &mut dc[bi * h..][..h],
                    dxr,
                ),
                CellKind::Gru => {
                    let dhpr = &mut dhp[drow..][..g];
                    gru_cell_back(a, &hs[(bi * l + step) * h..][..h], dhr, dxr, dhpr);
                    add_into(db_h, dhpr);
                }
            }
            add_into(db_x, dxr);
        }
        // dh_{t-1} = dG_t W_hh (+ the direct GRU term already in dh).
        if kind == CellKind::Gru {
            gemm::<FMA, MR, NR>(nb, h, g, &dhp[step * g..], l * g, w_hh, &mut dh, h, true);
        } else {
            gemm::<FMA, MR, NR>(nb, h, g, &dxp[step * g..], l * g, w_hh, &mut dh, h, false);
        }
    }
    for bi in 0..nb {
        let up = &gs[bi * l * h..][..h];
        let out = &mut dh0[bi * h..][..h];
        for ((o, &d), &u) in out.iter_mut().zip(&dh[bi * h..][..h]).zip(up) {
            *o = d + u;
        }
    }
    if kind == CellKind::Lstm {
        dc0[..nb * h].copy_from_slice(&dc);
    }
    if !dx.is_empty() {
        for bi in 0..nb {
            gemm::<FMA, MR, NR>(
                t,
                i,
                g,
                &dxp[bi * l * g..],
                g,
                w_ih,
                &mut dx[bi * t * i..],
                i,
                false,
            );
        }
    }
}

/// `acc += v` elementwise (bias-gradient sums, while the row is hot in cache).
#[inline(always)]
fn add_into(acc: &mut [f32], v: &[f32]) {
    acc.iter_mut().zip(v).for_each(|(a, x)| *a += x);
}

/// Tanh RNN backward step: `dx = dh ⊙ (1 − h²)`.
#[inline(always)]
fn tanh_cell_back(a: &[f32], dh: &[f32], dx: &mut [f32]) {
    let h = a.len();
    let mut k = 0;
    while k < h {
        let n = W.min(h - k);
        let (va, vd) = (load(a, k, n), load(dh, k, n));
        let mut o = [0.0f32; W];
        for j in 0..W {
            o[j] = vd[j] * (1.0 - va[j] * va[j]);
        }
        save(dx, k, n, &o);
        k += n;
    }
}

/// LSTM backward step for one sample: consumes `dh` (total gradient of `h_t`) and `dc`
/// (gradient of `c_t` from later steps), leaves `dc = ∂/∂c_{t-1}` and writes the gradient of
/// the pre-activations `[i | f | g | o]` into `dx`.
#[inline(always)]
fn lstm_cell_back(
    a: &[f32],
    tc: &[f32],
    c_prev: &[f32],
    dh: &[f32],
    dc: &mut [f32],
    dx: &mut [f32],
) {
    let h = dh.len();
    let (ai, rest) = a.split_at(h);
    let (af, rest) = rest.split_at(h);
    let (ag, ao) = rest.split_at(h);
    let (dxi, rest) = dx.split_at_mut(h);
    let (dxf, rest) = rest.split_at_mut(h);
    let (dxg, dxo) = rest.split_at_mut(h);
    let mut k = 0;
    while k < h {
        let n = W.min(h - k);
        let (vi, vf, vg, vo) = (
            load(ai, k, n),
            load(af, k, n),
            load(ag, k, n),
            load(ao, k, n),
        );
        let (vt, vp, vdh) = (load(tc, k, n), load(c_prev, k, n), load(dh, k, n));
        let mut vdc = load(dc, k, n);
        let mut o = [[0.0f32; W]; 4];
        for j in 0..W {
            let (ig, fg, gg, og, t) = (vi[j], vf[j], vg[j], vo[j], vt[j]);
            let d_o = vdh[j] * t;
            let dct = vdc[j] + vdh[j] * og * (1.0 - t * t);
            vdc[j] = dct * fg;
            o[0][j] = dct * gg * ig * (1.0 - ig);
            o[1][j] = dct * vp[j] * fg * (1.0 - fg);
            o[2][j] = dct * ig * (1.0 - gg * gg);
            o[3][j] = d_o * og * (1.0 - og);
        }
        save(dc, k, n, &vdc);
        save(dxi, k, n, &o[0]);
        save(dxf, k, n, &o[1]);
        save(dxg, k, n, &o[2]);
        save(dxo, k, n, &o[3]);
        k += n;
    }
}

/// GRU backward step for one sample: `dh` holds the total gradient of `h_t` on entry and
/// the direct term `dh · z` on exit; writes the gradients of the input-side (`dx`) and
/// hidden-side (`dhp`) pre-activations.
#[inline(always)]
fn gru_cell_back(a: &[f32], h_prev: &[f32], dh: &mut [f32], dx: &mut [f32], dhp: &mut [f32]) {
    let h = dh.len();
    let (ar, rest) = a.split_at(h);
    let (az, rest) = rest.split_at(h);
    let (an, ahn) = rest.split_at(h);
    let (dxr, rest) = dx.split_at_mut(h);
    let (dxz, dxn) = rest.split_at_mut(h);
    let (dhr, rest) = dhp.split_at_mut(h);
    let (dhz, dhn) = rest.split_at_mut(h);
    let mut k = 0;
    while k < h {
        let n = W.min(h - k);
        let (vr, vz, vn, vhn) = (
            load(ar, k, n),
            load(az, k, n),
            load(an, k, n),
            load(ahn, k, n),
        );
        let (vp, mut vd) = (load(h_prev, k, n), load(dh, k, n));
        let mut o = [[0.0f32; W]; 4];
        for j in 0..W {
            let (r, z, nv, hn, d) = (vr[j], vz[j], vn[j], vhn[j], vd[j]);
            let dn = d * (1.0 - z);
            let dz = d * (vp[j] - nv);
            vd[j] = d * z;
            let dgn = dn * (1.0 - nv * nv);
            o[0][j] = dgn * hn * r * (1.0 - r);
            o[1][j] = dz * z * (1.0 - z);
            o[2][j] = dgn;
            o[3][j] = dgn * r;
        }
        save(dh, k, n, &vd);
        save(dxr, k, n, &o[0]);
        save(dxz, k, n, &o[1]);
        save(dxn, k, n, &o[2]);
        save(dhr, k, n, &o[0]);
        save(dhz, k, n, &o[1]);
        save(dhn, k, n, &o[3]);
        k += n;
    }
}
