//! Copy primitives, dispatched by device: an array broadcast into a larger shape (read with
//! stride 0 along its stretched axes). They move bytes, so one routine serves every dtype.

use crate::dispatch::dispatch;
use crate::layout::contiguous_strides;
use crate::{cpu, KernelResult, Layout, Tensor};

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
