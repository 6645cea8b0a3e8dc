//! The host's gathers: take / pick and their scatter-add, Embedding's lookup and gradient, and
//! one_hot. Indices arrive as `f64` (any index dtype, read once by [`indices`]).

use crate::gather::{IndexMode, TakePlan};
use crate::{BinaryFn, Element, KernelError, KernelResult};

/// The scatter-adds' `+`: a copy of `rmx-graph`'s elementwise `Add`, so a gradient sums exactly
/// as the elementwise add does (float16 through float32, integers wrapping).
struct Add;

impl BinaryFn for Add {
    const CUDA: &'static str = "a + b";
    #[inline(always)]
    fn f32(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn f64(a: f64, b: f64) -> f64 {
        a + b
    }
    #[inline(always)]
    fn int(a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }
}

/// The index values as numbers (indices are stored in any dtype, floats by default).
pub fn indices<I: Element>(idx: &[I]) -> Vec<f64> {
    idx.iter().map(|v| v.to_f64()).collect()
}

/// An index `i` on an axis of `n` under `mode`.
fn resolve(op: &str, mode: IndexMode, i: f64, n: usize) -> KernelResult<usize> {
    let n_i = n as i64;
    let i = i as i64;
    Ok(match mode {
        IndexMode::Clip => i.clamp(0, n_i - 1) as usize,
        IndexMode::Wrap => i.rem_euclid(n_i) as usize,
        IndexMode::Raise => {
            let j = if i < 0 { i + n_i } else { i };
            if j < 0 || j >= n_i {
                return Err(KernelError::Index { message: format!("{op}: index {i} is out of bounds for an axis of size {n}") });
            }
            j as usize
        }
    })
}

/// `y = take(x, indices)` or `pick`, as [`crate::gather::take`].
pub fn take<T: Element>(p: &TakePlan, indices: &[f64], x: &[T], y: &mut [T]) -> KernelResult<()> {
    let (outer, n, inner) = (p.outer, p.n, p.inner);
    if p.pick {
        for o in 0..outer {
            for i in 0..inner {
                let j = resolve(p.op, p.mode, indices[o * inner + i], n)?;
                y[o * inner + i] = x[(o * n + j) * inner + i];
            }
        }
    } else {
        let k = indices.len();
        for o in 0..outer {
            for (q, &raw) in indices.iter().enumerate() {
                let j = resolve(p.op, p.mode, raw, n)?;
                let src = &x[(o * n + j) * inner..(o * n + j + 1) * inner];
                y[(o * k + q) * inner..(o * k + q + 1) * inner].copy_from_slice(src);
            }
        }
    }
    Ok(())
}

/// The take's adjoint, as [`crate::gather::take_backward`]: `y` zeroed, then each gradient
/// element added where its value was read from.
pub fn take_backward<T: Element>(p: &TakePlan, indices: &[f64], g: &[T], y: &mut [T]) -> KernelResult<()> {
    let (outer, n, inner) = (p.outer, p.n, p.inner);
    y.fill(T::default());
    let k = if p.pick { 1 } else { indices.len() };
    for o in 0..outer {
        for q in 0..k {
            for i in 0..if p.pick { inner } else { 1 } {
                let raw = if p.pick { indices[o * inner + i] } else { indices[q] };
                let j = resolve(p.op, p.mode, raw, n)?;
                if p.pick {
                    let d = &mut y[(o * n + j) * inner + i];
                    *d = T::binary::<Add>(*d, g[o * inner + i]);
                } else {
                    let src = &g[(o * k + q) * inner..(o * k + q + 1) * inner];
                    for (d, &v) in y[(o * n + j) * inner..(o * n + j + 1) * inner].iter_mut().zip(src) {
                        *d = T::binary::<Add>(*d, v);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Each index's weight row, as MXNet finds it: truncated, then clipped into `[0, input_dim)`.
pub fn embedding_rows<I: Element>(data: &[I], input_dim: usize) -> Vec<usize> {
    let last = input_dim as i64 - 1;
    data.iter().map(|v| (v.to_f64() as i64).clamp(0, last) as usize).collect()
}

/// `y[k, :] = w[rows[k], :]`, rows of `d` elements.
pub fn embedding<T: Element>(rows: &[usize], d: usize, w: &[T], y: &mut [T]) {
    for (k, &r) in rows.iter().enumerate() {
        y[k * d..(k + 1) * d].copy_from_slice(&w[r * d..(r + 1) * d]);
    }
}

/// `y` zeroed, then `y[rows[k], :] += g[k, :]`, in the order of `rows`.
pub fn embedding_backward<T: Element>(rows: &[usize], d: usize, g: &[T], y: &mut [T]) {
    y.fill(T::default());
    for (k, &r) in rows.iter().enumerate() {
        for (w, &v) in y[r * d..(r + 1) * d].iter_mut().zip(&g[k * d..(k + 1) * d]) {
            *w = T::binary::<Add>(*w, v);
        }
    }
}

/// `y` (rows of `depth`) set to `off`, then `on` at each row's index inside `[0, depth)`.
pub fn one_hot<T: Element>(idx: &[f64], depth: usize, on: f64, off: f64, y: &mut [T]) {
    y.fill(T::from_f64(off));
    for (row, &i) in idx.iter().enumerate() {
        if i >= 0.0 && (i as usize) < depth {
            y[row * depth + i as usize] = T::from_f64(on);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(mode: IndexMode, pick: bool) -> TakePlan {
        TakePlan { op: "take", outer: 1, n: 3, inner: 2, mode, pick }
    }

    #[test]
    fn take_resolves_each_mode_and_raise_reports_the_index() {
        let x = [0f32, 1., 2., 3., 4., 5.];
        let mut y = [0f32; 4];
        take(&plan(IndexMode::Clip, false), &[-1., 7.], &x, &mut y).unwrap();
        assert_eq!(y, [0., 1., 4., 5.]);
        take(&plan(IndexMode::Wrap, false), &[-1., 4.], &x, &mut y).unwrap();
        assert_eq!(y, [4., 5., 2., 3.]);
        let err = take(&plan(IndexMode::Raise, false), &[3.], &x, &mut y[..2]).unwrap_err();
        assert!(matches!(err, KernelError::Index { ref message } if message.contains("index 3")));
    }

    #[test]
    fn take_backward_adds_repeated_indices() {
        let mut dx = [9f64; 6];
        take_backward(&plan(IndexMode::Clip, false), &[1., 1.], &[1., 2., 10., 20.], &mut dx).unwrap();
        assert_eq!(dx, [0., 0., 11., 22., 0., 0.]);
    }

    #[test]
    fn embedding_clips_rows_and_one_hot_skips_out_of_range() {
        assert_eq!(embedding_rows(&[-1.5f32, 0.9, 7.0], 3), vec![0, 0, 2]);
        let mut y = [0f32; 6];
        one_hot(&[1., 3.], 3, 1., -1., &mut y);
        assert_eq!(y, [-1., 1., -1., -1., -1., -1.]);
    }
}

/// The block (of the trailing axes' elements) each index tuple names: tuple `k` is column `k` of
/// `indices` seen as `(dims.len(), count)`; negative entries count from the axis's end.
pub fn nd_blocks(op: &str, indices: &[f64], dims: &[usize]) -> KernelResult<Vec<usize>> {
    let count = indices.len() / dims.len().max(1);
    (0..count)
        .map(|k| {
            dims.iter().enumerate().try_fold(0usize, |block, (m, &n)| Ok(block * n + resolve(op, IndexMode::Raise, indices[m * count + k], n)?))
        })
        .collect()
}

/// `y[k] = x[blocks[k]]`, blocks of `inner` elements.
pub fn gather_nd<T: Element>(blocks: &[usize], inner: usize, x: &[T], y: &mut [T]) {
    for (k, &b) in blocks.iter().enumerate() {
        y[k * inner..(k + 1) * inner].copy_from_slice(&x[b * inner..(b + 1) * inner]);
    }
}

/// `y` zeroed, then `y[blocks[k]] = x[k]` (a later tuple wins on repeats), or `+= x[k]` when
/// `accumulate`.
pub fn scatter_nd<T: Element>(blocks: &[usize], inner: usize, x: &[T], y: &mut [T], accumulate: bool) {
    y.fill(T::default());
    for (k, &b) in blocks.iter().enumerate() {
        let (src, dst) = (&x[k * inner..(k + 1) * inner], &mut y[b * inner..(b + 1) * inner]);
        if accumulate {
            for (d, &v) in dst.iter_mut().zip(src) {
                *d = T::binary::<Add>(*d, v);
            }
        } else {
            dst.copy_from_slice(src);
        }
    }
}
