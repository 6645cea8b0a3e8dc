//! The move shared by shape operators (transpose, broadcast_to, tile, repeat, slice, concat,
//! split, ...): read the input through a different geometry and write densely, or into a slab of
//! a larger output. Their files only compute the geometry.

use rmx_kernels::contiguous_strides;
use rmx_kernels::cpu::copy::copy_strided;

use crate::operator::Tensor;

/// Writes `out` densely from `input` read with `shape`, `strides` and element `offset`.
pub fn read_as(input: &Tensor, shape: &[usize], strides: &[isize], offset: isize, out: &mut Tensor) {
    let elem = input.dtype.size();
    debug_assert_eq!(shape.iter().product::<usize>(), out.numel());
    // SAFETY: the geometry stays inside `input` (each caller derives it from the input's shape)
    // and `out` is this computation's dense output.
    unsafe { copy_strided(elem, shape, input.ptr().offset(offset * elem as isize), strides, out.ptr(), &contiguous_strides(shape)) }
}

/// Copies dense `input` into `out` at element `offset`, walking `out` with `out_strides`.
pub fn write_into(input: &Tensor, out: &mut Tensor, out_strides: &[isize], offset: isize) {
    let elem = input.dtype.size();
    // SAFETY: as in `read_as`, with the roles of input and output swapped.
    unsafe { copy_strided(elem, &input.shape, input.ptr(), &contiguous_strides(&input.shape), out.ptr().offset(offset * elem as isize), out_strides) }
}
