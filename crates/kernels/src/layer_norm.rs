//! Layer normalization primitives, dispatched by device: each row of `n` elements along the
//! normalized axis (element `(o, j, i)` at `(o·n + j)·inner + i`) is normalized by its own mean and
//! standard deviation, then scaled by `γ[j]` and shifted by `β[j]`. The host loops are
//! `cpu::layer_norm`.

use crate::dispatch::dispatch;
use crate::{cpu, with_float, KernelResult, Tensor};

/// The data as `(outer, n, inner)` blocks, normalized along `n`.
#[derive(Clone, Copy, Debug)]
pub struct LayerNormPlan {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
    /// Added to the variance before the square root.
    pub eps: f64,
}

/// `y = (x - μ)/σ·γ + β` per row, with `σ = √(var + eps)` (biased variance); `mean` and `std`
/// (`outer·inner` each) receive μ and σ.
pub fn forward(p: &LayerNormPlan, x: &Tensor, gamma: &Tensor, beta: &Tensor, y: &mut Tensor, mean: &mut Tensor, std: &mut Tensor) -> KernelResult<()> {
    dispatch!("LayerNorm", y, cpu => with_float!("LayerNorm", y.dtype, T => {
        cpu::layer_norm::forward::<T>(p, x.data(), gamma.data(), beta.data(), y.data_mut(), mean.data_mut(), std.data_mut())
    }))
}

/// The gradients of [`forward`]'s `y` with respect to `x`, `γ` and `β`, given its output gradient
/// `dy` and the saved `mean` and `std`.
#[allow(clippy::too_many_arguments)]
pub fn backward(p: &LayerNormPlan, dy: &Tensor, x: &Tensor, gamma: &Tensor, mean: &Tensor, std: &Tensor, dx: &mut Tensor, dgamma: &mut Tensor, dbeta: &mut Tensor) -> KernelResult<()> {
    dispatch!("_backward_LayerNorm", dx, cpu => with_float!("_backward_LayerNorm", dx.dtype, T => {
        cpu::layer_norm::backward::<T>(p, dy.data(), x.data(), gamma.data(), mean.data(), std.data(), dx.data_mut(), dgamma.data_mut(), dbeta.data_mut())
    }))
}
