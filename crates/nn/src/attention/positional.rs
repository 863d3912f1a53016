//! Learned positional embeddings (BERT's `position_embeddings`, GPT-2's `wpe`).

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::module::Module;

/// A learned table of `max_len` position vectors of size `d`, added to a sequence:
/// position `offset + i` goes to the `i`-th element (the offset is the number of tokens
/// already decoded when generating with a key/value cache). Initialised N(0, 1) like an
/// `Embedding`; parameter name `weight` (`[max_len, d]`).
#[derive(Debug)]
pub struct PositionalEmbedding {
    /// `[max_len, d]`.
    pub weight: Var,
    batch_first: bool,
    training: bool,
}

impl PositionalEmbedding {
    /// A fresh table for inputs `[B, L, d]` (`batch_first`) or `[L, B, d]`.
    pub fn new(max_len: usize, d: usize, batch_first: bool, rng: &mut Rng) -> Result<Self> {
        if max_len == 0 || d == 0 {
            return Err(NnError::InvalidConfig {
                layer: "PositionalEmbedding",
                field: "size",
                reason: format!("{max_len} x {d} must be positive"),
            });
        }
        Self::from_tensor(
            Tensor::rand_normal(&[max_len, d], 0.0, 1.0, rng),
            batch_first,
        )
    }

    /// A table with the given weight `[max_len, d]`.
    pub fn from_tensor(weight: Tensor, batch_first: bool) -> Result<Self> {
        if weight.rank() != 2 || weight.is_empty() {
            return Err(NnError::InvalidConfig {
                layer: "PositionalEmbedding",
                field: "weight",
                reason: format!("must be a non-empty [max_len, d], got {:?}", weight.shape()),
            });
        }
        Ok(PositionalEmbedding {
            weight: Var::parameter(weight),
            batch_first,
            training: true,
        })
    }

    /// Number of positions in the table.
    pub fn max_len(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The vectors of positions `offset .. offset + len`, `[len, d]` (differentiable).
    pub fn positions(&self, offset: usize, len: usize) -> Result<Var> {
        if offset + len > self.max_len() {
            return Err(NnError::InputShape {
                layer: "PositionalEmbedding",
                expected: format!(
                    "positions {offset}..{} within the table's {}",
                    offset + len,
                    self.max_len()
                ),
                found: vec![offset + len],
            });
        }
        Ok(self.weight.narrow(0, offset, len)?)
    }

    /// `x` plus the vectors of positions `offset ..`: `x` is `[B, L, d]`, `[L, B, d]` or
    /// unbatched `[L, d]`.
    pub fn forward_offset(&self, x: &Var, offset: usize) -> Result<Var> {
        let s = x.shape();
        let d = self.weight.shape()[1];
        if !(2..=3).contains(&s.len()) || s[s.len() - 1] != d {
            return Err(NnError::InputShape {
                layer: "PositionalEmbedding",
                expected: format!("[B, L, {d}], [L, B, {d}] or [L, {d}]"),
                found: s,
            });
        }
        let seq_first3 = s.len() == 3 && !self.batch_first;
        let len = if s.len() == 3 && self.batch_first {
            s[1]
        } else {
            s[0]
        };
        let p = self.positions(offset, len)?;
        let p = if seq_first3 { p.unsqueeze(1)? } else { p };
        Ok(x.add(&p)?)
    }
}

impl Module for PositionalEmbedding {
    /// `x` plus positions `0 ..`.
    fn forward(&self, x: &Var) -> Result<Var> {
        self.forward_offset(x, 0)
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
        "PositionalEmbedding"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_layouts_and_errors() {
        let w = Tensor::from_vec((0..8).map(|v| v as f32).collect(), &[4, 2]).unwrap();
        let bf = PositionalEmbedding::from_tensor(w.clone(), true).unwrap();
        let x = Var::constant(Tensor::zeros(&[2, 2, 2]));
        let y = bf.forward_offset(&x, 1).unwrap().value().to_vec();
        assert_eq!(y, vec![2., 3., 4., 5., 2., 3., 4., 5.]);
        let sf = PositionalEmbedding::from_tensor(w, false).unwrap();
        let y = sf.forward_offset(&x, 2).unwrap().value().to_vec();
        assert_eq!(y, vec![4., 5., 4., 5., 6., 7., 6., 7.]);
        assert!(bf.forward_offset(&x, 3).is_err());
        let bad = Var::constant(Tensor::zeros(&[2, 2, 3]));
        assert!(bf.forward(&bad).is_err());
        let p = Var::parameter(Tensor::zeros(&[3, 2]));
        let pe = PositionalEmbedding::from_tensor(Tensor::zeros(&[4, 2]), true).unwrap();
        pe.forward_offset(&p, 1)
            .unwrap()
            .sum_all()
            .backward()
            .unwrap();
        assert_eq!(
            pe.weight.grad().unwrap().to_vec(),
            vec![0., 0., 1., 1., 1., 1., 1., 1.]
        );
    }
}
