//! Matrix products: 2-D, batched with broadcast batch axes, and 1-D operands.

use glassbox_tensor::Tensor;

use crate::error::Result;
use crate::op::BackwardOp;
use crate::ops::sum_to;
use crate::var::Var;

/// Swaps the last two axes (a strided view; the GEMM kernel takes it without a copy).
fn mt(t: &Tensor) -> Result<Tensor> {
    let r = t.rank();
    Ok(t.try_transpose(r - 2, r - 1)?)
}

/// Whether `t` is a view whose last two axes are swapped relative to a contiguous tensor
/// (e.g. `w.t()` of a weight stored `[out, in]`).
fn is_transposed_view(t: &Tensor) -> bool {
    !t.is_contiguous() && mt(t).is_ok_and(|v| v.is_contiguous())
}

/// `lhs · rhs`, computed as `(rhsᵀ · lhsᵀ)ᵀ` when `transposed`, so the result is a
/// transposed view of a contiguous buffer: the layout of the operand whose gradient it is.
/// The transpose backward of `w.t()` then hands the weight a contiguous gradient with no
/// strided copy.
fn product(lhs: &Tensor, rhs: &Tensor, transposed: bool) -> Result<Tensor> {
    if transposed {
        Ok(mt(&mt(rhs)?.try_matmul(&mt(lhs)?)?)?)
    } else {
        Ok(lhs.try_matmul(rhs)?)
    }
}

struct MatmulBackward {
    a: Tensor,
    b: Tensor,
}
impl BackwardOp for MatmulBackward {
    fn backward(&self, g: &Tensor, inputs: &[Var]) -> Result<Vec<Option<Tensor>>> {
        // Both operands have rank >= 2 here (1-D operands are reshaped around this op).
        let same_batch = |t: &Tensor| t.shape()[..t.rank() - 2] == g.shape()[..g.rank() - 2];
        let da = if inputs[0].requires_grad() {
            let layout = is_transposed_view(&self.a) && same_batch(&self.a);
            let d = product(g, &mt(&self.b)?, layout)?;
            Some(sum_to(&d, self.a.shape())?)
        } else {
            None
        };
        let db = if inputs[1].requires_grad() {
            let layout = is_transposed_view(&self.b) && same_batch(&self.b);
            let d = product(&mt(&self.a)?, g, layout)?;
            Some(sum_to(&d, self.b.shape())?)
        } else {
            None
        };
        Ok(vec![da, db])
    }
    fn name(&self) -> &'static str {
        "matmul"
    }
}

impl Var {
    /// Matrix product with PyTorch semantics: `(m, k) × (k, n)`, batched
    /// `(…, m, k) × (…, k, n)` with broadcast batch axes (the gradient of a broadcast
    /// operand is summed over the batch), and 1-D operands treated as a row (lhs) or
    /// column (rhs) vector whose axis is removed from the result.
    pub fn matmul(&self, rhs: &Var) -> Result<Var> {
        let (ra, rb) = (self.with_value(Tensor::rank), rhs.with_value(Tensor::rank));
        if ra == 1 || rb == 1 {
            let a = if ra == 1 {
                self.unsqueeze(0)?
            } else {
                self.clone()
            };
            let b = if rb == 1 {
                rhs.unsqueeze(1)?
            } else {
                rhs.clone()
            };
            let mut y = a.matmul(&b)?;
            if rb == 1 {
                let r = y.with_value(Tensor::rank);
                y = y.squeeze(r - 1)?;
            }
            if ra == 1 {
                let r = y.with_value(Tensor::rank);
                y = y.squeeze(r - if rb == 1 { 1 } else { 2 })?;
            }
            return Ok(y);
        }
        let (a, b) = (self.value(), rhs.value());
        let v = a.try_matmul(&b)?;
        Ok(Var::record(v, &[self, rhs], || MatmulBackward { a, b }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], s: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn matmul_grads_by_hand() {
        // y = sum(A B): dA = 1 Bᵀ (row sums of B), dB = Aᵀ 1 (column sums of A)
        let a = Var::parameter(t(&[1., 2., 3., 4.], &[2, 2]));
        let b = Var::parameter(t(&[5., 6., 7., 8.], &[2, 2]));
        a.matmul(&b).unwrap().sum_all().backward().unwrap();
        assert_eq!(a.grad().unwrap().to_vec(), vec![11., 15., 11., 15.]);
        assert_eq!(b.grad().unwrap().to_vec(), vec![4., 4., 6., 6.]);
    }

    #[test]
    fn vector_operands() {
        let a = Var::parameter(t(&[1., 2.], &[2]));
        let m = Var::parameter(t(&[1., 2., 3., 4.], &[2, 2]));
        let y = a.matmul(&m).unwrap();
        assert_eq!(y.shape(), vec![2]);
        let d = a.matmul(&a).unwrap();
        assert_eq!(d.shape(), Vec::<usize>::new());
        assert_eq!(d.value().to_vec(), vec![5.0]);
        d.backward().unwrap();
        assert_eq!(a.grad().unwrap().to_vec(), vec![2., 4.]);
    }

    #[test]
    fn batch_broadcast_sums_weight_grad() {
        // x [3, 1, 2] @ w [2, 2]: dw = Σ_batch xᵀ 1
        let x = Var::constant(t(&[1., 2., 3., 4., 5., 6.], &[3, 1, 2]));
        let w = Var::parameter(Tensor::ones(&[2, 2]));
        x.matmul(&w).unwrap().sum_all().backward().unwrap();
        assert_eq!(w.grad().unwrap().to_vec(), vec![9., 9., 12., 12.]);
    }

    #[test]
    fn transposed_weight_gets_a_contiguous_gradient() {
        // y = x · Wᵀ with W [3, 2] stored row-major: dW = gᵀ x, contiguous.
        let x = Var::constant(t(&[1., 2., 3., 4.], &[2, 2]));
        let w = Var::parameter(t(&[1., 0., 0., 1., 1., 1.], &[3, 2]));
        x.matmul(&w.t().unwrap())
            .unwrap()
            .sum_all()
            .backward()
            .unwrap();
        let g = w.grad().unwrap();
        assert!(g.is_contiguous());
        assert_eq!(g.to_vec(), vec![4., 6., 4., 6., 4., 6.]);
    }

    #[test]
    fn mismatch_is_an_error() {
        let a = Var::parameter(Tensor::zeros(&[2, 3]));
        let b = Var::parameter(Tensor::zeros(&[4, 2]));
        assert!(a.matmul(&b).is_err());
    }
}
