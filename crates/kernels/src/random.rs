//! Random-fill primitives, dispatched by device: uniform, normal and integer draws, and a row
//! shuffle, each advancing the given [`RandomState`] (the process's stream, which the caller
//! holds for the computation, so a seed fixes every draw whatever the timing).

pub use crate::cpu::random::RandomState;
use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, KernelResult, Tensor};

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
