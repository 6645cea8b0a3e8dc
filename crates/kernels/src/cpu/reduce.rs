//! Reductions over the middle axis of an `(outer, len, inner)` view of dense data: every
//! reduction over a run of adjacent axes is one of these (the caller transposes other cases).
//! Floats accumulate in `f64`, so float32 sums are exact to float32 precision at any length;
//! integers accumulate in `i64` with wrapping, as C and MXNet do, so int64 stays exact.

use rayon::prelude::*;

use crate::dtype::{Class, Element};
use super::elementwise::PARALLEL_GRAIN;

/// How a reduction combines values, in floating point and in integers. `CUDA_STEP` is `step`
/// as a CUDA C++ expression of `acc` and `x` (type `T`), `CUDA_FINISH` is `finish` as one of
/// `acc` and the count `n`: what the CUDA path compiles its reductions from.
pub trait ReduceFn: Send + Sync + 'static {
    const CUDA_STEP: &'static str;
    const CUDA_FINISH: &'static str = "acc";
    const INIT: f64;
    fn step(acc: f64, x: f64) -> f64;
    /// Combines two partial results (for sums of transformed values, a plain sum).
    fn merge(a: f64, b: f64) -> f64 {
        Self::step(a, b)
    }
    fn finish(acc: f64, _len: usize) -> f64 {
        acc
    }
    const INIT_INT: i64;
    fn step_int(acc: i64, x: i64) -> i64;
    fn merge_int(a: i64, b: i64) -> i64 {
        Self::step_int(a, b)
    }
    fn finish_int(acc: i64, _len: usize) -> i64 {
        acc
    }
    /// False when the integer result needs floating point (a norm's square root): integers then
    /// take the float path.
    const EXACT_INT: bool = true;
}

/// The accumulator of one class: `f64` or `i64`.
trait Acc: Copy + Send + Sync {
    fn init<R: ReduceFn>() -> Self;
    fn step<R: ReduceFn, T: Element>(self, x: T) -> Self;
    fn merge<R: ReduceFn>(self, b: Self) -> Self;
    fn finish<R: ReduceFn, T: Element>(self, len: usize) -> T;
}

impl Acc for f64 {
    fn init<R: ReduceFn>() -> Self {
        R::INIT
    }
    #[inline(always)]
    fn step<R: ReduceFn, T: Element>(self, x: T) -> Self {
        R::step(self, x.to_f64())
    }
    fn merge<R: ReduceFn>(self, b: Self) -> Self {
        R::merge(self, b)
    }
    fn finish<R: ReduceFn, T: Element>(self, len: usize) -> T {
        T::from_f64(R::finish(self, len))
    }
}

impl Acc for i64 {
    fn init<R: ReduceFn>() -> Self {
        R::INIT_INT
    }
    #[inline(always)]
    fn step<R: ReduceFn, T: Element>(self, x: T) -> Self {
        R::step_int(self, x.to_i64())
    }
    fn merge<R: ReduceFn>(self, b: Self) -> Self {
        R::merge_int(self, b)
    }
    fn finish<R: ReduceFn, T: Element>(self, len: usize) -> T {
        T::from_i64(R::finish_int(self, len))
    }
}

/// `y[o, i] = finish(fold(x[o, :, i]))`.
pub fn reduce<T: Element, R: ReduceFn>(x: &[T], outer: usize, len: usize, inner: usize, y: &mut [T]) {
    if T::CLASS == Class::Int && R::EXACT_INT {
        reduce_with::<T, R, i64>(x, outer, len, inner, y)
    } else {
        reduce_with::<T, R, f64>(x, outer, len, inner, y)
    }
}

fn reduce_with<T: Element, R: ReduceFn, A: Acc>(x: &[T], outer: usize, len: usize, inner: usize, y: &mut [T]) {
    if y.is_empty() {
        return;
    }
    let block = |o: usize, out: &mut [T]| {
        let base = &x[o * len * inner..(o + 1) * len * inner];
        if inner == 1 {
            out[0] = fold::<T, R, A>(base).finish::<R, T>(len);
        } else {
            let mut acc = vec![A::init::<R>(); inner];
            for r in 0..len {
                for (a, &v) in acc.iter_mut().zip(&base[r * inner..(r + 1) * inner]) {
                    *a = a.step::<R, T>(v);
                }
            }
            for (o, a) in out.iter_mut().zip(acc) {
                *o = a.finish::<R, T>(len);
            }
        }
    };
    if outer > 1 && outer * len * inner >= PARALLEL_GRAIN {
        y.par_chunks_mut(inner).enumerate().for_each(|(o, out)| block(o, out));
    } else if outer == 1 && inner == 1 && len >= PARALLEL_GRAIN * 4 {
        // One long row: fold chunks in parallel, then merge the partial results in order.
        let parts: Vec<A> = x.par_chunks(PARALLEL_GRAIN).map(fold::<T, R, A>).collect();
        let acc = parts.into_iter().fold(A::init::<R>(), |a, b| a.merge::<R>(b));
        y[0] = acc.finish::<R, T>(len);
    } else {
        for (o, out) in y.chunks_mut(inner).enumerate() {
            block(o, out);
        }
    }
}

/// Folds a row with eight independent accumulators (vectorizes, and keeps rounding error low).
fn fold<T: Element, R: ReduceFn, A: Acc>(row: &[T]) -> A {
    let mut lanes = [A::init::<R>(); 8];
    let chunks = row.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = l.step::<R, T>(v);
        }
    }
    let mut acc = lanes.into_iter().fold(A::init::<R>(), |a, b| a.merge::<R>(b));
    for &v in rest {
        acc = acc.step::<R, T>(v);
    }
    acc
}

/// Index of the first maximum (or minimum, `want_max` false) along the middle axis, stored as
/// `T` (MXNet returns indices in the input's dtype). Integers compare exactly.
pub fn arg_reduce<T: Element>(x: &[T], outer: usize, len: usize, inner: usize, want_max: bool, y: &mut [T]) {
    let better = |v: T, best: T| {
        let ord = if T::CLASS == Class::Int { v.to_i64().cmp(&best.to_i64()) } else { v.to_f64().partial_cmp(&best.to_f64()).unwrap_or(std::cmp::Ordering::Equal) };
        if want_max { ord.is_gt() } else { ord.is_lt() }
    };
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0usize;
            let mut best_v = x[o * len * inner + i];
            for r in 1..len {
                let v = x[(o * len + r) * inner + i];
                if better(v, best_v) {
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
        const CUDA_STEP: &'static str = "acc + x";
        const INIT: f64 = 0.0;
        fn step(a: f64, x: f64) -> f64 {
            a + x
        }
        const INIT_INT: i64 = 0;
        fn step_int(a: i64, x: i64) -> i64 {
            a.wrapping_add(x)
        }
    }

    struct SumSq;
    impl ReduceFn for SumSq {
        const CUDA_STEP: &'static str = "acc + x * x";
        const INIT: f64 = 0.0;
        fn step(a: f64, x: f64) -> f64 {
            a + x * x
        }
        fn merge(a: f64, b: f64) -> f64 {
            a + b
        }
        const INIT_INT: i64 = 0;
        fn step_int(a: i64, x: i64) -> i64 {
            a.wrapping_add(x.wrapping_mul(x))
        }
        fn merge_int(a: i64, b: i64) -> i64 {
            a.wrapping_add(b)
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
    fn long_rows_and_transformed_steps_merge_correctly() {
        let x = vec![1f32; PARALLEL_GRAIN * 9 + 3];
        let mut y = [0f32];
        reduce::<f32, Sum>(&x, 1, x.len(), 1, &mut y);
        assert_eq!(y[0], x.len() as f32);
        let x: Vec<f64> = (0..8).map(|v| v as f64).collect();
        let mut y = [0f64];
        reduce::<f64, SumSq>(&x, 1, 8, 1, &mut y);
        assert_eq!(y[0], 140.0);
    }

    #[test]
    fn integers_wrap_and_stay_exact() {
        let mut y = [0i8];
        reduce::<i8, Sum>(&[100, 100], 1, 2, 1, &mut y);
        assert_eq!(y[0], -56);
        let big = [(1i64 << 53) + 1, 0];
        let mut z = [0i64];
        reduce::<i64, Sum>(&big, 1, 2, 1, &mut z);
        assert_eq!(z[0], (1 << 53) + 1);
        let mut idx = [0i64];
        arg_reduce::<i64>(&[(1 << 53) + 1, 1 << 53], 1, 2, 1, false, &mut idx);
        assert_eq!(idx[0], 1);
    }
}
