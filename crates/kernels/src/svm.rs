//! The gradient of `SVMOutput`'s hinge losses, dispatched by device: rows of scores, one label
//! per row. Squared hinge (L2): `-2 (margin - s)` at the label where `s < margin`, `2 (margin + s)`
//! elsewhere where `s > -margin`; linear hinge (L1): `-1` and `1` under the same conditions;
//! each times `reg`. The arriving gradient is ignored (a loss head), as MXNet's is.

use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, KernelResult, Tensor};

pub fn hinge_grad(scores: &Tensor, label: &Tensor, margin: f64, reg: f64, linear: bool, dx: &mut Tensor) -> KernelResult<()> {
    // Rows are the first axis; the rest of each row its scores.
    let cols = scores.numel() / scores.shape.first().copied().unwrap_or(1).max(1);
    dispatch!("SVMOutput gradient", dx, cpu => with_dtype!(dx.dtype, T => with_dtype!(label.dtype, L => {
        cpu::svm::hinge_grad::<T, L>(scores.data(), label.data(), cols, margin, reg, linear, dx.data_mut())
    })))
}
