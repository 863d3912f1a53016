//! [`EmbeddingModel`]: a text model split at the layer whose output gradient methods
//! perturb (usually the embeddings), seen only through that layer.

use glassbox_autograd::Var;
use glassbox_tensor::Tensor;

use crate::error::PredictError;

/// A text model split at one layer: the layer's output for a token sequence, and the
/// model's outputs computed from (perturbed) values of that output.
///
/// This is all Layer Integrated Gradients needs ([`layer_integrated_gradients`]): the path
/// runs from the layer's output on the baseline ids to its output on the input ids, and
/// gradients are taken with respect to it. `glassbox` implements it for Hugging Face BERT
/// classifiers (the perturbed layer is `bert.embeddings`' output: word + position +
/// token-type embeddings after LayerNorm) and GPT-2 (`transformer.wte`'s output, before the
/// position embeddings are added; the outputs are the next token's log-probabilities).
///
/// Errors are the model's own ([`PredictError`]: any error converts with `?`); the methods
/// report them as [`ExplainError::Model`](crate::ExplainError::Model) naming the method.
///
/// For speed, an implementation should keep its parameters out of the graph
/// (`requires_grad` off): the methods only need gradients with respect to the layer's
/// output, and every parameter that requires a gradient costs a weight-gradient product
/// per pass.
///
/// [`layer_integrated_gradients`]: super::layer_integrated_gradients
pub trait EmbeddingModel: Sync {
    /// The perturbed layer's name, as Captum would name the module (`bert.embeddings`).
    fn layer_name(&self) -> &str;

    /// Width of the layer's output per token.
    fn hidden_size(&self) -> usize;

    /// The layer's output for the sequence `ids`: `[ids.len(), hidden_size]`, without
    /// recording a graph.
    fn embed(&self, ids: &[u32]) -> Result<Tensor, PredictError>;

    /// The explained outputs `[rows, outputs]` (class logits, next-token log-probabilities,
    /// …) computed from `emb` (`[rows, ids.len(), hidden_size]`): every row stands for the
    /// sequence `ids` with the layer's output replaced by that row. Records a graph when
    /// `emb` requires a gradient (and, like any op, not inside `no_grad`).
    fn forward_from_embeddings(&self, emb: &Var, ids: &[u32]) -> Result<Var, PredictError>;

    /// Bytes a row of `seq_len` tokens takes in a recorded forward and backward pass
    /// (activations and their gradients), for
    /// [`BatchCap::Bytes`](crate::gradient::BatchCap::Bytes). The default guesses 64 values
    /// per entry of the layer's output (4 bytes each); implementations that know their
    /// architecture give a better estimate.
    fn bytes_per_row(&self, seq_len: usize) -> usize {
        seq_len * self.hidden_size() * 64 * 4
    }
}

impl<M: EmbeddingModel + ?Sized> EmbeddingModel for &M {
    fn layer_name(&self) -> &str {
        (**self).layer_name()
    }
    fn hidden_size(&self) -> usize {
        (**self).hidden_size()
    }
    fn embed(&self, ids: &[u32]) -> Result<Tensor, PredictError> {
        (**self).embed(ids)
    }
    fn forward_from_embeddings(&self, emb: &Var, ids: &[u32]) -> Result<Var, PredictError> {
        (**self).forward_from_embeddings(emb, ids)
    }
    fn bytes_per_row(&self, seq_len: usize) -> usize {
        (**self).bytes_per_row(seq_len)
    }
}
