//! `KernelError`: what can go wrong allocating a buffer or running a kernel on a device. Each
//! variant maps to one Python class in the binding crate's `errors.rs` (through `GraphError`).

use rmx_engine::Context;

use crate::DType;

#[derive(Debug, Clone, thiserror::Error)]
pub enum KernelError {
    /// The element count or byte size of a shape does not fit the address space.
    #[error("shape {shape:?} of {dtype} is too large: its size in bytes overflows")]
    SizeOverflow { shape: Vec<usize>, dtype: DType },
    /// The device refused an allocation; `detail` says what the memory pool tried (empty on
    /// the host).
    #[error("out of memory on {ctx}: could not allocate {bytes} bytes{detail}")]
    OutOfMemory { ctx: Context, bytes: usize, detail: String },
    /// The device cannot be used (no driver, no such ordinal, a driver call failed).
    #[error("{ctx} is not available: {message}")]
    Device { ctx: Context, message: String },
    /// A primitive was given a dtype it has no kernel for (inference should have refused it).
    #[error("{what} has no kernel for {dtype}")]
    DType { what: &'static str, dtype: DType },
    /// A primitive has no kernel for this device yet.
    #[error("{what} has no kernel for {ctx} yet")]
    Unsupported { what: &'static str, ctx: Context },
    /// An index outside its axis, found by a kernel reading the index values (`take` with
    /// `mode='raise'`); the engine keeps it for the next wait.
    #[error("{message}")]
    Index { message: String },
    /// A runtime-generated GPU kernel did not compile (NVRTC's log), or NVRTC is missing.
    #[error("the CUDA kernel {kernel} could not be compiled: {log}")]
    Compile { kernel: String, log: String },
    /// Values a computation cannot take (a matrix that is singular, or not positive definite),
    /// found when it runs.
    #[error("{0}")]
    Invalid(String),
}

pub type KernelResult<T> = std::result::Result<T, KernelError>;
