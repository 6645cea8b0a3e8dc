//! The strided read shared by shape operators, kept for `broadcast_to` until it calls
//! [`rmx_kernels::copy::read_strided`] itself; the others (transpose, tile, repeat, slice,
//! concat, split) call the copy primitives directly.

use rmx_kernels::copy::{read_strided, Region};

use crate::operator::Tensor;

/// Writes `out` densely from `input` read with `shape`, `strides` and element `offset`.
pub fn read_as(input: &Tensor, shape: &[usize], strides: &[isize], offset: isize, out: &mut Tensor) {
    // The caller returns no error from here yet: a failure (a device with no kernel) panics,
    // which the engine records as this computation's error.
    if let Err(e) = read_strided(input, &Region { shape, strides, offset }, out) {
        panic!("{e}");
    }
}
