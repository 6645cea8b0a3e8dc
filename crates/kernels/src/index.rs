//! Index arithmetic primitives, dispatched by device: small arrays of known values
//! (`shape_array`), one element per row set from a vector (`fill_element_0index`), bin counts
//! (`_histogram`), and flat indices to and from coordinates (`ravel_multi_index`,
//! `unravel_index`). Index arrays may be any dtype; their values are read as float64 and
//! truncated, as MXNet reads them.

use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, KernelResult, Tensor};

/// `y[i] = values[i]`, converted to `y`'s dtype.
pub fn values(y: &mut Tensor, values: &[f64]) -> KernelResult<()> {
    assert_eq!(y.numel(), values.len(), "{} values for {} elements", values.len(), y.numel());
    dispatch!("values", y, cpu => with_dtype!(y.dtype, T => cpu::index::values::<T>(y.data_mut(), values)))
}

/// `y[r, idx[r]] = v[r]` for each row `r` of the matrix `y` (which holds the rest already);
/// indices outside the row are clipped, as `pick` clips them.
pub fn fill_element(v: &Tensor, idx: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    assert_eq!(v.dtype, y.dtype, "fill_element of {} into {}", v.dtype, y.dtype);
    let cols = y.shape.last().copied().unwrap_or(1);
    dispatch!("fill_element", y, cpu => with_dtype!(y.dtype, T => with_dtype!(idx.dtype, I => cpu::index::fill_element::<T, I>(v.data(), idx.data(), cols, y.data_mut()))))
}

/// How `_histogram` places values in bins.
pub enum Bins<'a> {
    /// `count` equal bins over `[lo, hi]`.
    Uniform { count: usize, lo: f64, hi: f64 },
    /// Bins between consecutive edges (given as a tensor of the data's dtype).
    Edges(&'a Tensor),
}

/// `counts[b]` = how many elements of `x` fall in bin `b` (each bin half-open but the last,
/// which holds its right edge; values outside every bin are not counted), and `edges` the
/// bins' edges.
pub fn histogram(x: &Tensor, bins: &Bins, counts: &mut Tensor, edges: &mut Tensor) -> KernelResult<()> {
    dispatch!("histogram", counts, cpu => with_dtype!(x.dtype, T => {
        let edge_values: Vec<f64> = match bins {
            Bins::Uniform { count, lo, hi } => (0..=*count).map(|i| lo + (hi - lo) * i as f64 / *count as f64).collect(),
            Bins::Edges(e) => with_dtype!(e.dtype, E => cpu::index::as_f64::<E>(e.data())),
        };
        let found = cpu::index::histogram::<T>(x.data(), &edge_values, matches!(bins, Bins::Uniform { .. }));
        with_dtype!(counts.dtype, C => cpu::index::values::<C>(counts.data_mut(), &found));
        with_dtype!(edges.dtype, E => cpu::index::values::<E>(edges.data_mut(), &edge_values));
    }))
}

/// `y[j] = Σ_d x[d, j] · stride_d` for a `(len(shape), n)` coordinate array `x` (row-major
/// strides of `shape`).
pub fn ravel(x: &Tensor, shape: &[usize], y: &mut Tensor) -> KernelResult<()> {
    dispatch!("ravel_multi_index", y, cpu => with_dtype!(x.dtype, T => cpu::index::ravel::<T>(x.data(), shape, y.data_mut())))
}

/// The inverse of [`ravel`]: `(len(shape), n)` coordinates of each flat index in `x`.
pub fn unravel(x: &Tensor, shape: &[usize], y: &mut Tensor) -> KernelResult<()> {
    dispatch!("unravel_index", y, cpu => with_dtype!(x.dtype, T => cpu::index::unravel::<T>(x.data(), shape, y.data_mut())))
}
