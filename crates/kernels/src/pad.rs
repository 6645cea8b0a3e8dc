//! Padding primitives (constant, edge and reflect padding of the spatial axes, and its
//! gradient), dispatched by device. Pad in `rmx-graph` describes its padding as a [`PadPlan`]
//! and calls these; the host loops are `cpu::pad`.

use crate::dispatch::dispatch;
use crate::{cpu, with_float, KernelResult, Tensor};

/// How the padding is filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// With a constant.
    Constant,
    /// With the border element.
    Edge,
    /// Mirrored without repeating the border (`x[-1] = x[1]`); pads are smaller than the axis.
    Reflect,
}

/// A padding of 4-D or 5-D data, `(batch, channels, spatial...)`, whose batch and channel axes
/// are not padded.
#[derive(Clone, Debug)]
pub struct PadPlan {
    pub mode: PadMode,
    /// `(before, after)` per axis, `2 * ndim` values.
    pub width: Vec<usize>,
    /// The fill of [`PadMode::Constant`].
    pub value: f64,
}

/// `y = pad(x)`; `y` is overwritten.
pub fn forward(p: &PadPlan, x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    let oshape = y.shape.clone();
    dispatch!("Pad", y, cpu => with_float!("Pad", y.dtype, T => cpu::pad::forward::<T>(p, &x.shape, &oshape, x.data(), y.data_mut())))
}

/// `dx`: each output gradient of `dy` summed back into the element it copies; overwritten.
pub fn backward(p: &PadPlan, dy: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    let xshape = dx.shape.clone();
    dispatch!("Pad backward", dx, cpu => with_float!("Pad backward", dx.dtype, T => cpu::pad::backward::<T>(p, &xshape, &dy.shape, dy.data(), dx.data_mut())))
}
