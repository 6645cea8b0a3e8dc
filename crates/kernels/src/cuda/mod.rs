//! The CUDA device, through cudarc with dynamic loading: nothing from CUDA is needed to build, and
//! a machine without a driver runs everything else. This part is discovery
//! ([`device_count`], [`check`]) and device buffers ([`CudaBuffer`]) with host copies; the
//! kernels (cuBLAS, cuDNN, NVRTC-compiled elementwise) land beside the CPU ones, one module per
//! primitive, with the CUDA issue.
//!
//! cudarc panics when a library lacks a symbol it binds, and when no library is found; every
//! first touch of the driver therefore runs under `catch_unwind` and becomes a
//! [`KernelError::Device`], never a panic in the caller.

mod buffer;
mod discovery;

pub use buffer::CudaBuffer;
pub use discovery::{check, device_count, memory_info};
