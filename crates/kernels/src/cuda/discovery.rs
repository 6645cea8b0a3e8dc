//! Finding the driver and the GPUs, once per process, without ever panicking.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

use cudarc::driver::{result, sys, CudaContext};
use rmx_engine::Context;

use crate::error::{KernelError, KernelResult};

/// The driver's state as first found: the GPU count, or why there is no usable driver.
fn driver() -> &'static Result<usize, String> {
    static DRIVER: OnceLock<Result<usize, String>> = OnceLock::new();
    DRIVER.get_or_init(|| guarded(probe).and_then(|r| r))
}

fn probe() -> Result<usize, String> {
    // The driver comes with the system, never from a wheel: the wheels' libraries are loaded
    // (`libs::preload`) where they are first needed, not to count devices.
    // SAFETY: only tries to open the library by its usual names.
    if !unsafe { sys::is_culib_present() } {
        return Err("no CUDA driver was found (libcuda.so could not be loaded)".into());
    }
    result::init().map_err(|e| format!("the CUDA driver failed to initialize: {e}"))?;
    let n = result::device::get_count().map_err(|e| format!("the CUDA driver could not count devices: {e}"))?;
    Ok(n.max(0) as usize)
}

/// Runs `f`, turning a cudarc panic (a library without a symbol it binds) into an error.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let detail = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
        format!("the CUDA library is incompatible: {}", detail.unwrap_or_default())
    })
}

/// Number of GPUs the driver reports; 0 without a driver (`mx.context.num_gpus()`).
pub fn device_count() -> usize {
    driver().as_ref().map_or(0, |n| *n)
}

/// `Ok` when `ctx` names a GPU that exists, else the reason it cannot be used.
pub fn check(ctx: Context) -> KernelResult<()> {
    match driver() {
        Err(message) => Err(KernelError::Device { ctx, message: message.clone() }),
        Ok(n) if ctx.ordinal as usize >= *n => Err(KernelError::Device { ctx, message: format!("the driver reports {n} GPU(s)") }),
        Ok(_) => Ok(()),
    }
}

/// The primary context of GPU `ctx`, made once and shared (cudarc retains it).
pub(crate) fn context(ctx: Context) -> KernelResult<Arc<CudaContext>> {
    check(ctx)?;
    static CONTEXTS: OnceLock<std::sync::Mutex<Vec<Option<Arc<CudaContext>>>>> = OnceLock::new();
    let mut all = CONTEXTS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let i = ctx.ordinal as usize;
    if all.len() <= i {
        all.resize(i + 1, None);
    }
    if let Some(c) = &all[i] {
        return Ok(c.clone());
    }
    let made = guarded(|| CudaContext::new(i))
        .and_then(|r| r.map_err(|e| format!("could not create a context: {e}")))
        .map_err(|message| KernelError::Device { ctx, message })?;
    all[i] = Some(made.clone());
    Ok(made)
}

/// `(free, total)` bytes of GPU `ctx` (`mx.context.gpu_memory_info`).
pub fn memory_info(ctx: Context) -> KernelResult<(usize, usize)> {
    let c = context(ctx)?;
    c.mem_get_info().map_err(|e| KernelError::Device { ctx, message: format!("cuMemGetInfo failed: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a machine without a driver (CI), GPUs are counted as none and refused with the reason.
    #[test]
    fn discovery_never_panics() {
        let n = device_count();
        let err = check(Context::gpu(n as u32)).unwrap_err();
        assert!(matches!(err, KernelError::Device { .. }), "{err}");
    }
}
