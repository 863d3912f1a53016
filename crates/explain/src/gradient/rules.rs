//! Replacement backward rules for activations, recorded as custom autograd ops
//! ([`BackwardOp`]): guided-backprop and deconvolution ReLU, and DeepLIFT's rescale rule.
//!
//! Each op computes the ordinary forward value (so the network's output is unchanged) and
//! only changes what flows back.

use glassbox_autograd::{BackwardOp, Result, Var};
use glassbox_tensor::Tensor;

/// ReLU whose backward passes `max(grad · 1[x > 0], 0)` (guided backprop, Springenberg
/// et al., 2015) or `max(grad, 0)` (deconvolution, Zeiler & Fergus, 2014).
struct ModifiedRelu {
    mask: Tensor,
    guided: bool,
}

impl BackwardOp for ModifiedRelu {
    fn backward(&self, grad_out: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let g = if self.guided {
            grad_out.try_mul(&self.mask)?
        } else {
            grad_out.clone()
        };
        Ok(vec![Some(g.clamp(0.0, f32::INFINITY))])
    }
    fn name(&self) -> &'static str {
        if self.guided {
            "guided_relu"
        } else {
            "deconv_relu"
        }
    }
}

/// ReLU with the guided-backprop backward rule.
pub fn guided_relu(x: &Var) -> Var {
    modified_relu(x, true)
}

/// ReLU with the deconvolution backward rule.
pub fn deconv_relu(x: &Var) -> Var {
    modified_relu(x, false)
}

fn modified_relu(x: &Var, guided: bool) -> Var {
    let v = x.value();
    let mask = v.map(|a| if a > 0.0 { 1.0 } else { 0.0 });
    let y = v.clamp(0.0, f32::INFINITY);
    Var::from_op(
        y,
        std::slice::from_ref(x),
        Box::new(ModifiedRelu { mask, guided }),
    )
}

/// Captum's threshold below which DeepLIFT falls back to the plain gradient.
pub const DEEPLIFT_EPS: f32 = 1e-10;

/// DeepLIFT rescale rule (Shrikumar et al., 2017) for an elementwise nonlinearity: the
/// backward multiplier is `Δout / Δin` against the reference activations, or the plain
/// local derivative where `|Δin| < 1e-10`, exactly as Captum's `nonlinear` rule.
struct Rescale {
    multiplier: Tensor,
}

impl BackwardOp for Rescale {
    fn backward(&self, grad_out: &Tensor, _inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad_out.try_mul(&self.multiplier)?)])
    }
    fn name(&self) -> &'static str {
        "deeplift_rescale"
    }
}

/// Applies the nonlinearity `plain` to `x` (value and local derivative taken from the
/// ordinary op) but back-propagates with the rescale multiplier against `ref_in` /
/// `ref_out` (the nonlinearity's input and output on the reference batch, same shape).
pub fn rescale(
    x: &Var,
    ref_in: &Tensor,
    ref_out: &Tensor,
    plain: impl Fn(&Var) -> glassbox_nn::Result<Var>,
) -> glassbox_nn::Result<Var> {
    // Local derivative from the ordinary op on a detached copy.
    let probe = Var::leaf(x.value(), true);
    let y = plain(&probe)?;
    y.backward_with(&Tensor::ones_like(&y.value()))?;
    let local = probe
        .grad()
        .unwrap_or_else(|| Tensor::zeros_like(&x.value()));
    let out = y.value();
    let (xv, n) = (x.value().contiguous(), x.value().len());
    let (xs, rin, rout, os, ls) = (
        xv.to_vec(),
        ref_in.contiguous().to_vec(),
        ref_out.contiguous().to_vec(),
        out.contiguous().to_vec(),
        local.contiguous().to_vec(),
    );
    if rin.len() != n || rout.len() != n {
        return Err(glassbox_nn::NnError::InputShape {
            layer: "deeplift_rescale",
            expected: format!("reference activations of shape {:?}", xv.shape()),
            found: ref_in.shape().to_vec(),
        });
    }
    let m: Vec<f32> = (0..n)
        .map(|i| {
            let d_in = xs[i] - rin[i];
            if d_in.abs() < DEEPLIFT_EPS {
                ls[i]
            } else {
                (os[i] - rout[i]) / d_in
            }
        })
        .collect();
    let multiplier = Tensor::from_vec(m, xv.shape())?;
    Ok(Var::from_op(
        out,
        std::slice::from_ref(x),
        Box::new(Rescale { multiplier }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }

    #[test]
    fn guided_and_deconv_rules() {
        let x = Var::leaf(t(&[-1.0, 2.0, 3.0, -4.0]), true);
        let up = t(&[5.0, -6.0, 7.0, 8.0]);
        guided_relu(&x).backward_with(&up).unwrap();
        // only positive gradients of positive inputs pass
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.0, 7.0, 0.0]);
        let x = Var::leaf(t(&[-1.0, 2.0, 3.0, -4.0]), true);
        let y = deconv_relu(&x);
        assert_eq!(y.value().to_vec(), vec![0.0, 2.0, 3.0, 0.0]);
        y.backward_with(&up).unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![5.0, 0.0, 7.0, 8.0]);
    }

    #[test]
    fn rescale_multiplier_is_secant_slope() {
        // relu: x = [2, -1, 0.5], ref = [-1, -3, 0.5] -> (2-0)/(2+1), 0/2 = 0, plain grad 1
        let x = Var::leaf(t(&[2.0, -1.0, 0.5]), true);
        let rin = t(&[-1.0, -3.0, 0.5]);
        let rout = rin.clamp(0.0, f32::INFINITY);
        let y = rescale(&x, &rin, &rout, |v| Ok(v.relu())).unwrap();
        y.backward_with(&t(&[1.0, 1.0, 1.0])).unwrap();
        let g = x.grad().unwrap().to_vec();
        assert!(
            (g[0] - 2.0 / 3.0).abs() < 1e-6 && g[1] == 0.0 && g[2] == 1.0,
            "{g:?}"
        );
    }
}
