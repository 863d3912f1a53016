//! Embedding lookup tables.

use glassbox_autograd::{BackwardOp, Result as AgResult, Var};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::module::Module;

/// A table of `num_embeddings` vectors of size `embedding_dim`, initialised N(0, 1) as in
/// PyTorch. Looking up indices of shape `S` gives `[S.., embedding_dim]`; the weight's
/// gradient is the scatter-add of the upstream rows.
#[derive(Debug)]
pub struct Embedding {
    /// `[num_embeddings, embedding_dim]`.
    pub weight: Var,
    training: bool,
}

struct EmbeddingBackward {
    indices: Vec<usize>,
    num: usize,
    dim: usize,
}

impl BackwardOp for EmbeddingBackward {
    fn backward(&self, grad_out: &Tensor, inputs: &[Var]) -> AgResult<Vec<Option<Tensor>>> {
        if !inputs[0].requires_grad() {
            return Ok(vec![None]);
        }
        let g = grad_out.contiguous();
        let gs = g.as_slice().expect("contiguous");
        let mut out = vec![0.0f32; self.num * self.dim];
        for (row, &ix) in self.indices.iter().enumerate() {
            let src = &gs[row * self.dim..(row + 1) * self.dim];
            let dst = &mut out[ix * self.dim..(ix + 1) * self.dim];
            dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
        }
        Ok(vec![Some(Tensor::from_vec(out, &[self.num, self.dim])?)])
    }

    fn name(&self) -> &'static str {
        "embedding"
    }
}

impl Embedding {
    /// A table with PyTorch's N(0, 1) initialisation.
    pub fn new(num_embeddings: usize, embedding_dim: usize, rng: &mut Rng) -> Result<Self> {
        if num_embeddings == 0 || embedding_dim == 0 {
            return Err(NnError::InvalidConfig {
                layer: "Embedding",
                field: "size",
                reason: format!("{num_embeddings} x {embedding_dim} must be positive"),
            });
        }
        Ok(Embedding {
            weight: Var::parameter(Tensor::rand_normal(
                &[num_embeddings, embedding_dim],
                0.0,
                1.0,
                rng,
            )),
            training: true,
        })
    }

    /// A table with the given weight `[num, dim]`.
    pub fn from_tensor(weight: Tensor) -> Result<Self> {
        if weight.rank() != 2 {
            return Err(NnError::InvalidConfig {
                layer: "Embedding",
                field: "weight",
                reason: format!("must be [num, dim], got {:?}", weight.shape()),
            });
        }
        Ok(Embedding {
            weight: Var::parameter(weight),
            training: true,
        })
    }

    /// Looks up `indices` (row-major, of shape `shape`): output `[shape.., dim]`.
    pub fn lookup(&self, indices: &[usize], shape: &[usize]) -> Result<Var> {
        let w = self.weight.value();
        let (num, dim) = (w.shape()[0], w.shape()[1]);
        if shape.iter().product::<usize>() != indices.len() {
            return Err(NnError::InputShape {
                layer: "Embedding",
                expected: format!("{} indices", shape.iter().product::<usize>()),
                found: vec![indices.len()],
            });
        }
        if let Some((pos, &bad)) = indices.iter().enumerate().find(|(_, &i)| i >= num) {
            return Err(NnError::InvalidTarget {
                op: "Embedding",
                reason: format!(
                    "index {bad} at position {pos} is out of range for {num} embeddings"
                ),
            });
        }
        let wc = w.contiguous();
        let ws = wc.as_slice().expect("contiguous");
        let mut out = Vec::with_capacity(indices.len() * dim);
        for &i in indices {
            out.extend_from_slice(&ws[i * dim..(i + 1) * dim]);
        }
        let mut oshape = shape.to_vec();
        oshape.push(dim);
        let value = Tensor::from_vec(out, &oshape)?;
        Ok(Var::from_op(
            value,
            std::slice::from_ref(&self.weight),
            Box::new(EmbeddingBackward {
                indices: indices.to_vec(),
                num,
                dim,
            }),
        ))
    }
}

impl Module for Embedding {
    /// `x` holds integer-valued indices (as f32).
    fn forward(&self, x: &Var) -> Result<Var> {
        let t = x.value();
        let mut idx = Vec::with_capacity(t.len());
        for (pos, v) in t.to_vec().into_iter().enumerate() {
            if v < 0.0 || v.fract() != 0.0 || !v.is_finite() {
                return Err(NnError::InvalidTarget {
                    op: "Embedding",
                    reason: format!(
                        "value {v} at position {pos} is not a non-negative integer index"
                    ),
                });
            }
            idx.push(v as usize);
        }
        self.lookup(&idx, t.shape())
    }

    fn named_parameters(&self) -> Vec<(String, Var)> {
        vec![("weight".into(), self.weight.clone())]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        "Embedding"
    }
}
