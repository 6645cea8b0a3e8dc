//! How rmx computes: element types ([`DType`], [`Element`] and the one dtype match,
//! [`with_dtype!`]), array geometry ([`Layout`]), device buffers ([`Storage`], one variant per
//! device), the kernel's view of one ([`Tensor`]), and the primitives, which dispatch on the
//! tensors' device to a per-device module: [`cpu`] (the host's loops) or [`cuda`] (discovery and
//! buffers now; its kernels come with the CUDA issue). Operators (in `rmx-graph`) own the math and
//! pass it in as zero-sized [`UnaryFn`] / [`BinaryFn`] / [`ReduceFn`] types; this crate owns the
//! loops, vectorization and threading.
//!
//! ```
//! use rmx_kernels::{cpu::elementwise, BinaryFn};
//! struct Add;
//! impl BinaryFn for Add {
//!     const CUDA: &'static str = "a + b";
//!     fn f32(a: f32, b: f32) -> f32 { a + b }
//!     fn f64(a: f64, b: f64) -> f64 { a + b }
//! }
//! let mut y = [0f32; 3];
//! elementwise::zip::<f32, Add>(&[1., 2., 3.], &[10., 20., 30.], &mut y);
//! assert_eq!(y, [11., 22., 33.]);
//! ```

mod config;
mod dispatch;
mod dtype;
mod error;
mod float;
mod layout;
mod storage;
mod tensor;

pub mod batch_norm;
pub mod conv;
pub mod copy;
pub mod correlation;
pub mod cpu;
pub mod cuda;
pub mod dropout;
pub mod elementwise;
pub mod fused;
pub mod gather;
pub mod gemm;
pub mod index;
pub mod init;
pub mod layer_norm;
pub mod leaky_relu;
pub mod linalg;
pub mod lrn;
pub mod make_loss;
pub mod ordering;
pub mod pad;
pub mod pdf;
pub mod pool;
pub mod pooling;
pub mod random;
pub mod reduce;
pub mod regression;
pub mod softmax;
pub mod softmax_output;
pub mod special;
pub mod spatial;
pub mod svm;
pub mod update;
pub mod upsampling;
pub mod window;

pub use dtype::{Bool, BinaryFn, Class, DType, Element, UnaryFn};
pub use error::{KernelError, KernelResult};
pub use float::Float;
pub use half::f16;
pub use layout::{broadcast_shapes, collapse, sums_to, contiguous_strides, numel, Layout, Shape, Strides};
pub use cpu::reduce::ReduceFn;
pub use cpu::vmath::VecMath;
pub use rmx_engine::Context;
pub use storage::{checked_bytes, HostBuffer, Storage};
pub use tensor::Tensor;
