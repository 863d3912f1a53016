//! Layer normalisation over the trailing elements of each row, in one pass per row (the
//! inference kernel behind `nn::LayerNorm` when no gradient is recorded).

use rayon::prelude::*;

use crate::error::{Result, TensorError};
use crate::macros::panicking;
use crate::ops::fastmath::dispatched;
use crate::ops::rowmath::layer_norm_in_place;
use crate::parallel::{use_parallel, CHUNK};
use crate::tensor::Tensor;

dispatched! {
    /// Layer-normalises every `len`-element row of `block` in place.
    fn norm_rows(block: &mut [f32], len: usize, weight: Option<&[f32]>, bias: Option<&[f32]>, eps: f32) {
        block
            .chunks_exact_mut(len)
            .for_each(|row| layer_norm_in_place(row, weight, bias, eps))
    }
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
        if normalized_len == 0 || self.len() % normalized_len != 0 {
            return Err(TensorError::arg(
                "layer_norm",
                self.shape(),
                format!("rows of {normalized_len} elements do not tile the tensor"),
            ));
        }
        for (what, t) in [("weight", weight), ("bias", bias)] {
            if let Some(t) = t {
                if t.len() != normalized_len {
                    return Err(TensorError::mismatch(
                        "layer_norm",
                        self.shape(),
                        t.shape(),
                        format!("{what} must have {normalized_len} elements"),
                    ));
                }
            }
        }
        let (w, b) = (weight.map(Tensor::contiguous), bias.map(Tensor::contiguous));
        let (w, b) = (
            w.as_ref().and_then(Tensor::as_slice),
            b.as_ref().and_then(Tensor::as_slice),
        );
        let mut data = self.to_vec();
        let work = |block: &mut [f32]| norm_rows(block, normalized_len, w, b, eps);
        if use_parallel(data.len()) {
            let rows = (CHUNK / normalized_len).max(1);
            data.par_chunks_mut(rows * normalized_len).for_each(work);
        } else {
            work(&mut data);
        }
        Ok(Tensor::from_vec_unchecked(data, self.shape()))
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
}
