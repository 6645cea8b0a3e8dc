//! `Storage`: a device buffer. CPU buffers of more than 256 bytes are 64-byte aligned so vector loads
//! never split a cache line at the start. Access is unchecked: the engine guarantees that a write to a buffer
//! never runs beside another access to it, which is the invariant every `unsafe` here relies on.

use std::alloc::{alloc_zeroed, dealloc, Layout as AllocLayout};
use std::ptr::NonNull;

use rmx_engine::Context;

/// Large buffers start on a cache line; small ones take the allocator's natural alignment, which
/// its fast path serves (aligned allocation is a slower path in most allocators).
const ALIGN: usize = 64;
const SMALL: usize = 256;

pub struct Storage {
    ptr: NonNull<u8>,
    bytes: usize,
    ctx: Context,
}

// SAFETY: the buffer is plain memory; concurrent access is ordered by the engine (module doc).
unsafe impl Send for Storage {}
unsafe impl Sync for Storage {}

impl Storage {
    /// A zero-filled host buffer of `bytes` bytes (the OS hands out zeroed pages cheaply).
    pub fn zeroed(bytes: usize, ctx: Context) -> Self {
        let layout = Self::layout(bytes);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Storage { ptr, bytes, ctx }
    }

    fn layout(bytes: usize) -> AllocLayout {
        let align = if bytes <= SMALL { 16 } else { ALIGN };
        AllocLayout::from_size_align(bytes.max(1), align).expect("allocation size overflows")
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn ctx(&self) -> Context {
        self.ctx
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// `len` elements of `T` from element `offset`.
    ///
    /// # Safety
    /// No write to those elements may run meanwhile (the engine's read set guarantees it), and
    /// they must lie inside the buffer.
    pub unsafe fn slice<T>(&self, offset: usize, len: usize) -> &[T] {
        debug_assert!((offset + len) * std::mem::size_of::<T>() <= self.bytes);
        std::slice::from_raw_parts((self.ptr.as_ptr() as *const T).add(offset), len)
    }

    /// `len` elements of `T` from element `offset`, writable.
    ///
    /// # Safety
    /// No other access to those elements may run meanwhile (the engine's write set guarantees
    /// it), and they must lie inside the buffer.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut<T>(&self, offset: usize, len: usize) -> &mut [T] {
        debug_assert!((offset + len) * std::mem::size_of::<T>() <= self.bytes);
        std::slice::from_raw_parts_mut((self.ptr.as_ptr() as *mut T).add(offset), len)
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with the same layout.
        unsafe { dealloc(self.ptr.as_ptr(), Self::layout(self.bytes)) }
    }
}
