//! Normalization primitives, dispatched by device. The data is seen as `(outer, n, inner)`
//! blocks; each row of `n` elements (element `(o, j, i)` at `(o·n + j)·inner + i`, row
//! `r = o·inner + i`) is normalized by its own statistics:
//! - [`forward`]/[`backward`]: mean and standard deviation, then a scale `γ` and shift `β`
//!   indexed as the plan's [`Affine`] says (LayerNorm along the row, InstanceNorm and
//!   GroupNorm per row);
//! - [`l2_forward`]/[`l2_backward`]: divided by the row's L2 norm (L2Normalization).
//!
//! The host loops are `cpu::layer_norm`.

use crate::dispatch::dispatch;
use crate::{cpu, with_float, KernelResult, Tensor};

/// Which `γ`/`β` element scales an element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affine {
    /// `γ[j]`: one per position along the row (LayerNorm).
    AlongRow,
    /// `γ[r % k]`: one per row, repeating every `k` rows (InstanceNorm's channels, GroupNorm's
    /// groups).
    PerRow(usize),
}

/// The data as `(outer, n, inner)` blocks, normalized along `n`.
#[derive(Clone, Copy, Debug)]
pub struct LayerNormPlan {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
    /// Added to the variance (to the squared norm for L2) before the square root.
    pub eps: f64,
    pub affine: Affine,
}

impl LayerNormPlan {
    /// The number of rows, each normalized on its own.
    pub fn rows(&self) -> usize {
        self.outer * self.inner
    }

    /// The length of `γ` and `β`.
    pub fn params(&self) -> usize {
        match self.affine {
            Affine::AlongRow => self.n,
            Affine::PerRow(k) => k,
        }
    }
}

/// `y = (x - μ)/σ·γ + β` per row, with `σ = √(var + eps)` (biased variance); `mean` and `std`
/// (one per row) receive μ and σ.
pub fn forward(p: &LayerNormPlan, x: &Tensor, gamma: &Tensor, beta: &Tensor, y: &mut Tensor, mean: &mut Tensor, std: &mut Tensor) -> KernelResult<()> {
    dispatch!("LayerNorm", y, cpu => with_float!("LayerNorm", y.dtype, T => {
        cpu::layer_norm::forward::<T>(p, x.data(), gamma.data(), beta.data(), y.data_mut(), mean.data_mut(), std.data_mut())
    }))
}

/// The gradients of [`forward`]'s outputs with respect to `x`, `γ` and `β`, from
/// `[dy, x, γ, mean, std, dmean, dstd]`: the output gradients `dy`, `dmean` and `dstd` (the
/// statistics' own, which reach `x`), the data, `γ`, and the saved `mean` and `std`.
pub fn backward(p: &LayerNormPlan, inputs: [&Tensor; 7], dx: &mut Tensor, dgamma: &mut Tensor, dbeta: &mut Tensor) -> KernelResult<()> {
    dispatch!("_backward_LayerNorm", dx, cpu => with_float!("_backward_LayerNorm", dx.dtype, T => {
        let [dy, x, gamma, mean, std, dmean, dstd] = inputs.map(|t| t.data::<T>());
        cpu::layer_norm::backward::<T>(p, [dy, x, gamma, mean, std, dmean, dstd], dx.data_mut(), dgamma.data_mut(), dbeta.data_mut())
    }))
}

/// `y = x / ‖x‖` per row, with `‖x‖ = √(Σx² + eps)`, which `norm` (one per row) receives.
pub fn l2_forward(p: &LayerNormPlan, x: &Tensor, y: &mut Tensor, norm: &mut Tensor) -> KernelResult<()> {
    dispatch!("L2Normalization", y, cpu => with_float!("L2Normalization", y.dtype, T => {
        cpu::layer_norm::l2_forward::<T>(p, x.data(), y.data_mut(), norm.data_mut())
    }))
}

/// The gradient of [`l2_forward`]: `dx = (dy - y·Σ(dy·y)) / ‖x‖` per row, from the forward's
/// `y` and `norm`.
pub fn l2_backward(p: &LayerNormPlan, dy: &Tensor, y: &Tensor, norm: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("_backward_L2Normalization", dx, cpu => with_float!("_backward_L2Normalization", dx.dtype, T => {
        cpu::layer_norm::l2_backward::<T>(p, dy.data(), y.data(), norm.data(), dx.data_mut())
    }))
}
