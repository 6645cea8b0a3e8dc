//! The regression loss heads' primitives (`LinearRegressionOutput`, `LogisticRegressionOutput`,
//! `MAERegressionOutput`), dispatched by device: the forward maps the head's function over the
//! data, the backward applies its gradient function to the output and the label and scales it.
//! The operators in `rmx-graph` own the math (as [`UnaryFn`] / [`BinaryFn`] types) and the
//! scale; the host loops are `cpu::elementwise::map` and `cpu::regression`.

use crate::dispatch::dispatch;
use crate::{cpu, with_float, BinaryFn, KernelResult, Tensor, UnaryFn};

/// `y = F(x)` elementwise; `y` is overwritten.
pub fn forward<F: UnaryFn>(x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("regression output", y, cpu => with_float!("regression output", y.dtype, T => cpu::elementwise::map::<T, F>(x.data(), y.data_mut())))
}

/// `dx = G(out, label)·scale` elementwise; `dx` is overwritten.
pub fn backward<G: BinaryFn>(out: &Tensor, label: &Tensor, scale: f64, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("regression output backward", dx, cpu => with_float!("regression output backward", dx.dtype, T => cpu::regression::backward::<T, G>(out.data(), label.data(), scale, dx.data_mut())))
}
