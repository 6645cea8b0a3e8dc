//! Gather primitives, dispatched by device: `take` / `pick` (rows or elements chosen by index
//! along an axis, with MXNet's out-of-range modes) and their scatter-add adjoint, `gather_nd` /
//! `scatter_nd` (blocks named by index tuples over the leading axes), Embedding's lookup and its
//! gradient, and `one_hot`. Indices are tensors of any dtype, read as numbers; the
//! host loops are `cpu::gather`.

use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, KernelResult, Tensor};

/// What an index outside `[0, n)` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexMode {
    /// Clamped into the axis.
    Clip,
    /// Taken modulo the axis size.
    Wrap,
    /// Negative indices count from the end; anything else outside the axis is
    /// [`crate::KernelError::Index`].
    Raise,
}

/// A take's geometry: the data viewed as `(outer, n, inner)` around the indexed axis.
/// `take` replaces the axis by the indices' shape; `pick` reads one element per
/// `(outer, inner)` position, its indices laid out as `(outer, inner)`.
#[derive(Clone, Debug)]
pub struct TakePlan {
    /// The operator, named in an index error.
    pub op: &'static str,
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
    pub mode: IndexMode,
    pub pick: bool,
}

/// `y = take(x, indices)` (or `pick`); `y` is overwritten. An index out of range under
/// [`IndexMode::Raise`] fails with [`crate::KernelError::Index`].
pub fn take(p: &TakePlan, x: &Tensor, indices: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("take", y, cpu => {
        let ix = with_dtype!(indices.dtype, I => cpu::gather::indices::<I>(indices.data()));
        with_dtype!(y.dtype, T => cpu::gather::take::<T>(p, &ix, x.data(), y.data_mut())?)
    })
}

/// The take's adjoint: `dx` (the data's shape) zeroed, then each element of `dy` added where
/// its value was read from.
pub fn take_backward(p: &TakePlan, dy: &Tensor, indices: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("take backward", dx, cpu => {
        let ix = with_dtype!(indices.dtype, I => cpu::gather::indices::<I>(indices.data()));
        with_dtype!(dx.dtype, T => cpu::gather::take_backward::<T>(p, &ix, dy.data(), dx.data_mut())?)
    })
}

/// `y[k, :] = weight[row(data[k]), :]`, `weight` being `(input_dim, output_dim)`; each index is
/// truncated toward zero, then clipped into `[0, input_dim)`, as MXNet's.
pub fn embedding(data: &Tensor, weight: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    let (input_dim, output_dim) = (weight.shape[0], weight.shape[1]);
    dispatch!("Embedding", y, cpu => {
        let rows = with_dtype!(data.dtype, I => cpu::gather::embedding_rows::<I>(data.data(), input_dim));
        with_dtype!(y.dtype, T => cpu::gather::embedding::<T>(&rows, output_dim, weight.data(), y.data_mut()))
    })
}

/// Embedding's weight gradient: `dweight` (`(input_dim, output_dim)`) zeroed, then each row of
/// `dy` added into the weight row it was read from.
pub fn embedding_backward(dy: &Tensor, data: &Tensor, dweight: &mut Tensor) -> KernelResult<()> {
    let (input_dim, output_dim) = (dweight.shape[0], dweight.shape[1]);
    dispatch!("Embedding backward", dweight, cpu => {
        let rows = with_dtype!(data.dtype, I => cpu::gather::embedding_rows::<I>(data.data(), input_dim));
        with_dtype!(dweight.dtype, T => cpu::gather::embedding_backward::<T>(&rows, output_dim, dy.data(), dweight.data_mut()))
    })
}

/// `y = one_hot(indices)`: `y` is `indices.shape + (depth,)`, `on` at each index and `off`
/// elsewhere; an index outside `[0, depth)` gives an all-off row.
pub fn one_hot(indices: &Tensor, on: f64, off: f64, y: &mut Tensor) -> KernelResult<()> {
    let depth = *y.shape.last().expect("one_hot's output has the depth axis");
    dispatch!("one_hot", y, cpu => {
        let ix = with_dtype!(indices.dtype, I => cpu::gather::indices::<I>(indices.data()));
        with_dtype!(y.dtype, T => cpu::gather::one_hot::<T>(&ix, depth, on, off, y.data_mut()))
    })
}

/// An n-d gather's geometry: index tuples over the leading `dims` of the gathered-from (or
/// scattered-into) array, each naming a block of `inner` elements.
#[derive(Clone, Debug)]
pub struct NdPlan {
    /// The operator, named in an index error.
    pub op: &'static str,
    pub dims: Vec<usize>,
    pub inner: usize,
}

/// `y[k, ...] = x[indices[:, k], ...]`; an index outside its axis (after counting negative ones
/// from the end) is [`crate::KernelError::Index`].
pub fn gather_nd(p: &NdPlan, x: &Tensor, indices: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("gather_nd", y, cpu => {
        let ix = with_dtype!(indices.dtype, I => cpu::gather::indices::<I>(indices.data()));
        let blocks = cpu::gather::nd_blocks(p.op, &ix, &p.dims)?;
        with_dtype!(y.dtype, T => cpu::gather::gather_nd::<T>(&blocks, p.inner, x.data(), y.data_mut()))
    })
}

/// `y` zeroed, then `y[indices[:, k], ...] = x[k, ...]` (`+=` when `accumulate`: the gather's
/// adjoint).
pub fn scatter_nd(p: &NdPlan, x: &Tensor, indices: &Tensor, y: &mut Tensor, accumulate: bool) -> KernelResult<()> {
    dispatch!("scatter_nd", y, cpu => {
        let ix = with_dtype!(indices.dtype, I => cpu::gather::indices::<I>(indices.data()));
        let blocks = cpu::gather::nd_blocks(p.op, &ix, &p.dims)?;
        with_dtype!(y.dtype, T => cpu::gather::scatter_nd::<T>(&blocks, p.inner, x.data(), y.data_mut(), accumulate))
    })
}
