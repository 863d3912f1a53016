//! Fully connected layer.

use glassbox_autograd::{is_grad_enabled, BackwardOp, Result as AgResult, Var};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::init;
use crate::layers::activation::{
    simd_kernel, with_scalar_fn, Activation, ActivationKind, ScalarFnUser,
};
use crate::module::Module;

/// `y = x Wᵀ + b`. Input `[.., in_features]`, output `[.., out_features]`.
/// `weight` is `[out_features, in_features]` (PyTorch layout), `bias` `[out_features]`;
/// both initialised U(−1/√in, 1/√in).
#[derive(Debug)]
pub struct Linear {
    /// `[out_features, in_features]`.
    pub weight: Var,
    /// `[out_features]`, if the layer has a bias.
    pub bias: Option<Var>,
    training: bool,
}

impl Linear {
    /// A layer with PyTorch's default initialisation.
    pub fn new(in_features: usize, out_features: usize, bias: bool, rng: &mut Rng) -> Result<Self> {
        if in_features == 0 || out_features == 0 {
            return Err(NnError::InvalidConfig {
                layer: "Linear",
                field: "features",
                reason: format!(
                    "in_features {in_features} and out_features {out_features} must be > 0"
                ),
            });
        }
        let shape = [out_features, in_features];
        let weight = init::default_weight(&shape, rng);
        let bias = bias.then(|| Var::parameter(init::default_bias(out_features, &shape, rng)));
        Ok(Linear {
            weight: Var::parameter(weight),
            bias,
            training: true,
        })
    }

    /// A layer with the given weight `[out, in]` and optional bias `[out]`.
    pub fn from_tensors(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        if weight.rank() != 2 {
            return Err(NnError::InvalidConfig {
                layer: "Linear",
                field: "weight",
                reason: format!("must be [out, in], got shape {:?}", weight.shape()),
            });
        }
        if let Some(b) = &bias {
            if b.shape() != [weight.shape()[0]] {
                return Err(NnError::InvalidConfig {
                    layer: "Linear",
                    field: "bias",
                    reason: format!("must be [{}], got shape {:?}", weight.shape()[0], b.shape()),
                });
            }
        }
        Ok(Linear {
            weight: Var::parameter(weight),
            bias: bias.map(Var::parameter),
            training: true,
        })
    }

    /// Number of input features.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// Number of output features.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

/// Rows of a `[rows, C]` buffer summed into `acc` (`[C]`): vectorised f32 sums over blocks
/// of rows, each block added into the f64 accumulators (so long batches keep f64 accuracy).
fn column_sums(data: &[f32], channels: usize, acc: &mut [f64]) {
    const ROWS_PER_BLOCK: usize = 64;
    let mut partial = vec![0.0f32; channels];
    for block in data.chunks(channels * ROWS_PER_BLOCK) {
        partial.fill(0.0);
        for row in block.chunks_exact(channels) {
            partial.iter_mut().zip(row).for_each(|(p, v)| *p += v);
        }
        acc.iter_mut()
            .zip(&partial)
            .for_each(|(a, p)| *a += *p as f64);
    }
}

/// Backward of `y = x Wᵀ + b` as one graph node: `dx = g W`, `dW = gᵀ x`, `db = Σ_rows g`.
struct LinearOp {
    in_features: usize,
    out_features: usize,
}

impl BackwardOp for LinearOp {
    fn backward(&self, grad_out: &Tensor, inputs: &[Var]) -> AgResult<Vec<Option<Tensor>>> {
        let (k, n) = (self.in_features, self.out_features);
        let g = grad_out.try_reshape(&[grad_out.len() / n, n])?;
        let x = &inputs[0];
        let w = &inputs[1];
        let dx = if x.requires_grad() {
            Some(g.try_matmul(&w.value())?.try_reshape(&x.shape())?)
        } else {
            None
        };
        let dw = if w.requires_grad() {
            let xv = x.value();
            let x2 = xv.try_reshape(&[xv.len() / k, k])?;
            Some(g.try_t()?.try_matmul(&x2)?)
        } else {
            None
        };
        let mut grads = vec![dx, dw];
        if let Some(b) = inputs.get(2) {
            grads.push(if b.requires_grad() {
                let gc = g.contiguous();
                let mut acc = vec![0.0f64; n];
                column_sums(gc.as_slice().expect("contiguous"), n, &mut acc);
                Some(Tensor::from_vec(
                    acc.into_iter().map(|v| v as f32).collect(),
                    &[n],
                )?)
            } else {
                None
            });
        }
        Ok(grads)
    }

    fn name(&self) -> &'static str {
        "linear"
    }
}

/// `x Wᵀ + b` as one recorded op (input `[.., in]`, `weight: [out, in]`, `bias: [out]`).
/// The forward fills the output with the bias and lets the GEMM accumulate into it.
pub(crate) fn linear(x: &Var, weight: &Var, bias: Option<&Var>) -> Result<Var> {
    let wv = weight.value();
    let bv = bias.map(Var::value);
    let y = x.value().try_linear(&wv, bv.as_ref())?;
    let mut inputs = vec![x.clone(), weight.clone()];
    inputs.extend(bias.cloned());
    Ok(Var::from_op(
        y,
        &inputs,
        Box::new(LinearOp {
            in_features: wv.shape()[1],
            out_features: wv.shape()[0],
        }),
    ))
}

impl Linear {
    fn check_input(&self, x: &Var) -> Result<()> {
        let shape = x.shape();
        if shape.is_empty() || shape[shape.len() - 1] != self.in_features() {
            return Err(NnError::InputShape {
                layer: "Linear",
                expected: format!("[.., {}]", self.in_features()),
                found: shape,
            });
        }
        Ok(())
    }
}

/// The operands of a fused linear + activation inference product.
struct FusedLinear<'a> {
    x: &'a Tensor,
    weight: &'a Tensor,
    bias: Option<&'a Tensor>,
}

impl ScalarFnUser for FusedLinear<'_> {
    type Output = Result<Tensor>;
    fn call(self, f: impl Fn(f32) -> f32 + Sync + Send + Copy) -> Result<Tensor> {
        Ok(self.x.try_linear_map(self.weight, self.bias, f)?)
    }
}

impl Module for Linear {
    fn layer_kind(&self) -> crate::module::LayerKind {
        crate::module::LayerKind::Affine
    }

    fn forward(&self, x: &Var) -> Result<Var> {
        self.check_input(x)?;
        linear(x, &self.weight, self.bias.as_ref())
    }

    /// Without a graph, the activation runs inside the product
    /// ([`Tensor::try_linear_map`]): one pass over the output instead of three.
    fn forward_owned_activated(&self, x: Var, act: ActivationKind) -> Result<Var> {
        if !is_grad_enabled() {
            self.check_input(&x)?;
            let bias = self.bias.as_ref().map(Var::value);
            let (xv, wv) = (x.value(), self.weight.value());
            if let Some(kernel) = simd_kernel(act) {
                let y = xv.try_linear_kernel(&wv, bias.as_ref(), kernel)?;
                return Ok(Var::constant(y));
            }
            let fused = FusedLinear {
                x: &xv,
                weight: &wv,
                bias: bias.as_ref(),
            };
            if let Some(y) = with_scalar_fn(act, fused) {
                return Ok(Var::constant(y?));
            }
        }
        let y = self.forward_owned(x)?;
        Activation::new(act).forward_owned(y)
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        let mut p = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            p.push(("bias".to_string(), b.clone()));
        }
        p
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "Linear"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_autograd::gradcheck;

    #[test]
    fn forward_and_gradients_match_naive_loops() {
        // 150 rows: more than one block of the bias-gradient accumulation; rank-3 input.
        let (rows, k, n) = (150, 5, 7);
        let mut rng = Rng::new(1);
        let layer = Linear::new(k, n, true, &mut rng).unwrap();
        let x = Var::parameter(Tensor::rand_normal(&[3, rows / 3, k], 0.0, 1.0, &mut rng));
        let y = layer.forward(&x).unwrap();
        assert_eq!(y.shape(), vec![3, rows / 3, n]);
        let (xs, w) = (x.value().to_vec(), layer.weight.value().to_vec());
        let b = layer.bias.as_ref().unwrap().value().to_vec();
        let ys = y.value().to_vec();
        for r in 0..rows {
            for j in 0..n {
                let want: f64 = b[j] as f64
                    + (0..k)
                        .map(|p| xs[r * k + p] as f64 * w[j * k + p] as f64)
                        .sum::<f64>();
                assert!((ys[r * n + j] as f64 - want).abs() < 1e-5);
            }
        }
        let up = Tensor::rand_normal(&[3, rows / 3, n], 0.0, 1.0, &mut rng);
        y.backward_with(&up).unwrap();
        let g = up.to_vec();
        let db = layer.bias.as_ref().unwrap().grad().unwrap().to_vec();
        let dw = layer.weight.grad().unwrap().to_vec();
        let dx = x.grad().unwrap().to_vec();
        for j in 0..n {
            let want: f64 = (0..rows).map(|r| g[r * n + j] as f64).sum();
            assert!((db[j] as f64 - want).abs() < 1e-4, "db[{j}]");
            for p in 0..k {
                let want: f64 = (0..rows)
                    .map(|r| g[r * n + j] as f64 * xs[r * k + p] as f64)
                    .sum();
                assert!((dw[j * k + p] as f64 - want).abs() < 1e-3, "dw[{j},{p}]");
            }
        }
        for r in 0..rows {
            for p in 0..k {
                let want: f64 = (0..n)
                    .map(|j| g[r * n + j] as f64 * w[j * k + p] as f64)
                    .sum();
                assert!((dx[r * k + p] as f64 - want).abs() < 1e-4, "dx[{r},{p}]");
            }
        }
    }

    #[test]
    fn finite_differences() {
        let mut rng = Rng::new(2);
        let x = Tensor::rand_normal(&[4, 3], 0.0, 1.0, &mut rng);
        let w = Tensor::rand_normal(&[2, 3], 0.0, 1.0, &mut rng);
        let b = Tensor::rand_normal(&[2], 0.0, 1.0, &mut rng);
        let report = gradcheck(
            |v: &[Var]| {
                linear(&v[0], &v[1], Some(&v[2]))
                    .map_err(|e| glassbox_autograd::AutogradError::invalid("linear", e.to_string()))
            },
            &[x, w, b],
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(report.passed(), "{report}");
    }
}
