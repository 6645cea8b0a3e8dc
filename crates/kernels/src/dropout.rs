//! Dropout's primitives, dispatched by device: drawing the mask (0 or `1 / (1 - p)` per
//! element, one draw shared along chosen axes) from the process random stream, applying it, and
//! the identity with a mask of ones when not dropping. Dropout in `rmx-graph` validates `p` and
//! the axes and decides whether to drop; its gradient is `out_grad * mask`, an `elemwise_mul`,
//! so there is no backward here. The host loops are `cpu::dropout`.

use crate::cpu::random::RandomState;
use crate::dispatch::dispatch;
use crate::{cpu, with_float, KernelResult, Tensor};

/// Fills `mask` with 0 (probability `p`) or `1 / (1 - p)` (0 when `p` is 1) from `rng`; along
/// the axes where `shared` is true, one draw serves every position. Overwritten.
pub fn draw_mask(p: f64, shared: &[bool], rng: &mut RandomState, mask: &mut Tensor) -> KernelResult<()> {
    let shape = mask.shape.clone();
    dispatch!("Dropout", mask, cpu => with_float!("Dropout", mask.dtype, T => cpu::dropout::draw_mask::<T>(p, &shape, shared, rng, mask.data_mut())))
}

/// `y = x * mask`; `y` is overwritten.
pub fn apply(x: &Tensor, mask: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("Dropout", y, cpu => with_float!("Dropout", y.dtype, T => cpu::dropout::apply::<T>(x.data(), mask.data(), y.data_mut())))
}

/// Not dropping: `y = x` and a mask of ones. Both are overwritten.
pub fn identity(x: &Tensor, y: &mut Tensor, mask: &mut Tensor) -> KernelResult<()> {
    dispatch!("Dropout", y, cpu => with_float!("Dropout", y.dtype, T => cpu::dropout::identity::<T>(x.data(), y.data_mut(), mask.data_mut())))
}
