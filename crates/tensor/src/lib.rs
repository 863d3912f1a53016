//! # glassbox-tensor
//!
//! The f32 n-dimensional [`Tensor`] every other glassbox crate is built on: cheap to clone
//! (shared, copy-on-write storage over [`ndarray`]), NumPy broadcasting, reductions over any
//! axes, a fast GEMM-backed [`Tensor::matmul`], and convolution/pooling kernels with their
//! backward passes in [`conv`] and [`pool`].
//!
//! Fallible operations are `try_*` and return [`Result`]; the plain name (and the `+ - * /`
//! operators) panics with the same message. Errors name the op and the shapes:
//!
//! ```
//! use glassbox_tensor::{Tensor, rng::Rng};
//!
//! let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
//! let b = Tensor::ones(&[3]);
//! let c = &a + &b;                            // broadcasts [2, 3] + [3]
//! assert_eq!(c.to_vec(), vec![2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
//! assert_eq!(a.sum_axes(&[1], false).to_vec(), vec![6.0, 15.0]);
//!
//! let w = Tensor::kaiming_uniform(&[4, 3], 0.0, &mut Rng::new(0));
//! let y = a.matmul(&w.t());                   // [2, 3] x [3, 4], no copy of w
//! assert_eq!(y.shape(), &[2, 4]);
//!
//! let err = a.try_matmul(&Tensor::zeros(&[4, 5])).unwrap_err();
//! assert_eq!(err.to_string(), "matmul: lhs [2, 3] and rhs [4, 5]: inner dimensions 3 and 4 differ");
//! # Ok::<(), glassbox_tensor::TensorError>(())
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod conv;
mod display;
mod error;
mod macros;
pub mod ops;
pub mod parallel;
pub mod pool;
pub mod rng;
mod strided;
mod tensor;

pub use error::{Result, TensorError};
pub use ops::shape::broadcast_shapes;
pub use parallel::{MATMUL_PARALLEL_FLOPS, PARALLEL_THRESHOLD};
pub use tensor::Tensor;
