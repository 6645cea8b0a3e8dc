//! GPU memory through the pool: one [`Pool`] per GPU over the driver's allocator, made on the
//! GPU's first allocation with the policy of `RMX_GPU_MEM_POOL_*` (the config module).

use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{result, sys, CudaContext};
use rmx_engine::Context;

use super::discovery::context;
use crate::error::{KernelError, KernelResult};
use crate::pool::{Block, DeviceAllocError, DeviceMemory, Pool, PoolError, PoolStats};

/// The driver's allocator on one GPU.
pub struct CudaMemory {
    cuda: Arc<CudaContext>,
}

impl CudaMemory {
    pub(crate) fn cuda(&self) -> &Arc<CudaContext> {
        &self.cuda
    }
}

impl DeviceMemory for CudaMemory {
    type Ptr = sys::CUdeviceptr;

    fn allocate(&self, bytes: usize) -> Result<sys::CUdeviceptr, DeviceAllocError> {
        let failed = |what: &str, e: result::DriverError| match e.0 {
            sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY => DeviceAllocError::OutOfMemory,
            _ => DeviceAllocError::Failed(format!("{what} failed: {e}")),
        };
        self.cuda.bind_to_thread().map_err(|e| failed("binding the context", e))?;
        // SAFETY: the context is current on this thread; the pool never asks for zero bytes.
        unsafe { result::malloc_sync(bytes.max(1)) }.map_err(|e| failed("cuMemAlloc", e))
    }

    fn release(&self, ptr: sys::CUdeviceptr, _bytes: usize) {
        // A failure here (a dead context at exit) leaves nothing to free.
        if self.cuda.bind_to_thread().is_ok() {
            // SAFETY: allocated by `allocate` and given back once (the pool's contract).
            let _ = unsafe { result::free_sync(ptr) };
        }
    }

    fn memory_info(&self) -> Option<(usize, usize)> {
        self.cuda.mem_get_info().ok()
    }
}

type GpuPool = Arc<Pool<CudaMemory>>;

fn pools() -> std::sync::MutexGuard<'static, Vec<Option<GpuPool>>> {
    static POOLS: OnceLock<Mutex<Vec<Option<GpuPool>>>> = OnceLock::new();
    POOLS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner())
}

/// The pool of GPU `ctx` if it has allocated: asking about a GPU must not create its context
/// (hundreds of MiB of its memory).
fn existing(ctx: Context) -> Option<GpuPool> {
    pools().get(ctx.ordinal as usize).cloned().flatten()
}

/// The pool of GPU `ctx`, made on first use.
pub(crate) fn pool(ctx: Context) -> KernelResult<GpuPool> {
    let mut all = pools();
    let i = ctx.ordinal as usize;
    if let Some(Some(p)) = all.get(i) {
        return Ok(p.clone());
    }
    let cuda = context(ctx)?;
    if all.len() <= i {
        all.resize(i + 1, None);
    }
    let made = Arc::new(Pool::new(CudaMemory { cuda }, crate::config::gpu_pool()));
    all[i] = Some(made.clone());
    Ok(made)
}

/// A buffer of at least `bytes` bytes from GPU `ctx`'s pool.
pub(crate) fn allocate(ctx: Context, bytes: usize) -> KernelResult<(GpuPool, Block<sys::CUdeviceptr>)> {
    let pool = pool(ctx)?;
    let block = pool.allocate(bytes).map_err(|e| match e {
        PoolError::OutOfMemory { .. } | PoolError::TooLarge { .. } => KernelError::OutOfMemory { ctx, bytes, detail: format!(": {e}") },
        PoolError::Device(message) => KernelError::Device { ctx, message },
    })?;
    Ok((pool, block))
}

/// Gives GPU `ctx`'s kept buffers back to the driver (`Context.empty_cache()`); nothing to do
/// for a GPU that never allocated.
pub fn empty_cache(ctx: Context) -> KernelResult<()> {
    super::check(ctx)?;
    if let Some(p) = existing(ctx) {
        p.release_all();
    }
    Ok(())
}

/// What GPU `ctx`'s pool holds and has done (all zero for a GPU that never allocated).
pub fn pool_stats(ctx: Context) -> KernelResult<PoolStats> {
    super::check(ctx)?;
    Ok(existing(ctx).map(|p| p.stats()).unwrap_or_default())
}
