//! Layer normalisation as one differentiable op.
//!
//! Composed from primitives (mean, subtract, square, mean, add, sqrt, reciprocal, two
//! multiplies, add) it recorded ten nodes and about fifteen full-size temporaries per call,
//! forward and backward; here the forward is one pass per row that also keeps each row's
//! mean and inverse deviation, and the backward one pass per row
//! (`dx = inv · (g − mean(g) − x̂ · mean(g ⊙ x̂))`, `g = dy ⊙ w`) plus the parameter sums.

use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::op::BackwardOp;
use crate::var::Var;

struct LayerNormBackward {
    x: Tensor,
    stats: Tensor,
    weight: Option<Tensor>,
    normalized_len: usize,
    has_bias: bool,
}

impl BackwardOp for LayerNormBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        let want_input = inputs[0].requires_grad();
        let want_params = inputs[1..].iter().any(Var::requires_grad);
        let grads = self.x.try_layer_norm_backward(
            g,
            &self.stats,
            self.normalized_len,
            self.weight.as_ref(),
            (want_input, want_params),
        )?;
        let mut out = vec![grads.input];
        // Parameter gradients come back flat; give them their parameters' shapes.
        let reshape = |t: Option<Tensor>, like: &Var| -> Result<Option<Tensor>> {
            Ok(t.map(|t| t.try_reshape(&like.shape())).transpose()?)
        };
        // Inputs are `[x, weight?, bias?]`, in that order.
        let mut params = inputs[1..].iter();
        if self.weight.is_some() {
            let w = params.next().expect("the weight was recorded");
            out.push(reshape(grads.weight, w)?);
        }
        if self.has_bias {
            let b = params.next().expect("the bias was recorded");
            out.push(reshape(grads.bias, b)?);
        }
        Ok(out)
    }

    fn name(&self) -> &'static str {
        "layer_norm"
    }
}

impl Var {
    /// Layer normalisation over the last `normalized_len` elements of each row (the trailing
    /// axes whose sizes multiply to it), `(x − mean) / √(var + eps) · weight + bias` with the
    /// biased variance, as PyTorch's `F.layer_norm`; `weight` and `bias` hold
    /// `normalized_len` elements (any shape).
    pub fn layer_norm(
        &self,
        normalized_len: usize,
        weight: Option<&Var>,
        bias: Option<&Var>,
        eps: f32,
    ) -> Result<Var> {
        let (w, b) = (weight.map(Var::value), bias.map(Var::value));
        let x = self.value();
        let mut inputs = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        // The statistics cost two values per row; they are kept only if a graph is recorded.
        let (y, stats) =
            x.try_layer_norm_with_stats(normalized_len, w.as_ref(), b.as_ref(), eps)?;
        Ok(Var::record(y, &inputs, || LayerNormBackward {
            x,
            stats,
            weight: w,
            normalized_len,
            has_bias: bias.is_some(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;

    #[test]
    fn gradients_of_input_weight_and_bias_match_finite_differences() {
        let mut rng = glassbox_tensor::rng::Rng::new(9);
        let x = Tensor::rand_normal(&[4, 2, 3], 0.3, 1.5, &mut rng);
        let w = Tensor::rand_normal(&[2, 3], 1.0, 0.3, &mut rng);
        let b = Tensor::rand_normal(&[2, 3], 0.0, 0.3, &mut rng);
        let report = gradcheck(
            |v| v[0].layer_norm(6, Some(&v[1]), Some(&v[2]), 1e-5),
            &[x.clone(), w, b],
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(report.passed(), "{report:?}");
        let report = gradcheck(
            |v| v[0].layer_norm(3, None, None, 1e-5),
            std::slice::from_ref(&x),
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(report.passed(), "{report:?}");
        // A bias without a weight, and a weight without a bias.
        let b3 = Tensor::rand_normal(&[3], 0.0, 0.3, &mut rng);
        let w3 = Tensor::rand_normal(&[3], 1.0, 0.3, &mut rng);
        let report = gradcheck(
            |v| v[0].layer_norm(3, None, Some(&v[1]), 1e-5),
            &[x.clone(), b3],
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(report.passed(), "{report:?}");
        let report = gradcheck(
            |v| v[0].layer_norm(3, Some(&v[1]), None, 1e-5),
            &[x, w3],
            1e-3,
            1e-2,
        )
        .unwrap();
        assert!(report.passed(), "{report:?}");
    }
}
