//! Elementwise primitives, dispatched by device: one array mapped through a [`UnaryFn`], two
//! zipped through a [`BinaryFn`] (same shape, with a scalar, or broadcast), many folded
//! (`add_n`), three-operand formulas (the backward kernels), fill, cast, clip and select
//! (`where`). Operators pass the math as a type (or a [`Ternary`] value); each primitive
//! matches the dtype and runs its device's loop: `cpu::elementwise` and its neighbours on the host.

use crate::cpu::reduce::ReduceFn;
use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, BinaryFn, Element, KernelResult, Layout, Tensor, UnaryFn};

/// A formula of three operands in the element type, `y = f(a, b, c)`: what backward kernels
/// compute (`dx = f(dy, x, y)`). The value carries the run-time constants (a scalar operand,
/// bounds, a count); `formula` is called once per primitive call, so they convert to `T` once
/// and the closure it returns is inlined into the loop.
pub trait Ternary: Sync {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_;
}

/// [`Ternary`] with two results per element: both gradients of a two-input function.
pub trait Ternary2: Sync {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> (T, T) + Sync + '_;
}

/// `y = f(x)`; in place when the memory planner gave `y` the buffer of `x`.
pub fn map<F: UnaryFn>(x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("elementwise map", y, cpu => with_dtype!(y.dtype, T => cpu::elementwise::map_or_update::<T, F>(x.data_unless_in::<T>(y), y.data_mut::<T>())))
}

/// `y = f(a, b)` over one shape; in place over either input, or both (`x + x`).
pub fn zip<F: BinaryFn>(a: &Tensor, b: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("elementwise zip", y, cpu => with_dtype!(y.dtype, T => cpu::in_place::zip_into::<T, F>(a.data_unless_in::<T>(y), b.data_unless_in::<T>(y), y.data_mut::<T>())))
}

/// `y = f(x, s)`, or `f(s, x)` when `scalar_first` (`2 - x`); the scalar is converted to the
/// array's dtype first. In place when `y` has the buffer of `x`.
pub fn zip_scalar<F: BinaryFn>(x: &Tensor, s: f64, scalar_first: bool, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("elementwise zip with a scalar", y, cpu => with_dtype!(y.dtype, T => cpu::in_place::zip_scalar_into::<T, F>(x.data_unless_in::<T>(y), T::from_f64(s), scalar_first, y.data_mut::<T>())))
}

/// `y = f(a, b)` with NumPy broadcasting: `a` and `b` are read with stride 0 along the axes
/// where they are stretched to `y`'s shape. Not in place (the operands differ in size).
pub fn zip_broadcast<F: BinaryFn>(a: &Tensor, b: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    let shape = y.shape.clone();
    let sa = Layout::contiguous(&a.shape).broadcast_strides(&shape);
    let sb = Layout::contiguous(&b.shape).broadcast_strides(&shape);
    dispatch!("broadcast zip", y, cpu => with_dtype!(y.dtype, T => cpu::elementwise::zip_broadcast::<T, F>(&shape, a.data::<T>(), &sa, b.data::<T>(), &sb, y.data_mut::<T>())))
}

/// `y = f(a, b, c)` over arrays of one shape.
pub fn map3<F: Ternary>(a: &Tensor, b: &Tensor, c: &Tensor, y: &mut Tensor, f: &F) -> KernelResult<()> {
    dispatch!("elementwise formula", y, cpu => with_dtype!(y.dtype, T => cpu::elementwise::map3::<T, _>(a.data::<T>(), b.data::<T>(), c.data::<T>(), y.data_mut::<T>(), &f.formula::<T>())))
}

/// Both gradients of a broadcast two-input function: `(dl, dr) = f(g, l, r)` at `g`'s shape,
/// each reduced with `S` (a sum) down to its input's shape where that input was broadcast.
/// `constant`: both partials are these constants (add, sub), so a broadcast input's gradient is
/// `g` summed, times its constant, without evaluating `f`.
pub fn zip_grad<S: ReduceFn, F: Ternary2>(g: &Tensor, l: &Tensor, r: &Tensor, dl: &mut Tensor, dr: &mut Tensor, f: &F, constant: Option<[f64; 2]>) -> KernelResult<()> {
    let shapes = cpu::zip_grad::Shapes { out: &g.shape, lhs: &l.shape, rhs: &r.shape };
    dispatch!("broadcast zip gradient", dl, cpu => with_dtype!(g.dtype, T => cpu::zip_grad::zip_grad::<T, S, _>(
        &shapes, g.data::<T>(), l.data::<T>(), r.data::<T>(), dl.data_mut::<T>(), dr.data_mut::<T>(), &f.formula::<T>(), constant)))
}

/// `y = f(...f(f(x0, x1), x2)..., xn)` elementwise (`add_n`), in one pass over memory; the
/// first input may be `y` itself (the sum is then made over it, in the same order).
pub fn fold_n<F: BinaryFn>(xs: &[Tensor], y: &mut Tensor) -> KernelResult<()> {
    dispatch!("elementwise fold", y, cpu => with_dtype!(y.dtype, T => {
        let parts: Vec<Option<&[T]>> = xs.iter().map(|t| t.data_unless_in::<T>(y)).collect();
        cpu::elementwise::fold_n::<T, F>(&parts, y.data_mut::<T>())
    }))
}

/// Every element of `y` set to `v` (converted to `y`'s dtype).
pub fn fill(y: &mut Tensor, v: f64) -> KernelResult<()> {
    dispatch!("fill", y, cpu => with_dtype!(y.dtype, T => cpu::elementwise::fill(y.data_mut::<T>(), T::from_f64(v))))
}

/// `x` converted into `y`'s dtype (C's conversion: floats truncate into integers, integers wrap).
pub fn cast(x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("cast", y, cpu => with_dtype!(x.dtype, S => with_dtype!(y.dtype, D => cpu::elementwise::cast::<S, D>(x.data::<S>(), y.data_mut::<D>()))))
}

/// Every element limited to `[lo, hi]`; NaN passes through.
pub fn clip(x: &Tensor, lo: f64, hi: f64, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("clip", y, cpu => with_dtype!(y.dtype, T => cpu::clip::clip::<T>(x.data::<T>(), lo, hi, y.data_mut::<T>())))
}

/// `out = cond ? x : y`, where `cond` (any dtype, non-zero is true) has `x`'s shape or is 1-d
/// over its first axis.
pub fn select(cond: &Tensor, x: &Tensor, y: &Tensor, out: &mut Tensor) -> KernelResult<()> {
    dispatch!("where", out, cpu => {
        let flags = with_dtype!(cond.dtype, C => cpu::select::condition::<C>(cond.data::<C>()));
        with_dtype!(out.dtype, T => cpu::select::select::<T>(&flags, x.data::<T>(), y.data::<T>(), out.data_mut::<T>()))
    })
}

/// [`select`]'s gradient: `(dx, dy) = cond ? (g, 0) : (0, g)`.
pub fn select_backward(g: &Tensor, cond: &Tensor, dx: &mut Tensor, dy: &mut Tensor) -> KernelResult<()> {
    dispatch!("where gradient", dx, cpu => {
        let flags = with_dtype!(cond.dtype, C => cpu::select::condition::<C>(cond.data::<C>()));
        with_dtype!(g.dtype, T => cpu::select::select_backward::<T>(&flags, g.data::<T>(), dx.data_mut::<T>(), dy.data_mut::<T>()))
    })
}
