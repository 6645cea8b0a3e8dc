//! Random-fill primitives, dispatched by device: uniform, normal and integer draws, and a row
//! shuffle, each advancing the given [`RandomState`] (the process's stream, which the caller
//! holds for the computation, so a seed fixes every draw whatever the timing).

pub use crate::cpu::random::{Dist, RandomState};
use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, Element, KernelResult, Tensor};

/// `y` drawn uniformly from `[low, high)`.
pub fn uniform(state: &mut RandomState, low: f64, high: f64, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("random uniform", y, cpu => with_dtype!(y.dtype, T => state.uniform(low, high, y.data_mut::<T>())))
}

/// `y` drawn from the normal distribution of mean `loc` and standard deviation `scale`.
pub fn normal(state: &mut RandomState, loc: f64, scale: f64, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("random normal", y, cpu => with_dtype!(y.dtype, T => state.normal(loc, scale, y.data_mut::<T>())))
}

/// `y` drawn uniformly from the integers in `[low, high)`.
pub fn randint(state: &mut RandomState, low: i64, high: i64, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("random randint", y, cpu => with_dtype!(y.dtype, T => state.randint(low, high, y.data_mut::<T>())))
}

/// `y` = the rows (first axis) of `x` in a random order.
pub fn shuffle(state: &mut RandomState, x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    let rows = x.shape.first().copied().unwrap_or(1);
    dispatch!("shuffle", y, cpu => with_dtype!(y.dtype, T => cpu::shuffle::shuffle_rows::<T>(state, x.data::<T>(), rows, y.data_mut::<T>())))
}

/// `y` in consecutive runs of `y.numel() / a.len()` draws, run `i` from `dist` with parameters
/// `(a[i], b[i])` (`b` empty for one-parameter distributions).
pub fn sample(state: &mut RandomState, dist: Dist, a: &[f64], b: &[f64], y: &mut Tensor) -> KernelResult<()> {
    dispatch!("random sample", y, cpu => with_dtype!(y.dtype, T => state.sample(dist, a, b, y.data_mut::<T>())))
}

/// Per row of `probs` (its last axis the categories), `y.numel() / rows` draws of a category
/// index, with their log-probabilities in `logp` when given.
pub fn multinomial(state: &mut RandomState, probs: &Tensor, y: &mut Tensor, logp: Option<&mut Tensor>) -> KernelResult<()> {
    let k = probs.shape.last().copied().unwrap_or(1);
    dispatch!("random multinomial", y, cpu => with_dtype!(probs.dtype, P => with_dtype!(y.dtype, T => {
        state.multinomial::<P, T>(probs.data(), k, y.data_mut(), logp.map(|l| l.data_mut::<P>()))
    })))
}

/// The elements of `t` as float64 (distribution parameters, read once per draw).
pub fn values(t: &Tensor) -> KernelResult<Vec<f64>> {
    let mut out = Vec::new();
    dispatch!("random parameters", t, cpu => with_dtype!(t.dtype, T => out = t.data::<T>().iter().map(|v| v.to_f64()).collect()))?;
    Ok(out)
}
