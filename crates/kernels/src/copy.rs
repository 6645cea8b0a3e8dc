//! Copy primitives, dispatched by device: a dense copy, and strided copies between a dense tensor
//! and a [`Region`] of another (read a view out, write dense data into a slab). The shape
//! operators in `rmx-graph` (reshape, transpose, slice, tile, repeat, concat, split, ...) only
//! compute the region's geometry; these move the elements. They move bytes, so one kernel serves
//! every dtype; the host loops are `cpu::copy`. `broadcast` reads an array stretched into a larger
//! shape (stride 0 along its stretched axes).

use crate::dispatch::dispatch;
use crate::layout::{contiguous_strides, numel};
use crate::{cpu, with_dtype, Layout, Tensor};
use crate::KernelResult;

/// A strided view into a tensor: `shape` elements starting at element `offset`, stepping
/// `strides` elements per axis (negative and zero strides allowed: reversed and repeated reads).
#[derive(Clone, Copy, Debug)]
pub struct Region<'a> {
    pub shape: &'a [usize],
    pub strides: &'a [isize],
    pub offset: isize,
}

impl Region<'_> {
    pub fn numel(&self) -> usize {
        numel(self.shape)
    }

    /// Panics (a broken invariant: operators derive regions from the shapes inference checked)
    /// unless every element the region addresses lies inside `t`. This is what lets the
    /// primitives be safe functions over raw device addresses.
    fn check(&self, t: &Tensor, dense: &Tensor) {
        assert_eq!(self.shape.len(), self.strides.len(), "a region needs one stride per axis");
        assert_eq!(t.dtype, dense.dtype, "a strided copy between {} and {}", t.dtype, dense.dtype);
        assert_eq!(self.numel(), dense.numel(), "a region of {:?} against a dense tensor of {:?}", self.shape, dense.shape.as_slice());
        assert!(t.is_host() == dense.is_host(), "a strided copy between {} and {}", t.ctx(), dense.ctx());
        if self.numel() == 0 {
            return;
        }
        let (mut lo, mut hi) = (self.offset, self.offset);
        for (&n, &s) in self.shape.iter().zip(self.strides) {
            let span = (n as isize - 1) * s;
            if span < 0 {
                lo += span;
            } else {
                hi += span;
            }
        }
        assert!(lo >= 0 && (hi as usize) < t.numel(), "region {self:?} reaches outside a tensor of shape {:?}", t.shape.as_slice());
    }
}

/// `y = x`: the same elements, whatever the shapes (which must hold as many). Nothing to do when
/// `y` is `x`'s buffer (the memory planner put an in-place output over its input).
pub fn dense(x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    assert_eq!(x.dtype, y.dtype, "a copy from {} to {}", x.dtype, y.dtype);
    assert_eq!(x.numel(), y.numel(), "a copy from {:?} to {:?}", x.shape.as_slice(), y.shape.as_slice());
    dispatch!("copy", y, cpu => if x.ptr() != y.ptr() {
        assert!(x.is_host(), "a host copy from {}", x.ctx());
        // SAFETY: both hold `numel` elements of one dtype (asserted) in host memory, and
        // `push_compute` keeps distinct tensors of one computation apart (checked equal above).
        unsafe { cpu::copy::copy_dense(x.numel() * x.dtype.size(), x.ptr(), y.ptr()) }
    })
}

/// Dense `y` = the elements of `x` that `region` addresses, in the region's row-major order.
pub fn read_strided(x: &Tensor, region: &Region, y: &mut Tensor) -> KernelResult<()> {
    region.check(x, y);
    dispatch!("strided read", y, cpu => if region.numel() > 0 {
        let elem = x.dtype.size() as isize;
        // SAFETY: `check` keeps every addressed element inside `x`; `y` is dense with the
        // region's element count, and the computation's tensors do not overlap.
        unsafe {
            cpu::copy::copy_strided(elem as usize, region.shape, x.ptr().offset(region.offset * elem), region.strides, y.ptr(), &contiguous_strides(region.shape))
        }
    })
}

/// The elements of dense `x`, in `region`'s row-major order, written where `region` addresses
/// `y`; the rest of `y` is left as it is.
pub fn write_strided(x: &Tensor, y: &mut Tensor, region: &Region) -> KernelResult<()> {
    region.check(y, x);
    dispatch!("strided write", y, cpu => if region.numel() > 0 {
        let elem = x.dtype.size() as isize;
        // SAFETY: as in `read_strided`, with the roles of the dense and the strided side swapped.
        unsafe {
            cpu::copy::copy_strided(elem as usize, region.shape, x.ptr(), &contiguous_strides(region.shape), y.ptr().offset(region.offset * elem), region.strides)
        }
    })
}

/// `y = 0`: the background a scatter of a region writes into.
pub fn zero(y: &mut Tensor) -> KernelResult<()> {
    dispatch!("zero", y, cpu => with_dtype!(y.dtype, T => cpu::copy::zero::<T>(y.data_mut())))
}

/// `y = x` broadcast to `y`'s shape (NumPy's rules: `x`'s axes align with `y`'s last ones, and
/// each has `y`'s size or 1).
pub fn broadcast(x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    let shape = y.shape.clone();
    let strides = Layout::contiguous(&x.shape).broadcast_strides(&shape);
    debug_assert_eq!(x.dtype, y.dtype);
    dispatch!("broadcast", y, cpu => {
        assert!(x.is_host(), "a host copy was given a tensor on {}", x.ctx());
        // SAFETY: the strides stay inside `x` (they are derived from its shape, 0 along
        // stretched axes) and `y` is this computation's dense output of `shape`, distinct from `x`.
        unsafe { cpu::copy::copy_strided(x.dtype.size(), &shape, x.ptr(), &strides, y.ptr(), &contiguous_strides(&shape)) }
    })
}
