//! Reductions over the middle axis of an `(outer, len, inner)` view of dense data: every
//! reduction over a run of adjacent axes is one of these (the caller transposes other cases).
//! Accumulates in `f64`, so float32 sums are exact to float32 precision at any length.

use rayon::prelude::*;

use crate::dtype::Element;
use crate::elementwise::PARALLEL_GRAIN;

/// How a reduction combines values.
pub trait ReduceFn: Send + Sync + 'static {
    const INIT: f64;
    fn step(acc: f64, x: f64) -> f64;
    fn finish(acc: f64, _len: usize) -> f64 {
        acc
    }
}

/// `y[o, i] = finish(fold(x[o, :, i]))`.
pub fn reduce<T: Element, R: ReduceFn>(x: &[T], outer: usize, len: usize, inner: usize, y: &mut [T]) {
    let block = |o: usize, out: &mut [T]| {
        let base = &x[o * len * inner..(o + 1) * len * inner];
        if inner == 1 {
            out[0] = T::from_f64(R::finish(fold::<T, R>(base), len));
        } else {
            let mut acc = vec![R::INIT; inner];
            for r in 0..len {
                for (a, &v) in acc.iter_mut().zip(&base[r * inner..(r + 1) * inner]) {
                    *a = R::step(*a, v.to_f64());
                }
            }
            for (o, a) in out.iter_mut().zip(acc) {
                *o = T::from_f64(R::finish(a, len));
            }
        }
    };
    if outer > 1 && outer * len * inner >= PARALLEL_GRAIN {
        y.par_chunks_mut(inner).enumerate().for_each(|(o, out)| block(o, out));
    } else if outer == 1 && inner == 1 && len >= PARALLEL_GRAIN * 4 {
        // One long row: fold chunks in parallel, then combine the partial results in order.
        let parts: Vec<f64> = x.par_chunks(PARALLEL_GRAIN).map(fold::<T, R>).collect();
        let acc = parts.into_iter().fold(R::INIT, combine::<R>);
        y[0] = T::from_f64(R::finish(acc, len));
    } else {
        for (o, out) in y.chunks_mut(inner).enumerate() {
            block(o, out);
        }
    }
}

/// Folds a row with eight independent accumulators (vectorizes, and keeps rounding error low).
fn fold<T: Element, R: ReduceFn>(row: &[T]) -> f64 {
    let mut lanes = [R::INIT; 8];
    let chunks = row.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = R::step(*l, v.to_f64());
        }
    }
    let mut acc = lanes.into_iter().fold(R::INIT, combine::<R>);
    for &v in rest {
        acc = R::step(acc, v.to_f64());
    }
    acc
}

/// Combines two partial results: for sums and products the step itself, for max/min too.
fn combine<R: ReduceFn>(a: f64, b: f64) -> f64 {
    if b == R::INIT { a } else { R::step(a, b) }
}

/// Index of the first maximum (or minimum, `want_max` false) along the middle axis, stored as
/// `T` (MXNet returns indices in the input's dtype).
pub fn arg_reduce<T: Element>(x: &[T], outer: usize, len: usize, inner: usize, want_max: bool, y: &mut [T]) {
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0usize;
            let mut best_v = x[o * len * inner + i].to_f64();
            for r in 1..len {
                let v = x[(o * len + r) * inner + i].to_f64();
                let better = if want_max { v > best_v } else { v < best_v };
                if better {
                    best = r;
                    best_v = v;
                }
            }
            y[o * inner + i] = T::from_f64(best as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sum;
    impl ReduceFn for Sum {
        const INIT: f64 = 0.0;
        fn step(a: f64, x: f64) -> f64 {
            a + x
        }
    }

    #[test]
    fn middle_axis_sums_match_naive() {
        let (outer, len, inner) = (3, 5, 4);
        let x: Vec<f32> = (0..60).map(|v| v as f32).collect();
        let mut y = vec![0f32; 12];
        reduce::<f32, Sum>(&x, outer, len, inner, &mut y);
        for o in 0..outer {
            for i in 0..inner {
                let want: f32 = (0..len).map(|r| x[(o * len + r) * inner + i]).sum();
                assert_eq!(y[o * inner + i], want);
            }
        }
    }

    #[test]
    fn long_rows_sum_exactly_in_parallel() {
        let x = vec![1f32; PARALLEL_GRAIN * 9 + 3];
        let mut y = [0f32];
        reduce::<f32, Sum>(&x, 1, x.len(), 1, &mut y);
        assert_eq!(y[0], x.len() as f32);
    }
}
