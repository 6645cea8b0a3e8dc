//! How rmx computes: `DType` and the one dtype dispatch, `Shape`, `Storage` (CPU buffers, CUDA
//! buffers behind the `cuda` feature), pooled allocators per context, and the kernels themselves
//! (gemm, convolution, pooling, normalization, elementwise, broadcast and reduction), CPU first.
//!
//! It knows the engine crate (for `Context`) and nothing above it. The NDArray issue fills it.

pub use rmx_engine::Context;
