//! Reads one step slot `[B, H]` out of a layer's packed `[B, L, H]` output (used for `h_n`
//! and `c_n`). Its backward writes the slot's gradient straight into a zeroed `[B, L, H]`
//! buffer, instead of the generic `narrow` backward, which concatenates zero blocks.

use glassbox_autograd::{BackwardOp, Result as AgResult, Var};
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};

struct SlotOp {
    b: usize,
    l: usize,
    h: usize,
    s: usize,
}

/// Slot `s` of a packed `[B, L, H]` output as a `[B, H]` variable.
pub(super) fn slot(packed: &Var, s: usize) -> Result<Var> {
    let shape = packed.shape();
    if shape.len() != 3 || s >= shape[1] {
        return Err(NnError::InputShape {
            layer: "recurrent slot",
            expected: format!("[B, L, H] with L > {s}"),
            found: shape,
        });
    }
    let (b, l, h) = (shape[0], shape[1], shape[2]);
    let pv = packed.value().contiguous();
    let src = pv.as_slice().unwrap_or(&[]);
    let mut out = Vec::with_capacity(b * h);
    for bi in 0..b {
        out.extend_from_slice(&src[(bi * l + s) * h..][..h]);
    }
    let value = Tensor::from_vec(out, &[b, h])?;
    Ok(Var::from_op(
        value,
        std::slice::from_ref(packed),
        Box::new(SlotOp { b, l, h, s }),
    ))
}

impl BackwardOp for SlotOp {
    fn backward(&self, grad_out: &Tensor, _inputs: &[Var]) -> AgResult<Vec<Option<Tensor>>> {
        let (b, l, h, s) = (self.b, self.l, self.h, self.s);
        let g = grad_out.contiguous();
        let gs = g.as_slice().unwrap_or(&[]);
        let mut full = vec![0.0f32; b * l * h];
        for bi in 0..b {
            full[(bi * l + s) * h..][..h].copy_from_slice(&gs[bi * h..][..h]);
        }
        Ok(vec![Some(Tensor::from_vec(full, &[b, l, h])?)])
    }

    fn name(&self) -> &'static str {
        "recurrent_slot"
    }
}
