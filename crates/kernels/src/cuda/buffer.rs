//! `CudaBuffer`: GPU memory from the GPU's pool (`memory`), zeroed when handed out, with blocking
//! host copies. Stream-ordered copies replace the blocking ones with the CUDA engine work; until
//! then every use of a buffer has finished when it is dropped, so its memory is free to reuse.

use std::sync::Arc;

use cudarc::driver::{result, sys, CudaContext};
use rmx_engine::Context;

use super::memory::{allocate, CudaMemory};
use crate::error::{KernelError, KernelResult};
use crate::pool::{Block, Pool};

pub struct CudaBuffer {
    block: Block<sys::CUdeviceptr>,
    bytes: usize,
    ctx: Context,
    pool: Arc<Pool<CudaMemory>>,
}

impl CudaBuffer {
    pub fn zeroed(bytes: usize, ctx: Context) -> KernelResult<Self> {
        let (pool, block) = allocate(ctx, bytes)?;
        let buffer = CudaBuffer { block, bytes, ctx, pool };
        buffer.bind()?;
        // Only the requested bytes are ever read: the rest of a rounded block stays as it is.
        if bytes > 0 {
            // SAFETY: the block holds `block.bytes >= bytes` bytes.
            unsafe { result::memset_d8_sync(block.ptr, 0, bytes) }.map_err(|e| buffer.device_err("cuMemsetD8", e))?;
        }
        Ok(buffer)
    }

    fn cuda(&self) -> &Arc<CudaContext> {
        self.pool.memory().cuda()
    }

    fn bind(&self) -> KernelResult<()> {
        self.cuda().bind_to_thread().map_err(|e| self.device_err("binding the context", e))
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn ctx(&self) -> Context {
        self.ctx
    }

    pub fn device_address(&self) -> u64 {
        self.block.ptr
    }

    fn device_err(&self, what: &str, e: result::DriverError) -> KernelError {
        KernelError::Device { ctx: self.ctx, message: format!("{what} failed: {e}") }
    }

    /// Copies `src` to byte `offset` of the buffer, blocking.
    pub fn write(&self, offset: usize, src: &[u8]) -> KernelResult<()> {
        assert!(offset.checked_add(src.len()).is_some_and(|e| e <= self.bytes), "copy past the end of a GPU buffer");
        self.bind()?;
        // SAFETY: the range lies inside the allocation (asserted above).
        unsafe { result::memcpy_htod_sync(self.block.ptr + offset as u64, src) }.map_err(|e| self.device_err("cuMemcpyHtoD", e))
    }

    /// Copies bytes from `offset` into `dst`, blocking.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> KernelResult<()> {
        assert!(offset.checked_add(dst.len()).is_some_and(|e| e <= self.bytes), "copy past the end of a GPU buffer");
        self.bind()?;
        // SAFETY: the range lies inside the allocation (asserted above).
        unsafe { result::memcpy_dtoh_sync(dst, self.block.ptr + offset as u64) }.map_err(|e| self.device_err("cuMemcpyDtoH", e))
    }
}

impl Drop for CudaBuffer {
    fn drop(&mut self) {
        self.pool.free(self.block);
    }
}
