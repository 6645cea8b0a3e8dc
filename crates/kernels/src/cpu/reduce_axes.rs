//! Host side of reductions over any set of axes: the input seen as `(outer, len, inner)` (a
//! transposed copy when the reduced axes are not adjacent), a result cast to another dtype
//! (`norm`'s `out_dtype`), and the gradient broadcast back over the reduced axes.

use crate::dtype::Element;
use crate::layout::contiguous_strides;
use crate::{KernelResult, Storage, Tensor};

use super::copy::copy_strided;
use super::elementwise::{cast, map3_broadcast};
use super::reduce::{reduce, ReduceFn};

/// The input seen as `(outer, len, inner)` with the reduced axes in the middle: the input itself
/// when they are adjacent, else a transposed copy with them last.
pub struct ReduceView {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
    scratch: Option<Storage>,
}

/// `(prod(shape[..first]), prod(shape[first..=last]), prod(shape[last + 1..]))` (a copy of
/// `rmx-graph`'s `ops::axes::split_around`).
fn split_around(shape: &[usize], first: usize, last: usize) -> (usize, usize, usize) {
    let p = |s: &[usize]| s.iter().product::<usize>();
    (p(&shape[..first]), p(&shape[first..=last]), p(&shape[last + 1..]))
}

impl ReduceView {
    /// `reduced`: the reduced axes, sorted and distinct. `x` must be in host memory.
    pub fn new(x: &Tensor, reduced: &[usize]) -> KernelResult<Self> {
        let shape = &x.shape;
        if reduced.is_empty() {
            return Ok(ReduceView { outer: x.numel(), len: 1, inner: 1, scratch: None });
        }
        let (first, last) = (reduced[0], *reduced.last().unwrap());
        if last - first + 1 == reduced.len() {
            let (outer, len, inner) = split_around(shape, first, last);
            return Ok(ReduceView { outer, len, inner, scratch: None });
        }
        let kept: Vec<usize> = (0..shape.len()).filter(|d| !reduced.contains(d)).collect();
        let order: Vec<usize> = kept.iter().chain(reduced).copied().collect();
        let src = contiguous_strides(shape);
        let perm_shape: Vec<usize> = order.iter().map(|&d| shape[d]).collect();
        let perm_strides: Vec<isize> = order.iter().map(|&d| src[d]).collect();
        let buf = Storage::zeroed(x.numel() * x.dtype.size(), x.ctx())?;
        // SAFETY: `x` is this push's input; `buf` is fresh and holds as many elements.
        unsafe { copy_strided(x.dtype.size(), &perm_shape, x.ptr(), &perm_strides, buf.base(), &contiguous_strides(&perm_shape)) };
        let len: usize = reduced.iter().map(|&d| shape[d]).product();
        Ok(ReduceView { outer: x.numel() / len.max(1), len, inner: 1, scratch: Some(buf) })
    }

    pub fn data<'a, T: Element>(&'a self, x: &'a Tensor) -> &'a [T] {
        match &self.scratch {
            // SAFETY: the scratch holds the permuted copy of `x`, same length and dtype.
            Some(buf) => unsafe { buf.host().expect("a host reduction's scratch").slice::<T>(0, x.numel()) },
            None => x.data::<T>(),
        }
    }
}

/// [`reduce`] computed in the input's dtype `T`, then cast into `y`'s `D`.
pub fn reduce_cast<T: Element, D: Element, R: ReduceFn>(x: &[T], outer: usize, len: usize, inner: usize, y: &mut [D]) {
    let mut tmp = vec![T::default(); y.len()];
    reduce::<T, R>(x, outer, len, inner, &mut tmp);
    cast::<T, D>(&tmp, y);
}

/// `x` converted element by element into `T` (a reduction's gradient read in its data's dtype).
pub fn converted<S: Element, T: Element>(x: &[S]) -> Vec<T> {
    x.iter().map(|&v| T::cast_from(v)).collect()
}

/// `dx = f(g, x, y)` over `x`'s `shape`, where `g` and `y` have the reduced shape and are read
/// with `strides` (0 along the reduced axes): the gradient broadcast back.
pub fn broadcast_back<T: Element, F: Fn(T, T, T) -> T + Sync>(shape: &[usize], g: &[T], strides: &[isize], x: &[T], y: &[T], dx: &mut [T], f: &F) {
    let dense = contiguous_strides(shape);
    map3_broadcast(shape, g, strides, x, &dense, y, strides, dx, f)
}

/// Per `(o, i)` of `x` seen as `(outer, len, inner)`: the mean and the biased variance over
/// `len`, each in float64 in a fixed order.
pub fn moments<T: crate::Float>(x: &[T], outer: usize, len: usize, inner: usize, mean: &mut [T], var: &mut [T]) {
    use rayon::prelude::*;
    let n = len as f64;
    let stats: Vec<(f64, f64)> = (0..outer * inner)
        .into_par_iter()
        .map(|r| {
            let (o, i) = (r / inner, r % inner);
            let at = |j: usize| x[(o * len + j) * inner + i].to_f64();
            let m = (0..len).map(at).sum::<f64>() / n;
            (m, (0..len).map(|j| (at(j) - m).powi(2)).sum::<f64>() / n)
        })
        .collect();
    for (r, (m, v)) in stats.into_iter().enumerate() {
        mean[r] = T::from_f64(m);
        var[r] = T::from_f64(v);
    }
}
