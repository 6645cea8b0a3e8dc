//! `CudaBuffer`: GPU memory from the driver, zeroed at allocation, with blocking host copies.
//! The pooled allocator and stream-ordered copies replace the plain calls with the CUDA issue.

use std::sync::Arc;

use cudarc::driver::{result, sys, CudaContext};
use rmx_engine::Context;

use super::discovery::context;
use crate::error::{KernelError, KernelResult};

pub struct CudaBuffer {
    ptr: sys::CUdeviceptr,
    bytes: usize,
    ctx: Context,
    cuda: Arc<CudaContext>,
}

impl CudaBuffer {
    pub fn zeroed(bytes: usize, ctx: Context) -> KernelResult<Self> {
        let cuda = context(ctx)?;
        let fail = |what: &str, e: result::DriverError| match e.0 {
            sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY => KernelError::OutOfMemory { ctx, bytes },
            _ => KernelError::Device { ctx, message: format!("{what} failed: {e}") },
        };
        cuda.bind_to_thread().map_err(|e| fail("binding the context", e))?;
        // SAFETY: the context is current on this thread; the size is at least one byte.
        let ptr = unsafe { result::malloc_sync(bytes.max(1)) }.map_err(|e| fail("cuMemAlloc", e))?;
        // SAFETY: `ptr` addresses `bytes.max(1)` bytes just allocated.
        unsafe { result::memset_d8_sync(ptr, 0, bytes.max(1)) }.map_err(|e| fail("cuMemsetD8", e))?;
        Ok(CudaBuffer { ptr, bytes, ctx, cuda })
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn ctx(&self) -> Context {
        self.ctx
    }

    pub fn device_address(&self) -> u64 {
        self.ptr
    }

    fn device_err(&self, what: &str, e: result::DriverError) -> KernelError {
        KernelError::Device { ctx: self.ctx, message: format!("{what} failed: {e}") }
    }

    /// Copies `src` to byte `offset` of the buffer, blocking.
    pub fn write(&self, offset: usize, src: &[u8]) -> KernelResult<()> {
        assert!(offset.checked_add(src.len()).is_some_and(|e| e <= self.bytes), "copy past the end of a GPU buffer");
        self.cuda.bind_to_thread().map_err(|e| self.device_err("binding the context", e))?;
        // SAFETY: the range lies inside the allocation (asserted above).
        unsafe { result::memcpy_htod_sync(self.ptr + offset as u64, src) }.map_err(|e| self.device_err("cuMemcpyHtoD", e))
    }

    /// Copies bytes from `offset` into `dst`, blocking.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> KernelResult<()> {
        assert!(offset.checked_add(dst.len()).is_some_and(|e| e <= self.bytes), "copy past the end of a GPU buffer");
        self.cuda.bind_to_thread().map_err(|e| self.device_err("binding the context", e))?;
        // SAFETY: the range lies inside the allocation (asserted above).
        unsafe { result::memcpy_dtoh_sync(dst, self.ptr + offset as u64) }.map_err(|e| self.device_err("cuMemcpyDtoH", e))
    }
}

impl Drop for CudaBuffer {
    fn drop(&mut self) {
        // A failure here (a dead context at exit) leaves nothing to free.
        if self.cuda.bind_to_thread().is_ok() {
            // SAFETY: allocated by `malloc_sync` in `zeroed` and freed once.
            let _ = unsafe { result::free_sync(self.ptr) };
        }
    }
}
