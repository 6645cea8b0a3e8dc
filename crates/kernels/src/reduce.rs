//! Reduction primitives, dispatched by device: a [`ReduceFn`] over any set of axes, the index of
//! the extreme along one axis, an array reduced down to a shape that broadcasts to it, and a
//! reduction's gradient broadcast back over the reduced axes. The operator passes the math as a
//! type; the primitive matches dtypes and runs the device's loops (`cpu::reduce` on the host,
//! through a transposed scratch copy when the reduced axes are not adjacent).

use crate::cpu::reduce::ReduceFn;
use crate::cpu::reduce_axes::{converted, ReduceView};
use crate::dispatch::dispatch;
use crate::elementwise::Ternary;
use crate::{cpu, with_dtype, with_float, KernelResult, Layout, Tensor};

/// `y = R` over the `axes` of `x` (sorted and distinct; `y` has the other axes' elements in
/// order). `y` may have another dtype than `x` (`norm`'s `out_dtype`): the reduction is made in
/// `x`'s dtype, then cast.
pub fn reduce<R: ReduceFn>(x: &Tensor, axes: &[usize], y: &mut Tensor) -> KernelResult<()> {
    dispatch!("reduce", y, cpu => {
        let view = ReduceView::new(x, axes)?;
        if y.dtype == x.dtype {
            with_dtype!(x.dtype, T => cpu::reduce::reduce::<T, R>(view.data::<T>(x), view.outer, view.len, view.inner, y.data_mut::<T>()));
        } else {
            with_dtype!(x.dtype, T => with_dtype!(y.dtype, D => cpu::reduce_axes::reduce_cast::<T, D, R>(view.data::<T>(x), view.outer, view.len, view.inner, y.data_mut::<D>())));
        }
    })
}

/// `mean` and `var` (biased) of `x` over its `axes` (sorted and distinct), each with the other
/// axes' elements in order (`moments`).
pub fn moments(x: &Tensor, axes: &[usize], mean: &mut Tensor, var: &mut Tensor) -> KernelResult<()> {
    dispatch!("moments", mean, cpu => {
        let view = ReduceView::new(x, axes)?;
        with_float!("moments", x.dtype, T => cpu::reduce_axes::moments::<T>(view.data::<T>(x), view.outer, view.len, view.inner, mean.data_mut(), var.data_mut()))
    })
}

/// `y[o, i]` = the index (in `y`'s dtype, as MXNet 1.x) of the first maximum (minimum when
/// `want_max` is false) of `x[o, :, i]`, with `x` seen as `(outer, len, inner)`.
pub fn arg_reduce(x: &Tensor, outer: usize, len: usize, inner: usize, want_max: bool, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("arg_reduce", y, cpu => with_dtype!(y.dtype, T => cpu::reduce::arg_reduce::<T>(x.data::<T>(), outer, len, inner, want_max, y.data_mut::<T>())))
}

/// `x` reduced with `R` down to `y`'s shape, which must broadcast to `x`'s (the gradient of
/// broadcasting, with `R` a sum).
pub fn reduce_to<R: ReduceFn>(x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    let (from, to) = (x.shape.clone(), y.shape.clone());
    reduce_to_as::<R>(x, &from, y, &to)
}

/// [`reduce_to`] with `x` read as shape `from` and `y` written as shape `to` (each holding as
/// many elements as its tensor): a gradient summed over the axes a reshape exposes (tile, repeat).
pub fn reduce_to_as<R: ReduceFn>(x: &Tensor, from: &[usize], y: &mut Tensor, to: &[usize]) -> KernelResult<()> {
    assert_eq!(from.iter().product::<usize>(), x.numel(), "reduce_to: {from:?} read from a tensor of {:?}", x.shape.as_slice());
    assert_eq!(to.iter().product::<usize>(), y.numel(), "reduce_to: {to:?} written to a tensor of {:?}", y.shape.as_slice());
    dispatch!("reduce_to", y, cpu => with_dtype!(x.dtype, T => cpu::reduce_to::reduce_to::<T, R>(x.data::<T>(), from, to, y.data_mut::<T>())))
}

/// A reduction's gradient: `dx = f(g, x, y)` over `x`'s shape, with the output gradient `g` and
/// the output `y` (the reduced shape) broadcast back over `axes`. `g` and `y` may have another
/// dtype than `x` (`norm`'s `out_dtype`): they are read converted into `x`'s.
pub fn broadcast_back<F: Ternary>(g: &Tensor, x: &Tensor, y: &Tensor, axes: &[usize], dx: &mut Tensor, f: &F) -> KernelResult<()> {
    let kept: Vec<usize> = x.shape.iter().enumerate().map(|(d, &n)| if axes.contains(&d) { 1 } else { n }).collect();
    let strides = Layout::contiguous(&kept).broadcast_strides(&x.shape);
    dispatch!("reduce gradient", dx, cpu => with_dtype!(x.dtype, T => {
        let f = f.formula::<T>();
        if g.dtype == x.dtype {
            cpu::reduce_axes::broadcast_back::<T, _>(&x.shape, g.data::<T>(), &strides, x.data::<T>(), y.data::<T>(), dx.data_mut::<T>(), &f);
        } else {
            let (gs, ys): (Vec<T>, Vec<T>) = with_dtype!(g.dtype, S => (converted(g.data::<S>()), converted(y.data::<S>())));
            cpu::reduce_axes::broadcast_back::<T, _>(&x.shape, &gs, &strides, x.data::<T>(), &ys, dx.data_mut::<T>(), &f);
        }
    }))
}
