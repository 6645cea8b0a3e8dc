//! The fused optimizer update primitive (`sgd_update`, `adam_update`, ...), dispatched by device.
//! An update operator in `rmx-graph` owns its formula, as an [`UpdateFn`]; these primitives own
//! the pass over the elements that applies it to the weight, gradient and states, and the
//! dtype handling (one float dtype throughout, or `mp_*`'s float32 master weight beside float16,
//! float32 or float64 weights). The host loop is `cpu::update`; the CUDA kernel is generated from
//! the rule's own CUDA body (`UpdateFn::CUDA`, `cuda::source::update`), its hyperparameters
//! passed as arguments so that a learning-rate schedule compiles nothing new.

use smallvec::SmallVec;

use crate::dispatch::dispatch;
use crate::{cpu, f16, with_float, DType, Element, Float, KernelError, KernelResult, Tensor};

/// The most state tensors an update takes (the master weight `weight32` included).
pub const MAX_STATES: usize = 4;

/// How one element of an optimizer update moves: the new weight from its weight `w`, gradient
/// `g` and states `s` (in the order of the operator's inputs after `weight` and `grad`, without
/// `mp_*`'s master weight), which it updates in place. Implemented by the operators with
/// MXNet's arithmetic; the primitive calls it once per element.
pub trait UpdateFn: Send + Sync {
    /// How many state tensors the formula reads and writes (without the master weight).
    const STATES: usize;

    /// The CUDA twin of [`UpdateFn::step`]: statements over `C w, g` (the compute type), the
    /// states `C s[]` (written in place), `bool inplace` and the hyperparameters
    /// [`UpdateFn::CUDA_PARAMS`], each a `const C`, ending in `return <new weight>;`.
    /// `rmx_clip(x, bound)` and `rmx_sign(x)` are the operators' `clip` and `sign`.
    const CUDA: &'static str;

    /// The hyperparameters' names in [`UpdateFn::CUDA`], in the order of
    /// [`UpdateFn::cuda_params`].
    const CUDA_PARAMS: &'static [&'static str];

    /// The hyperparameters' values, as the CUDA kernel takes them: each the exact value `step`
    /// converts to `C` (a C `float` parameter widened, a `double` one as it is).
    fn cuda_params(&self) -> Vec<f64>;

    /// One element. `inplace`: the output is the weight's own memory, so a read of the weight
    /// after the output is written sees the new weight (the mixed-precision primitive always
    /// passes true: its weight is a local the update overwrites).
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], inplace: bool) -> T;
}

/// `out = rule(weight, grad, states)` elementwise, the states updated in place; all one float
/// dtype. `out` may be the weight's own buffer (`out=weight`, an in-place pair); `states` are
/// mutated inputs, each in a buffer no other tensor overlaps.
pub fn apply<R: UpdateFn>(rule: &R, weight: &Tensor, grad: &Tensor, states: &[Tensor], out: &mut Tensor) -> KernelResult<()> {
    dispatch!("optimizer update", out, cpu => with_float!("optimizer update", out.dtype, T => host::<T, T, R, false>(rule, weight, grad, states, out, |x| x, |x| x)))
}

/// The `mp_*` form of [`apply`]: weight, gradient and output are float16, float32 or float64;
/// the states are float32, the last of them the master weight, which the update reads and
/// writes in float32 instead of the weight (not read); `out` is the new master weight rounded
/// to the weight's dtype.
pub fn apply_mixed<R: UpdateFn>(rule: &R, weight: &Tensor, grad: &Tensor, states: &[Tensor], out: &mut Tensor) -> KernelResult<()> {
    const WHAT: &str = "mixed-precision optimizer update";
    dispatch!(WHAT, out, cpu => match out.dtype {
        DType::F16 => host::<f16, f32, R, true>(rule, weight, grad, states, out, f16::to_f32, f16::from_f32),
        DType::F32 => host::<f32, f32, R, true>(rule, weight, grad, states, out, |x| x, |x| x),
        DType::F64 => host::<f64, f32, R, true>(rule, weight, grad, states, out, |x| x as f32, |x| x as f64),
        dtype => return Err(KernelError::DType { what: WHAT, dtype }),
    })
}

/// The host tensors as the slices `cpu::update::run` takes: the weight is `None` when it is the
/// output's buffer, the states writable.
fn host<W: Element, C: Float, R: UpdateFn, const MIXED: bool>(
    rule: &R,
    weight: &Tensor,
    grad: &Tensor,
    states: &[Tensor],
    out: &mut Tensor,
    load: impl Fn(W) -> C + Sync,
    store: impl Fn(C) -> W + Sync,
) {
    let w = weight.data_unless_in::<W>(out);
    // SAFETY: the states are mutated inputs, each in a buffer no other tensor of this
    // computation overlaps (see `Tensor::mutated`), borrowed only here.
    let mut s: SmallVec<[&mut [C]; MAX_STATES]> = states.iter().map(|t| unsafe { t.mutated::<C>() }).collect();
    cpu::update::run::<W, C, R, MIXED>(rule, w, grad.data::<W>(), &mut s, out.data_mut::<W>(), load, store);
}
