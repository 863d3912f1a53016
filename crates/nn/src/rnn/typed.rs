//! [`Rnn`], [`Lstm`] and [`Gru`]: one type per cell kind over the shared [`Recurrent`]
//! stack (same fused kernel, same parameters), so the kind is fixed by the type and a
//! constructor of another kind does not exist on it:
//!
//! ```compile_fail
//! let _ = glassbox_nn::Lstm::gru(3, 4, 1, &mut glassbox_tensor::rng::Rng::new(0));
//! ```

use std::ops::Deref;

use glassbox_autograd::Var;
use glassbox_tensor::rng::Rng;

use super::{CellKind, Recurrent};
use crate::error::Result;
use crate::module::Module;

macro_rules! recurrent_type {
    ($(#[$doc:meta])* $t:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $t(Recurrent);

        impl $t {
            /// `num_layers` stacked layers with biases and PyTorch's initialisation
            /// (`U(−1/√H, 1/√H)`), batch first.
            pub fn new(
                input_size: usize,
                hidden_size: usize,
                num_layers: usize,
                rng: &mut Rng,
            ) -> Result<Self> {
                Self::with_bias(input_size, hidden_size, num_layers, true, rng)
            }

            /// [`Self::new`] with `bias = false` fixing both biases at zero (they are then
            /// not parameters).
            pub fn with_bias(
                input_size: usize,
                hidden_size: usize,
                num_layers: usize,
                bias: bool,
                rng: &mut Rng,
            ) -> Result<Self> {
                Recurrent::new($kind, input_size, hidden_size, num_layers, bias, rng).map($t)
            }

            /// The general stack (for code that handles every kind alike).
            pub fn into_inner(self) -> Recurrent {
                self.0
            }
        }

        /// Read access to the stack: `forward_with_state`, `hidden_size`, `num_layers`.
        impl Deref for $t {
            type Target = Recurrent;
            fn deref(&self) -> &Recurrent {
                &self.0
            }
        }

        impl Module for $t {
            fn forward(&self, x: &Var) -> Result<Var> {
                self.0.forward(x)
            }

            fn named_parameters(&self) -> Vec<(String, Var)> {
                self.0.named_parameters()
            }

            fn set_training(&mut self, training: bool) {
                self.0.set_training(training)
            }

            fn is_training(&self) -> bool {
                self.0.is_training()
            }

            fn type_name(&self) -> &'static str {
                self.0.type_name()
            }
        }
    };
}

recurrent_type!(
    /// A tanh RNN (`nn.RNN(nonlinearity='tanh', batch_first=True)`).
    Rnn,
    CellKind::Tanh
);
recurrent_type!(
    /// An LSTM (`nn.LSTM(batch_first=True)`), gates `i, f, g, o`.
    ///
    /// ```
    /// use glassbox_nn::{Lstm, Module};
    /// let lstm = Lstm::new(3, 4, 2, &mut glassbox_tensor::rng::Rng::new(0))?;
    /// assert_eq!((lstm.type_name(), lstm.num_layers()), ("LSTM", 2));
    /// # Ok::<(), glassbox_nn::NnError>(())
    /// ```
    Lstm,
    CellKind::Lstm
);
recurrent_type!(
    /// A GRU (`nn.GRU(batch_first=True)`), gates `r, z, n`.
    Gru,
    CellKind::Gru
);
