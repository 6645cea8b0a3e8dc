//! Pooling primitives (forward and data gradient), dispatched by device. Pooling in `rmx-graph`
//! describes its windows as a [`PoolPlan`] and calls these; the host loops are `cpu::pooling`,
//! and cuDNN's twins will sit beside them.

use crate::dispatch::dispatch;
use crate::window::Geometry;
use crate::{cpu, with_float, KernelResult, Tensor};

/// What each window computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PoolKind {
    Max,
    Avg,
    Sum,
    /// `(sum x^p)^(1/p)`, with the power `p`.
    Lp(f64),
}

/// A pooling's windows: `x` is `(batch, channels, input...)`, `y` is `(batch, channels,
/// output...)`, every plane pooled on its own. `geom.channels` is `channels`, `geom.dilate` is 1
/// on every axis, and `geom.pad` is the padding before each axis; windows may also reach as far
/// past the input's end (what `count_include_pad` counts).
#[derive(Clone, Debug)]
pub struct PoolPlan {
    pub batch: usize,
    pub kind: PoolKind,
    pub geom: Geometry,
    /// Each window is a whole plane (`geom` then has the input as kernel, unit stride and no
    /// padding, which is all the host loops need; a library kernel may have its own mode).
    pub global: bool,
    /// Averages divide by the window clipped to the padded input, not to the input.
    pub count_include_pad: bool,
}

impl PoolPlan {
    /// Planes pooled: `batch x channels`.
    pub(crate) fn planes(&self) -> usize {
        self.batch * self.geom.channels
    }
}

/// `y = pool(x)`; `y` is overwritten.
pub fn forward(p: &PoolPlan, x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("Pooling", y, cpu => with_float!("Pooling", y.dtype, T => cpu::pooling::forward::<T>(p, x.data(), y.data_mut())))
}

/// `dx`, the gradient with respect to `x` given `dy`'s; `dx` is overwritten.
pub fn backward(p: &PoolPlan, dy: &Tensor, x: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("Pooling backward", dx, cpu => with_float!("Pooling backward", dx.dtype, T => cpu::pooling::backward::<T>(p, dy.data(), x.data(), dx.data_mut())))
}
