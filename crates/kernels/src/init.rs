//! Array-creating primitives beyond a plain fill ([`crate::elementwise::fill`]), dispatched by
//! device: evenly spaced values (`_arange`) and a diagonal of ones (`_eye`).

use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, KernelResult, Tensor};

/// `y[i] = start + step * (i / repeat)` (computed in float64, then converted).
pub fn arange(y: &mut Tensor, start: f64, step: f64, repeat: usize) -> KernelResult<()> {
    dispatch!("arange", y, cpu => with_dtype!(y.dtype, T => cpu::init::arange::<T>(y.data_mut::<T>(), start, step, repeat)))
}

/// `y[r, c] = 1` where `c - r == k`, else 0; rows are `y`'s last axis (a 1-d or 0-d `y` is one row).
pub fn eye(y: &mut Tensor, k: i64) -> KernelResult<()> {
    let cols = y.shape.last().copied().unwrap_or(1);
    dispatch!("eye", y, cpu => with_dtype!(y.dtype, T => cpu::init::eye::<T>(y.data_mut::<T>(), cols, k)))
}
