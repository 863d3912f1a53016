//! Tensor operations, one family per file.

pub mod attention;
pub mod binary;
pub mod fastmath;
#[cfg(target_arch = "x86_64")]
mod gemm_avx2;
mod gemm_into;
pub mod gemm_kernel;
pub mod index;
pub mod linear;
pub mod matmul;
pub mod norm;
pub mod operators;
pub mod reduce;
mod rowmath;
pub mod shape;
pub mod softmax;
pub mod unary;
