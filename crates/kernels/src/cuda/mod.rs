//! The CUDA device, through cudarc with dynamic loading: nothing from CUDA is needed to build, and
//! a machine without a driver runs everything else. Here so far: discovery ([`device_count`],
//! [`check`]), device buffers ([`CudaBuffer`], from each GPU's [`crate::pool::Pool`]) with host copies, where the libraries are found
//! ([`libs`]: the pip wheels' folders), and the runtime-compiled kernels' sources ([`source`],
//! made from the same function types as the CPU loops) with their compiler ([`nvrtc`]) and the
//! compiled kernels kept in memory and on disk ([`cubin_cache`]).
//!
//! cudarc panics when a library lacks a symbol it binds, and when no library is found; every
//! first touch of a CUDA library therefore runs under `catch_unwind` and becomes a
//! [`KernelError::Device`](crate::KernelError) or `Compile` error, never a panic in the caller.

mod buffer;
pub mod cubin_cache;
mod discovery;
pub mod libs;
mod memory;
pub mod nvrtc;
pub mod source;

pub use buffer::CudaBuffer;
pub use discovery::{check, device_count, memory_info};
pub use memory::{empty_cache, pool_stats};
