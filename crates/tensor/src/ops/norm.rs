//! Layer normalisation over the trailing elements of each row, in one pass per row (the
//! inference kernel behind `nn::LayerNorm` when no gradient is recorded).

use rayon::prelude::*;

use crate::error::{Result, TensorError};
use crate::macros::panicking;
use crate::ops::fastmath::dispatched;
use crate::ops::rowmath::{layer_norm_backward_row, layer_norm_in_place};
use crate::parallel::{use_parallel, CHUNK};
use crate::tensor::Tensor;

dispatched! {
    /// Layer-normalises every `len`-element row of `block` in place and writes each row's
    /// `(mean, 1/√(var + eps))` into `stats` (two values per row).
    fn norm_rows(
        block: &mut [f32],
        len: usize,
        weight: Option<&[f32]>,
        bias: Option<&[f32]>,
        eps: f32,
        stats: &mut [f32],
    ) {
        for (row, st) in block.chunks_exact_mut(len).zip(stats.chunks_exact_mut(2)) {
            (st[0], st[1]) = layer_norm_in_place(row, weight, bias, eps);
        }
    }
}

dispatched! {
    /// The input gradient of every row (see `rowmath::layer_norm_backward_row`).
    fn norm_backward_rows(
        x: &[f32],
        dy: &[f32],
        len: usize,
        weight: Option<&[f32]>,
        stats: &[f32],
        dx: &mut [f32],
    ) {
        let rows = x.chunks_exact(len).zip(dy.chunks_exact(len));
        for ((xr, dyr), (st, dxr)) in rows.zip(stats.chunks_exact(2).zip(dx.chunks_exact_mut(len))) {
            layer_norm_backward_row(xr, dyr, weight, (st[0], st[1]), dxr);
        }
    }
}

dispatched! {
    /// Adds `Σ_rows dy ⊙ x̂` to `dw` and `Σ_rows dy` to `db` (`len` values each).
    fn norm_param_grad_rows(x: &[f32], dy: &[f32], len: usize, stats: &[f32], dw: &mut [f32], db: &mut [f32]) {
        let rows = x.chunks_exact(len).zip(dy.chunks_exact(len));
        for ((xr, dyr), st) in rows.zip(stats.chunks_exact(2)) {
            let (mean, inv) = (st[0], st[1]);
            for (((w, b), &xv), &g) in dw.iter_mut().zip(db.iter_mut()).zip(xr).zip(dyr) {
                *w += g * ((xv - mean) * inv);
                *b += g;
            }
        }
    }
}

/// Gradients of a layer normalisation (see [`Tensor::try_layer_norm_backward`]); `None`
/// where not asked for.
#[derive(Debug)]
pub struct LayerNormGrads {
    /// d loss / d input, shaped like the input.
    pub input: Option<Tensor>,
    /// d loss / d weight, `[normalized_len]`.
    pub weight: Option<Tensor>,
    /// d loss / d bias, `[normalized_len]`.
    pub bias: Option<Tensor>,
}

fn check_rows(op: &'static str, t: &Tensor, normalized_len: usize) -> Result<usize> {
    if normalized_len == 0 || t.len() % normalized_len != 0 {
        return Err(TensorError::arg(
            op,
            t.shape(),
            format!("rows of {normalized_len} elements do not tile the tensor"),
        ));
    }
    Ok(t.len() / normalized_len)
}

fn check_param(
    op: &'static str,
    x: &Tensor,
    what: &str,
    t: Option<&Tensor>,
    len: usize,
) -> Result<()> {
    match t {
        Some(t) if t.len() != len => Err(TensorError::mismatch(
            op,
            x.shape(),
            t.shape(),
            format!("{what} must have {len} elements"),
        )),
        _ => Ok(()),
    }
}

/// Rows per parallel task: about [`CHUNK`] elements.
fn rows_per_task(len: usize) -> usize {
    (CHUNK / len).max(1)
}

impl Tensor {
    /// Layer normalisation over the last `normalized_len` elements of each row (the
    /// trailing axes whose sizes multiply to it), with an optional elementwise `weight` and
    /// `bias` of `normalized_len` elements. Biased variance, as PyTorch's `LayerNorm`.
    pub fn try_layer_norm(
        &self,
        normalized_len: usize,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f32,
    ) -> Result<Tensor> {
        Ok(self
            .try_layer_norm_with_stats(normalized_len, weight, bias, eps)?
            .0)
    }

    /// [`try_layer_norm`](Self::try_layer_norm) that also returns each row's statistics,
    /// `[rows, 2]` holding `(mean, 1/√(var + eps))`, which
    /// [`try_layer_norm_backward`](Self::try_layer_norm_backward) takes.
    pub fn try_layer_norm_with_stats(
        &self,
        normalized_len: usize,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f32,
    ) -> Result<(Tensor, Tensor)> {
        let op = "layer_norm";
        let rows = check_rows(op, self, normalized_len)?;
        check_param(op, self, "weight", weight, normalized_len)?;
        check_param(op, self, "bias", bias, normalized_len)?;
        let (w, b) = (weight.map(Tensor::contiguous), bias.map(Tensor::contiguous));
        let (w, b) = (
            w.as_ref().and_then(Tensor::as_slice),
            b.as_ref().and_then(Tensor::as_slice),
        );
        let mut data = self.to_vec();
        let mut stats = vec![0.0f32; 2 * rows];
        let per = rows_per_task(normalized_len);
        if use_parallel(data.len()) {
            data.par_chunks_mut(per * normalized_len)
                .zip(stats.par_chunks_mut(2 * per))
                .for_each(|(blk, st)| norm_rows(blk, normalized_len, w, b, eps, st));
        } else {
            norm_rows(&mut data, normalized_len, w, b, eps, &mut stats);
        }
        Ok((
            Tensor::from_vec_unchecked(data, self.shape()),
            Tensor::from_vec_unchecked(stats, &[rows, 2]),
        ))
    }

    /// Gradients of `y = layer_norm(self)` from `grad_out = d loss / d y`, given the `stats`
    /// of [`try_layer_norm_with_stats`](Self::try_layer_norm_with_stats) and the same
    /// `weight`. `input` asks for d loss / d self, `params` for the weight and bias
    /// gradients (`Σ_rows grad_out ⊙ x̂` and `Σ_rows grad_out`, summed block by block in a
    /// fixed order, so the same on any thread count).
    pub fn try_layer_norm_backward(
        &self,
        grad_out: &Tensor,
        stats: &Tensor,
        normalized_len: usize,
        weight: Option<&Tensor>,
        (input, params): (bool, bool),
    ) -> Result<LayerNormGrads> {
        let op = "layer_norm_backward";
        let rows = check_rows(op, self, normalized_len)?;
        if grad_out.shape() != self.shape() {
            return Err(TensorError::mismatch(
                op,
                self.shape(),
                grad_out.shape(),
                "the output gradient must be shaped like the input",
            ));
        }
        if stats.shape() != [rows, 2] {
            return Err(TensorError::mismatch(
                op,
                &[rows, 2],
                stats.shape(),
                "stats must be [rows, 2] (mean, inverse deviation)",
            ));
        }
        check_param(op, self, "weight", weight, normalized_len)?;
        let (x, dy, st) = (self.contiguous(), grad_out.contiguous(), stats.contiguous());
        let w = weight.map(Tensor::contiguous);
        let (xs, dys, sts) = (
            x.as_slice().expect("contiguous"),
            dy.as_slice().expect("contiguous"),
            st.as_slice().expect("contiguous"),
        );
        let w = w.as_ref().and_then(Tensor::as_slice);
        let len = normalized_len;
        let per = rows_per_task(len);
        // Block `i`: rows `i·per ..` of x, dy (and dx) and their stats.
        let blocks = rows.div_ceil(per);
        let span = |i: usize, width: usize, total: usize| {
            i * per * width..((i + 1) * per * width).min(total)
        };
        let (x_at, s_at) = (|i| span(i, len, xs.len()), |i| span(i, 2, sts.len()));
        let parallel = use_parallel(xs.len());
        let input = input.then(|| {
            let mut dx = vec![0.0f32; xs.len()];
            let block = |(i, d): (usize, &mut [f32])| {
                norm_backward_rows(&xs[x_at(i)], &dys[x_at(i)], len, w, &sts[s_at(i)], d)
            };
            if parallel {
                dx.par_chunks_mut(per * len).enumerate().for_each(block);
            } else {
                dx.chunks_mut(per * len).enumerate().for_each(block);
            }
            Tensor::from_vec_unchecked(dx, self.shape())
        });
        let (weight, bias) = if params {
            // Partial sums per block, added in block order: the same bits on any thread count.
            let partial = |i: usize| {
                let (mut dw, mut db) = (vec![0.0f32; len], vec![0.0f32; len]);
                norm_param_grad_rows(
                    &xs[x_at(i)],
                    &dys[x_at(i)],
                    len,
                    &sts[s_at(i)],
                    &mut dw,
                    &mut db,
                );
                (dw, db)
            };
            let partials: Vec<(Vec<f32>, Vec<f32>)> = if parallel {
                (0..blocks).into_par_iter().map(partial).collect()
            } else {
                (0..blocks).map(partial).collect()
            };
            let (mut dw, mut db) = (vec![0.0f32; len], vec![0.0f32; len]);
            for (pw, pb) in partials {
                dw.iter_mut().zip(pw).for_each(|(a, v)| *a += v);
                db.iter_mut().zip(pb).for_each(|(a, v)| *a += v);
            }
            (
                Some(Tensor::from_vec_unchecked(dw, &[len])),
                Some(Tensor::from_vec_unchecked(db, &[len])),
            )
        } else {
            (None, None)
        };
        Ok(LayerNormGrads {
            input,
            weight,
            bias,
        })
    }
}

panicking! {
    layer_norm => try_layer_norm(normalized_len: usize, weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f32) -> Tensor;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_f64_and_rejects_bad_sizes() {
        let mut rng = crate::rng::Rng::new(1);
        let x = Tensor::rand_normal(&[70, 3, 5], 2.0, 3.0, &mut rng);
        let w = Tensor::rand_normal(&[3, 5], 1.0, 0.5, &mut rng);
        let b = Tensor::rand_normal(&[3, 5], 0.0, 0.5, &mut rng);
        let y = x.try_layer_norm(15, Some(&w), Some(&b), 1e-5).unwrap();
        let (xs, ws, bs, ys) = (x.to_vec(), w.to_vec(), b.to_vec(), y.to_vec());
        for r in 0..70 {
            let row: Vec<f64> = xs[r * 15..(r + 1) * 15].iter().map(|&v| v as f64).collect();
            let mean = row.iter().sum::<f64>() / 15.0;
            let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 15.0;
            for j in 0..15 {
                let want = (row[j] - mean) / (var + 1e-5).sqrt() * ws[j] as f64 + bs[j] as f64;
                assert!((ys[r * 15 + j] as f64 - want).abs() < 1e-5, "({r},{j})");
            }
        }
        let plain = x.try_layer_norm(5, None, None, 1e-12).unwrap().to_vec();
        let m: f32 = plain[..5].iter().sum::<f32>() / 5.0;
        assert!(m.abs() < 1e-6);
        assert!(x.try_layer_norm(4, None, None, 1e-5).is_err());
        assert!(x
            .try_layer_norm(15, Some(&b.reshape(&[15]).narrow(0, 0, 3)), None, 1e-5)
            .is_err());
    }

    /// Layer norm of one row in f64, from the definition.
    fn norm_f64(x: &[f64], w: &[f64], b: &[f64], eps: f64) -> Vec<f64> {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        x.iter()
            .zip(w.iter().zip(b))
            .map(|(v, (w, b))| (v - mean) / (var + eps).sqrt() * w + b)
            .collect()
    }

    #[test]
    fn backward_matches_f64_finite_differences_and_is_thread_independent() {
        let mut rng = crate::rng::Rng::new(5);
        // Small (serial) and large enough for the parallel path; a row length off the lanes.
        for &(rows, len) in &[(3usize, 7usize), (700, 130)] {
            let x = Tensor::rand_normal(&[rows, len], 0.5, 2.0, &mut rng);
            let w = Tensor::rand_normal(&[len], 1.0, 0.5, &mut rng);
            let b = Tensor::rand_normal(&[len], 0.0, 0.5, &mut rng);
            let dy = Tensor::rand_normal(&[rows, len], 0.0, 1.0, &mut rng);
            let (y, stats) = x
                .try_layer_norm_with_stats(len, Some(&w), Some(&b), 1e-5)
                .unwrap();
            assert_eq!(
                y.to_vec(),
                x.try_layer_norm(len, Some(&w), Some(&b), 1e-5)
                    .unwrap()
                    .to_vec()
            );
            let g = x
                .try_layer_norm_backward(&dy, &stats, len, Some(&w), (true, true))
                .unwrap();
            let (xs, ws, bs, dys) = (x.to_vec(), w.to_vec(), b.to_vec(), dy.to_vec());
            let f64v = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
            let (wd, bd) = (f64v(&ws), f64v(&bs));
            // L = Σ dy ⊙ y; central differences in f64 on a few rows and every parameter.
            let loss = |xr: &[f64], r: usize, wv: &[f64], bv: &[f64]| -> f64 {
                norm_f64(xr, wv, bv, 1e-5)
                    .iter()
                    .zip(&dys[r * len..(r + 1) * len])
                    .map(|(y, &g)| y * g as f64)
                    .sum()
            };
            let h = 1e-6;
            let dx = g.input.as_ref().unwrap().to_vec();
            for r in [0, rows - 1] {
                let xr = f64v(&xs[r * len..(r + 1) * len]);
                for j in 0..len {
                    let (mut p, mut m) = (xr.clone(), xr.clone());
                    p[j] += h;
                    m[j] -= h;
                    let want = (loss(&p, r, &wd, &bd) - loss(&m, r, &wd, &bd)) / (2.0 * h);
                    let got = dx[r * len + j] as f64;
                    assert!(
                        (got - want).abs() < 1e-3 * (1.0 + want.abs()),
                        "dx[{r},{j}] {got} vs {want}"
                    );
                }
            }
            let total = |wv: &[f64], bv: &[f64]| -> f64 {
                (0..rows)
                    .map(|r| loss(&f64v(&xs[r * len..(r + 1) * len]), r, wv, bv))
                    .sum()
            };
            let (dw, db) = (g.weight.unwrap().to_vec(), g.bias.unwrap().to_vec());
            for j in 0..len {
                let (mut p, mut m) = (wd.clone(), wd.clone());
                p[j] += h;
                m[j] -= h;
                let want = (total(&p, &bd) - total(&m, &bd)) / (2.0 * h);
                assert!(
                    (dw[j] as f64 - want).abs() < 1e-3 * (1.0 + want.abs()),
                    "dw[{j}]"
                );
                let (mut p, mut m) = (bd.clone(), bd.clone());
                p[j] += h;
                m[j] -= h;
                let want = (total(&wd, &p) - total(&wd, &m)) / (2.0 * h);
                assert!(
                    (db[j] as f64 - want).abs() < 1e-3 * (1.0 + want.abs()),
                    "db[{j}]"
                );
            }
            // One thread gives the same bits.
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            let one = pool.install(|| {
                x.try_layer_norm_backward(&dy, &stats, len, Some(&w), (true, true))
                    .unwrap()
            });
            assert_eq!(one.input.unwrap().to_vec(), dx);
            assert_eq!(one.weight.unwrap().to_vec(), dw);
        }
        let x = Tensor::zeros(&[2, 3]);
        let (_, stats) = x.try_layer_norm_with_stats(3, None, None, 1e-5).unwrap();
        assert!(x
            .try_layer_norm_backward(&Tensor::zeros(&[3, 2]), &stats, 3, None, (true, false))
            .is_err());
        assert!(x
            .try_layer_norm_backward(&x, &Tensor::zeros(&[1, 2]), 3, None, (true, false))
            .is_err());
    }
}
