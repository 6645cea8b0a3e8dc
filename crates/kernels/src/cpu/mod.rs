//! The host's kernels: the loops every CPU primitive runs, vectorized and threaded (rayon).
//! Callers outside this crate reach them through the device-dispatching primitives
//! ([`crate::conv`], ...); the generic elementwise, reduce and gemm loops are also public for
//! the operators whose kernels have not moved behind a primitive yet.

pub mod batch_matmul;
pub mod clip;
pub mod conv;
pub mod copy;
pub mod elementwise;
pub mod gemm;
pub mod im2col;
pub mod in_place;
pub mod init;
pub mod linear;
pub mod random;
pub mod reduce;
pub mod reduce_axes;
pub mod reduce_to;
pub mod select;
pub mod shuffle;
pub mod vmath;
pub mod zip_grad;
