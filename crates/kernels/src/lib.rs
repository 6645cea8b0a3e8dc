//! How rmx computes: element types ([`DType`], [`Element`] and the one dtype match,
//! [`with_dtype!`]), array geometry ([`Layout`]), device buffers ([`Storage`]) and the CPU
//! kernels. Operators (in `rmx-graph`) own the math and pass it in as zero-sized [`UnaryFn`] /
//! [`BinaryFn`] / [`ReduceFn`] types; this crate owns the loops, vectorization and threading.
//!
//! ```
//! use rmx_kernels::{elementwise, BinaryFn};
//! struct Add;
//! impl BinaryFn for Add {
//!     fn f32(a: f32, b: f32) -> f32 { a + b }
//!     fn f64(a: f64, b: f64) -> f64 { a + b }
//! }
//! let mut y = [0f32; 3];
//! elementwise::zip::<f32, Add>(&[1., 2., 3.], &[10., 20., 30.], &mut y);
//! assert_eq!(y, [11., 22., 33.]);
//! ```
//!
//! CUDA buffers and kernels arrive behind a `cuda` feature with the GPU issue.

pub mod copy;
mod dtype;
pub mod elementwise;
pub mod gemm;
mod layout;
pub mod random;
pub mod reduce;
mod storage;
pub mod vmath;

pub use dtype::{Bool, BinaryFn, Class, DType, Element, UnaryFn};
pub use half::f16;
pub use layout::{broadcast_shapes, collapse, contiguous_strides, numel, Layout, Shape, Strides};
pub use reduce::ReduceFn;
pub use rmx_engine::Context;
pub use storage::Storage;
pub use vmath::VecMath;
