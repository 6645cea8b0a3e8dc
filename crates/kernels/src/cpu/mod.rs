//! The host's kernels: the loops every CPU primitive runs, vectorized and threaded (rayon).
//! Callers outside this crate reach them through the device-dispatching primitives
//! ([`crate::conv`], ...); the generic elementwise, reduce and gemm loops are also public for
//! the operators whose kernels have not moved behind a primitive yet.

pub mod batch_matmul;
pub mod batch_norm;
pub mod layer_norm;
pub mod clip;
pub mod conv;
pub mod conv_s1;
pub mod copy;
pub mod correlation;
pub mod dropout;
pub mod elementwise;
pub mod fused;
pub mod gather;
pub mod gemm;
pub mod im2col;
pub mod in_place;
pub mod index;
pub mod init;
pub mod leaky_relu;
pub mod linalg;
pub mod linalg_ops;
pub mod linear;
pub mod lrn;
pub mod make_loss;
pub mod ordering;
pub mod pad;
pub mod pdf;
pub mod pooling;
pub mod pooling2d;
pub mod random;
pub mod reduce;
pub mod reduce_axes;
pub mod reduce_to;
pub mod regression;
pub mod select;
pub mod shuffle;
pub mod simd;
pub mod softmax;
pub mod softmax_output;
pub mod spatial;
pub mod svm;
pub mod update;
pub mod upsampling;
pub mod winograd;
pub mod winograd_weight;
pub mod vmath;
pub mod zip_grad;
