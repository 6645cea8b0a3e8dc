//! SoftmaxOutput's primitives, dispatched by device: its forward softmax (which multiplies by the
//! sums' reciprocals after rounding the exponentials to the element type, so its results differ
//! in the last bit from `crate::softmax`'s and it keeps its own loop) and its cross-entropy
//! gradient from labels (class indices with ignoring, normalization and smoothing, or target
//! probabilities). SoftmaxOutput in `rmx-graph` parses its parameters, checks the label's shape
//! and describes the work as a [`SoftmaxOutputPlan`]; the host loops are `cpu::softmax_output`.

use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, with_float, Element, KernelResult, Tensor};

/// What the class-index gradient is divided by (see [`SoftmaxOutputPlan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalization {
    /// Positions per sample with `multi_output`, else 1.
    Null,
    /// All positions with `multi_output`, else the rows.
    Batch,
    /// Labels other than `ignore_label` (at least 1), counted whether or not `use_ignore`.
    Valid,
}

/// The softmax's blocks (class `r` of position `(o, i)` is at `(o·classes + r)·inner + i`) and
/// the gradient's settings.
#[derive(Clone, Copy, Debug)]
pub struct SoftmaxOutputPlan {
    pub outer: usize,
    pub classes: usize,
    pub inner: usize,
    pub grad_scale: f64,
    pub ignore_label: f64,
    /// Zero the gradient where the label is `ignore_label`.
    pub use_ignore: bool,
    /// Axis 1 holds the classes, one label per position (normalization counts positions, and
    /// smoothing is off).
    pub multi_output: bool,
    pub normalization: Normalization,
    /// Label smoothing: target mass moved off the label.
    pub smooth_alpha: f64,
}

/// `y = softmax(x)` over the classes of each position; `y` is overwritten.
pub fn forward(p: &SoftmaxOutputPlan, x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("SoftmaxOutput", y, cpu => with_float!("SoftmaxOutput", x.dtype, T => cpu::softmax_output::forward::<T>(p, x.data(), y.data_mut())))
}

/// `dx` from the softmax output `out` and `label` (any dtype, read as floats): with `prob` (the
/// label has the data's shape) `(out - label)·grad_scale`, else the scaled, normalized and
/// smoothed one-hot difference; times `out_grad` elementwise when given. `dx` is overwritten.
pub fn backward(p: &SoftmaxOutputPlan, prob: bool, out: &Tensor, label: &Tensor, out_grad: Option<&Tensor>, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("SoftmaxOutput backward", dx, cpu => {
        let labels: Vec<f64> = with_dtype!(label.dtype, L => label.data::<L>().iter().map(|v| v.to_f64()).collect());
        with_float!("SoftmaxOutput backward", out.dtype, T => cpu::softmax_output::backward::<T>(p, out.data(), &labels, prob, out_grad.map(|t| t.data()), dx.data_mut()))
    })
}
