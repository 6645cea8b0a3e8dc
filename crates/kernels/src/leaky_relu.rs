//! LeakyReLU's primitives, dispatched by device: the forward of each rectifier (leaky, prelu,
//! elu, selu, gelu; rrelu, which draws its slopes, apart) and the backward (with prelu's gamma
//! gradient). LeakyReLU in `rmx-graph` parses `act_type` and the slopes and checks shapes; the
//! host loops are `cpu::leaky_relu`.

use crate::cpu::random::RandomState;
use crate::dispatch::dispatch;
use crate::{cpu, with_float, KernelResult, Tensor};

/// The rectifier (`act_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// `x > 0 ? x : slope·x`.
    Leaky,
    /// `x > 0 ? x : γ_c·x`, γ per channel (axis 1) or one value.
    PRelu,
    /// `x > 0 ? x : s·x` with a slope `s` per element (random in training).
    RRelu,
    /// `x > 0 ? x : slope·(eˣ - 1)`.
    Elu,
    /// `λ·(x > 0 ? x : α(eˣ - 1))`.
    Selu,
    /// `x·Φ(x)`, the exact (erf) form.
    Gelu,
}

/// `y = f(x)` for every kind but [`Kind::RRelu`] (see [`rrelu_forward`]); `gamma` is prelu's
/// slopes, of shape `(C,)` (C = axis 1 of `x`) or `(1,)`. `y` is overwritten.
pub fn forward(kind: Kind, slope: f64, x: &Tensor, gamma: Option<&Tensor>, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("LeakyReLU", y, cpu => with_float!("LeakyReLU", y.dtype, T => cpu::leaky_relu::forward::<T>(kind, slope, &x.shape, x.data(), gamma.map(|g| g.data()), y.data_mut())))
}

/// rrelu: `y = x > 0 ? x : s·x`, the slopes `s` written to `mask`: drawn uniformly from
/// `[lower, upper)` from `rng` (training), or `(lower + upper)/2` when `rng` is `None`.
pub fn rrelu_forward(lower: f64, upper: f64, rng: Option<&mut RandomState>, x: &Tensor, y: &mut Tensor, mask: &mut Tensor) -> KernelResult<()> {
    dispatch!("LeakyReLU (rrelu)", y, cpu => with_float!("LeakyReLU", y.dtype, T => cpu::leaky_relu::rrelu_forward::<T>(lower, upper, rng, x.data(), y.data_mut(), mask.data_mut())))
}

/// `dx` from the output's gradient `dy` and the data `x`; `slopes` is prelu's gamma or rrelu's
/// mask, and `dgamma` (prelu only) receives `Σ_{x≤0} dy·x` per gamma element. The derivatives
/// take the negative branch's value at 0. Outputs are overwritten.
pub fn backward(kind: Kind, slope: f64, dy: &Tensor, x: &Tensor, slopes: Option<&Tensor>, dx: &mut Tensor, dgamma: Option<&mut Tensor>) -> KernelResult<()> {
    dispatch!("LeakyReLU backward", dx, cpu => with_float!("LeakyReLU backward", dx.dtype, T => {
        cpu::leaky_relu::backward::<T>(kind, slope, &x.shape, dy.data(), x.data(), slopes.map(|s| s.data()), dx.data_mut(), dgamma.map(|g| g.data_mut()))
    }))
}
