//! Local response normalization primitives (forward, which also writes the norms, and the data
//! gradient), dispatched by device. LRN in `rmx-graph` describes its window as an [`LrnPlan`] and
//! calls these; the host loops are `cpu::lrn`.

use crate::dispatch::dispatch;
use crate::{cpu, with_float, KernelResult, Tensor};

/// Normalization across channels (axis 1) of data `(batch, channels, ...)`:
/// `y_c = x_c * n_c^-beta`, `n_c = knorm + scale * sum_{|c' - c| <= half} x_c'^2`.
#[derive(Clone, Debug)]
pub struct LrnPlan {
    /// Channels summed on each side of a channel (the sum is clipped at the channel ends).
    pub half: usize,
    /// `alpha / nsize`.
    pub scale: f64,
    pub beta: f64,
    pub knorm: f64,
}

/// `y` and `norm` (both overwritten) from `x`, which may be `y` itself (the planner's in-place
/// choice: all norms are made before any output element).
pub fn forward(p: &LrnPlan, x: &Tensor, y: &mut Tensor, norm: &mut Tensor) -> KernelResult<()> {
    dispatch!("LRN", y, cpu => with_float!("LRN", y.dtype, T => {
        let xs = x.data_unless_in::<T>(y);
        cpu::lrn::forward::<T>(p, &x.shape, xs, y.data_mut(), norm.data_mut())
    }))
}

/// `dx` from `dy`, `x` and the forward's `norm`; overwritten.
pub fn backward(p: &LrnPlan, dy: &Tensor, x: &Tensor, norm: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("LRN backward", dx, cpu => with_float!("LRN backward", dx.dtype, T => cpu::lrn::backward::<T>(p, &x.shape, dy.data(), x.data(), norm.data(), dx.data_mut())))
}
