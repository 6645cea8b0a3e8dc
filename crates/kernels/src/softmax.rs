//! Softmax primitives along one axis (softmax or log-softmax, with a temperature; forward and
//! backward), dispatched by device. `softmax`, `log_softmax` and `SoftmaxActivation` in
//! `rmx-graph` find the axis and describe the work as a [`SoftmaxPlan`]; the host loops are
//! `cpu::softmax`. (SoftmaxOutput's forward rounds differently and has its own primitive,
//! `crate::softmax_output`.)

use crate::dispatch::dispatch;
use crate::{cpu, f16, with_dtype, DType, Element, KernelError, KernelResult, Tensor};

/// The data as `(outer, n, inner)` blocks around the axis: element `r` of position `(o, i)` is
/// at `(o·n + r)·inner + i`.
#[derive(Clone, Copy, Debug)]
pub struct SoftmaxPlan {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
    /// Divides the input (1 leaves it exact).
    pub temperature: f64,
    /// Log-softmax instead of softmax.
    pub log: bool,
}

/// Runs `$body` with `$T` bound to the element type of the float dtype `$dtype` (float16 too:
/// softmax's input may be any float type, computed in f64).
macro_rules! with_any_float {
    ($what:expr, $dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::F16 => {
                type $T = f16;
                $body
            }
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
            dtype => return Err(KernelError::DType { what: $what, dtype }),
        }
    };
}

/// `y = softmax(x / t)` (or its log) over the axis, computed in f64; `x` is any float dtype,
/// `y` any dtype (the operator's `dtype` parameter). `y` is overwritten.
pub fn forward(p: &SoftmaxPlan, x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("softmax", y, cpu => with_any_float!("softmax", x.dtype, X => with_dtype!(y.dtype, Y => cpu::softmax::forward::<X, Y>(p, x.data(), y.data_mut()))))
}

/// The input's gradient from the output's (`dy`) and the output `y` (both of the output's
/// dtype): `dx = y (dy - Σ dy·y) / t` for softmax, `dx = (dy - exp(y) Σ dy) / t` for
/// log-softmax. `dx` (of the input's float dtype) is overwritten.
pub fn backward(p: &SoftmaxPlan, dy: &Tensor, y: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("softmax backward", dx, cpu => with_any_float!("softmax backward", dx.dtype, X => with_dtype!(y.dtype, Y => cpu::softmax::backward::<X, Y>(p, dy.data(), y.data(), dx.data_mut()))))
}

/// `loss[0] = Σ_i -log softmax(x_i)[label_i]` over the rows of `x` (`(batch, classes)`), in f64.
/// A label outside `[0, classes)` is [`KernelError::Index`].
pub fn cross_entropy(x: &Tensor, label: &Tensor, loss: &mut Tensor) -> KernelResult<()> {
    dispatch!("softmax_cross_entropy", loss, cpu => with_any_float!("softmax_cross_entropy", x.dtype, X => {
        let labels = with_dtype!(label.dtype, L => cpu::softmax::class_labels::<L>(label.data(), x.shape[1])?);
        loss.data_mut::<X>()[0] = X::from_f64(cpu::softmax::cross_entropy::<X>(x.data(), x.shape[1], &labels));
    }))
}

/// [`cross_entropy`]'s gradient: `dx_i = g·(softmax(x_i) - onehot(label_i))`, `g` the loss's
/// gradient (one element).
pub fn cross_entropy_backward(g: &Tensor, x: &Tensor, label: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("softmax_cross_entropy backward", dx, cpu => with_any_float!("softmax_cross_entropy backward", x.dtype, X => {
        let labels = with_dtype!(label.dtype, L => cpu::softmax::class_labels::<L>(label.data(), x.shape[1])?);
        let g = g.data::<X>()[0].to_f64();
        cpu::softmax::cross_entropy_backward::<X>(g, x.data(), x.shape[1], &labels, dx.data_mut())
    }))
}
