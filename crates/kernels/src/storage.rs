//! `Storage`: one device buffer, per device: host memory or (from the CUDA issue on) GPU memory.
//! Kernels never see a `Storage`; they see [`crate::Tensor`] views of one, and the primitives
//! dispatch on the view's device. Access is unchecked: the engine guarantees that a write to a
//! buffer never runs beside another access to it, which is the invariant every `unsafe` relies on.
//!
//! Sizes are checked here once ([`checked_bytes`]) so that no product of a user's shape can wrap,
//! and allocations fail with [`KernelError::OutOfMemory`] rather than aborting the process.

use std::alloc::{alloc_zeroed, dealloc, Layout as AllocLayout};
use std::ptr::NonNull;

use rmx_engine::{Context, DeviceKind};

use crate::cuda::CudaBuffer;
use crate::error::{KernelError, KernelResult};
use crate::DType;

/// Large buffers start on a cache line; small ones take the allocator's natural alignment, which
/// its fast path serves (aligned allocation is a slower path in most allocators).
const ALIGN: usize = 64;
const SMALL: usize = 256;

/// Bytes of a dense array of `shape` and `dtype`, or `SizeOverflow` when the element count or
/// the byte size does not fit an `isize` (Rust's limit for one allocation).
pub fn checked_bytes(shape: &[usize], dtype: DType) -> KernelResult<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_mul(dtype.size()))
        .filter(|&b| b <= isize::MAX as usize - ALIGN)
        .ok_or_else(|| KernelError::SizeOverflow { shape: shape.to_vec(), dtype })
}

/// A buffer on one device.
pub enum Storage {
    Host(HostBuffer),
    Cuda(CudaBuffer),
}

impl Storage {
    /// A zero-filled buffer of `bytes` bytes on `ctx`.
    pub fn zeroed(bytes: usize, ctx: Context) -> KernelResult<Self> {
        match ctx.kind {
            DeviceKind::Gpu => Ok(Storage::Cuda(CudaBuffer::zeroed(bytes, ctx)?)),
            _ => Ok(Storage::Host(HostBuffer::zeroed(bytes, ctx)?)),
        }
    }

    pub fn bytes(&self) -> usize {
        match self {
            Storage::Host(b) => b.bytes,
            Storage::Cuda(b) => b.bytes(),
        }
    }

    pub fn ctx(&self) -> Context {
        match self {
            Storage::Host(b) => b.ctx,
            Storage::Cuda(b) => b.ctx(),
        }
    }

    /// Host memory another library owns, shared without a copy (DLPack): `release` runs once,
    /// when the last array over it is gone.
    ///
    /// # Safety
    /// `ptr` addresses `bytes` bytes of host memory that stay valid and are accessed by nobody
    /// else while rmx computes on them, until `release` runs.
    pub unsafe fn external_host(ptr: NonNull<u8>, bytes: usize, ctx: Context, release: Box<dyn FnOnce() + Send>) -> Self {
        Storage::Host(HostBuffer { ptr, bytes, ctx, release: Some(release) })
    }

    /// The buffer's first byte in its device's address space (a host pointer for host memory, a
    /// device address for GPU memory): what a [`crate::Tensor`] view is built from.
    pub fn base(&self) -> *mut u8 {
        match self {
            Storage::Host(b) => b.ptr.as_ptr(),
            Storage::Cuda(b) => b.device_address() as *mut u8,
        }
    }

    /// The host buffer, or `None` for device memory.
    pub fn host(&self) -> Option<&HostBuffer> {
        match self {
            Storage::Host(b) => Some(b),
            Storage::Cuda(_) => None,
        }
    }
}

/// Host memory: zeroed at allocation (the OS hands out zeroed pages cheaply), or another
/// library's memory shared with rmx (DLPack), handed back through `release` when dropped.
pub struct HostBuffer {
    ptr: NonNull<u8>,
    bytes: usize,
    ctx: Context,
    release: Option<Box<dyn FnOnce() + Send>>,
}

// SAFETY: the buffer is plain memory; concurrent access is ordered by the engine (module doc).
unsafe impl Send for HostBuffer {}
unsafe impl Sync for HostBuffer {}

/// The machine's memory (RAM plus swap) in bytes, read once; `None` where it cannot be read.
fn machine_bytes() -> Option<usize> {
    static TOTAL: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *TOTAL.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kib = |key: &str| info.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse::<usize>().ok();
        Some(kib("MemTotal:")?.saturating_add(kib("SwapTotal:").unwrap_or(0)).saturating_mul(1024))
    })
}

impl HostBuffer {
    fn zeroed(bytes: usize, ctx: Context) -> KernelResult<Self> {
        // Allocators reserve address space lazily (mimalloc, Linux's overcommit), so a buffer no
        // memory of this machine could ever back would be granted now and end the process
        // later, in the OOM killer. Refuse it here, as Linux's heuristic overcommit does.
        if machine_bytes().is_some_and(|total| bytes > total) {
            return Err(KernelError::OutOfMemory { ctx, bytes, detail: String::new() });
        }
        let layout = Self::layout(bytes).ok_or_else(|| KernelError::OutOfMemory { ctx, bytes, detail: String::new() })?;
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or_else(|| KernelError::OutOfMemory { ctx, bytes, detail: String::new() })?;
        Ok(HostBuffer { ptr, bytes, ctx, release: None })
    }

    fn layout(bytes: usize) -> Option<AllocLayout> {
        let align = if bytes <= SMALL { 16 } else { ALIGN };
        AllocLayout::from_size_align(bytes.max(1), align).ok()
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// `len` elements of `T` from element `offset`.
    ///
    /// # Safety
    /// No write to those elements may run meanwhile (the engine's read set guarantees it).
    pub unsafe fn slice<T>(&self, offset: usize, len: usize) -> &[T] {
        assert!(offset.checked_add(len).and_then(|e| e.checked_mul(std::mem::size_of::<T>())).is_some_and(|e| e <= self.bytes), "slice past the end of its buffer");
        std::slice::from_raw_parts((self.ptr.as_ptr() as *const T).add(offset), len)
    }
}

impl Drop for HostBuffer {
    fn drop(&mut self) {
        match self.release.take() {
            Some(release) => release(),
            // SAFETY: allocated in `zeroed` with the same layout, which was valid then.
            None => unsafe { dealloc(self.ptr.as_ptr(), Self::layout(self.bytes).expect("valid at allocation")) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked_products() {
        assert_eq!(checked_bytes(&[2, 3], DType::F64).unwrap(), 48);
        assert!(checked_bytes(&[1 << 62], DType::F32).is_err());
        assert!(checked_bytes(&[1 << 32, 1 << 32], DType::U8).is_err());
        assert_eq!(checked_bytes(&[0, usize::MAX], DType::F32).unwrap(), 0);
    }

    #[test]
    fn a_refused_allocation_is_an_error() {
        // 128 TiB: more than any machine's memory and x86-64's user address space.
        let r = Storage::zeroed(1 << 47, Context::cpu(0));
        assert!(matches!(r, Err(KernelError::OutOfMemory { .. })));
    }
}
