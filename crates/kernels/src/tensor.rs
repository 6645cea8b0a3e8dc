//! `Tensor`: a dense row-major view of one device buffer as a kernel sees it — where it starts
//! in its device's address space, its shape, dtype and device. Valid for the duration of one
//! pushed computation, during which the engine guarantees exclusive access to what the push
//! writes and no writer beside what it reads.
//!
//! Host kernels read the elements as slices ([`Tensor::data`]); the primitives in this crate
//! dispatch on [`Tensor::ctx`], so an operator never needs to know which device it runs on.
//! The caller that builds tensors for one computation (`push_compute` in `rmx-graph`) makes sure
//! that no two of them overlap unless they are the very same buffer given as an operator's
//! in-place pair (see [`Tensor::data_unless_in`]).

use rmx_engine::Context;

use crate::{DType, Element, Shape};

pub struct Tensor {
    ptr: *mut u8,
    pub shape: Shape,
    pub dtype: DType,
    ctx: Context,
}

impl Tensor {
    /// # Safety
    /// `ptr` must address `numel(shape)` elements of `dtype` in `ctx`'s memory, accessible as
    /// the module doc says for as long as the tensor is used.
    pub unsafe fn new(ptr: *mut u8, shape: Shape, dtype: DType, ctx: Context) -> Self {
        Tensor { ptr, shape, dtype, ctx }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The first element in the device's address space.
    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn ctx(&self) -> Context {
        self.ctx
    }

    /// Host memory (a CPU kernel may read it as slices).
    pub fn is_host(&self) -> bool {
        self.ctx.kind.is_host()
    }

    fn check<T: Element>(&self) {
        // Broken invariants, not user errors: inference chose the dtype, dispatch the device.
        assert_eq!(T::DTYPE, self.dtype, "kernel accessed a {} tensor as {}", self.dtype, T::DTYPE);
        assert!(self.is_host(), "a host kernel was given a tensor on {}", self.ctx);
    }

    /// The elements, typed. Panics (a broken invariant) if `T` is not the tensor's dtype or the
    /// tensor is not in host memory.
    pub fn data<T: Element>(&self) -> &[T] {
        self.check::<T>();
        // SAFETY: see the module doc.
        unsafe { std::slice::from_raw_parts(self.ptr as *const T, self.numel()) }
    }

    pub fn data_mut<T: Element>(&mut self) -> &mut [T] {
        self.check::<T>();
        // SAFETY: see the module doc; `&mut self` makes the borrow unique within the kernel.
        unsafe { std::slice::from_raw_parts_mut(self.ptr as *mut T, self.numel()) }
    }

    /// The elements, or `None` when this input is `out` itself: the memory planner gave the
    /// output this input's buffer (an `inplace_option` pair), and the kernel must run in place.
    pub fn data_unless_in<T: Element>(&self, out: &Tensor) -> Option<&[T]> {
        (self.ptr != out.ptr).then(|| self.data::<T>())
    }

    /// Writable elements of an input the operator lists as mutated (BatchNorm's moving
    /// statistics, an optimizer's state): the push holds that input's variable as a write.
    ///
    /// # Safety
    /// No other borrow of this tensor's elements may be alive while the returned slice is; the
    /// caller that built the tensors gave each mutated input a buffer no other tensor overlaps.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn mutated<T: Element>(&self) -> &mut [T] {
        self.check::<T>();
        std::slice::from_raw_parts_mut(self.ptr as *mut T, self.numel())
    }
}
