//! Batch normalization primitives (the forward, with batch or given statistics, and the
//! backward), dispatched by device. BatchNorm in `rmx-graph` parses its parameters, finds the
//! channel axis and describes the work as a [`BatchNormPlan`]; the host loops are
//! `cpu::batch_norm`, and cuDNN's twins will sit beside them.

use crate::dispatch::dispatch;
use crate::{cpu, with_float, Element, Float, KernelResult, Tensor};

/// The data as `(outer, channels, inner)` blocks (element `(o, c, i)` is at
/// `(o·C + c)·inner + i`), and the normalization's settings.
#[derive(Clone, Copy, Debug)]
pub struct BatchNormPlan {
    pub outer: usize,
    pub channels: usize,
    pub inner: usize,
    /// Added to the variance before the square root.
    pub eps: f64,
    /// Weight of the old moving statistics in their update.
    pub momentum: f64,
    /// Take γ as 1 whatever its value (its gradient is then 0).
    pub fix_gamma: bool,
}

impl BatchNormPlan {
    /// Elements per channel.
    pub(crate) fn count(&self) -> usize {
        self.outer * self.inner
    }

    pub(crate) fn gamma<T: Float>(&self, gamma: &[T], c: usize) -> f64 {
        if self.fix_gamma { 1.0 } else { gamma[c].to_f64() }
    }
}

/// `y = (x - μ)·γ/√(σ² + eps) + β` per channel; `mean` and `inv_std` (per channel) receive the
/// μ and `1/√(σ² + eps)` used. With `batch_stats`, μ and σ² are the batch's mean and biased
/// variance and the moving statistics move toward them
/// (`moving = moving·momentum + batch·(1 - momentum)`): they are the operator's mutated inputs,
/// each in a buffer no other tensor of the push overlaps. Otherwise μ and σ² are the moving
/// statistics, only read.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    p: &BatchNormPlan,
    batch_stats: bool,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    moving_mean: &Tensor,
    moving_var: &Tensor,
    y: &mut Tensor,
    mean: &mut Tensor,
    inv_std: &mut Tensor,
) -> KernelResult<()> {
    dispatch!("BatchNorm", y, cpu => with_float!("BatchNorm", y.dtype, T => {
        let stats = if batch_stats {
            // SAFETY: the caller gives each mutated input a buffer no other tensor overlaps (one
            // array passed as both statistics gets two, written back in input order), and no
            // other borrow of these two is taken here.
            let (moving_mean, moving_var) = unsafe { (moving_mean.mutated::<T>(), moving_var.mutated::<T>()) };
            cpu::batch_norm::Statistics::Batch { moving_mean, moving_var }
        } else {
            cpu::batch_norm::Statistics::Given { mean: moving_mean.data::<T>(), var: moving_var.data::<T>() }
        };
        cpu::batch_norm::forward::<T>(p, x.data(), gamma.data(), beta.data(), stats, y.data_mut(), mean.data_mut(), inv_std.data_mut())
    }))
}

/// The gradients of data, γ and β from the output's (`dy`), the data and the forward's `mean`
/// and `inv_std`: with `x̂ = (x - μ)·s`, `m` elements per channel, `dβ = Σ dy`, `dγ = Σ dy·x̂`
/// (0 with `fix_gamma`), and `dx = γ s (dy - dβ/m - x̂ dγ/m)` with `batch_stats`, `dx = γ s dy`
/// without. All three are overwritten.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &BatchNormPlan,
    batch_stats: bool,
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    mean: &Tensor,
    inv_std: &Tensor,
    dx: &mut Tensor,
    dgamma: &mut Tensor,
    dbeta: &mut Tensor,
) -> KernelResult<()> {
    dispatch!("BatchNorm backward", dx, cpu => with_float!("BatchNorm backward", dx.dtype, T => {
        let widen = |t: &Tensor| -> Vec<f64> { t.data::<T>().iter().map(|v| v.to_f64()).collect() };
        let (mean, inv_std) = (widen(mean), widen(inv_std));
        cpu::batch_norm::backward::<T>(p, batch_stats, dy.data(), x.data(), gamma.data(), &mean, &inv_std, dx.data_mut(), dgamma.data_mut(), dbeta.data_mut())
    }))
}
