//! MakeLoss's primitives, dispatched by device: the identity forward and the constant gradient
//! `grad_scale / norm` (the norm counted from the output for `'valid'`). MakeLoss in `rmx-graph`
//! parses its parameters; the host loops are `cpu::make_loss`.

use crate::dispatch::dispatch;
use crate::{cpu, with_float, KernelResult, Tensor};

/// What the gradient is divided by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalization {
    /// 1.
    Null,
    /// The first axis.
    Batch,
    /// The elements above `valid_thresh` (at least 1).
    Valid,
}

/// `y = x`; `y` is overwritten.
pub fn forward(x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("MakeLoss", y, cpu => with_float!("MakeLoss", y.dtype, T => cpu::make_loss::forward::<T>(x.data(), y.data_mut())))
}

/// Every element of `dx` is `grad_scale / norm`, `norm` by `normalization` over the forward's
/// output `out`; `dx` is overwritten.
pub fn backward(grad_scale: f64, normalization: Normalization, valid_thresh: f64, out: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("MakeLoss backward", dx, cpu => with_float!("MakeLoss backward", out.dtype, T => {
        cpu::make_loss::backward::<T>(grad_scale, normalization, valid_thresh, &out.shape, out.data(), dx.data_mut())
    }))
}
