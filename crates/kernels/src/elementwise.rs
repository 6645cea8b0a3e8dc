//! Elementwise kernels: map one array, zip two (same shape, with a scalar, or broadcast). The
//! operator supplies the scalar math as a zero-sized `UnaryFn`/`BinaryFn`, so each instance is
//! inlined and vectorized; large arrays are split across the rayon pool.

use rayon::prelude::*;

use crate::dtype::{BinaryFn, Element, UnaryFn};
use crate::layout::{collapse, numel, Strides};

/// Below this many elements a kernel stays on one thread: splitting costs more than it saves.
pub const PARALLEL_GRAIN: usize = 1 << 15;

pub fn map<T: Element, F: UnaryFn>(x: &[T], y: &mut [T]) {
    if x.len() <= PARALLEL_GRAIN {
        for (o, &i) in y.iter_mut().zip(x) {
            *o = T::unary::<F>(i);
        }
        return;
    }
    y.par_chunks_mut(PARALLEL_GRAIN).zip(x.par_chunks(PARALLEL_GRAIN)).for_each(|(o, i)| map::<T, F>(i, o));
}

pub fn zip<T: Element, F: BinaryFn>(a: &[T], b: &[T], y: &mut [T]) {
    if a.len() <= PARALLEL_GRAIN {
        for ((o, &x), &z) in y.iter_mut().zip(a).zip(b) {
            *o = T::binary::<F>(x, z);
        }
        return;
    }
    y.par_chunks_mut(PARALLEL_GRAIN)
        .zip(a.par_chunks(PARALLEL_GRAIN))
        .zip(b.par_chunks(PARALLEL_GRAIN))
        .for_each(|((o, x), z)| zip::<T, F>(x, z, o));
}

/// `y = f(x, s)`, or `f(s, x)` when `scalar_first` (the reflected operators: `2 - x`).
pub fn zip_scalar<T: Element, F: BinaryFn>(x: &[T], s: T, scalar_first: bool, y: &mut [T]) {
    if x.len() <= PARALLEL_GRAIN {
        if scalar_first {
            for (o, &i) in y.iter_mut().zip(x) {
                *o = T::binary::<F>(s, i);
            }
        } else {
            for (o, &i) in y.iter_mut().zip(x) {
                *o = T::binary::<F>(i, s);
            }
        }
        return;
    }
    y.par_chunks_mut(PARALLEL_GRAIN)
        .zip(x.par_chunks(PARALLEL_GRAIN))
        .for_each(|(o, i)| zip_scalar::<T, F>(i, s, scalar_first, o));
}

/// `y = f(a, b)` where `a` and `b` are read with broadcast strides (0 along stretched
/// dimensions) and `y` is dense of `shape`.
pub fn zip_broadcast<T: Element, F: BinaryFn>(shape: &[usize], a: &[T], a_strides: &[isize], b: &[T], b_strides: &[isize], y: &mut [T]) {
    if y.is_empty() {
        return;
    }
    let mut strides: Vec<Strides> = vec![a_strides.into(), b_strides.into()];
    let shape = collapse(shape, &mut strides);
    let nd = shape.len();
    let inner = shape[nd - 1];
    let (sa, sb) = (strides[0][nd - 1], strides[1][nd - 1]);
    let rows = numel(&shape[..nd - 1]);
    let row = |r: usize, out: &mut [T]| {
        let (mut oa, mut ob, mut rem) = (0isize, 0isize, r);
        for d in (0..nd - 1).rev() {
            let i = (rem % shape[d]) as isize;
            rem /= shape[d];
            oa += i * strides[0][d];
            ob += i * strides[1][d];
        }
        let (ra, rb) = (&a[oa as usize..], &b[ob as usize..]);
        match (sa, sb) {
            (1, 1) => zip::<T, F>(&ra[..inner], &rb[..inner], out),
            (1, 0) => zip_scalar::<T, F>(&ra[..inner], rb[0], false, out),
            (0, 1) => zip_scalar::<T, F>(&rb[..inner], ra[0], true, out),
            _ => {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = T::binary::<F>(ra[j * sa as usize], rb[j * sb as usize]);
                }
            }
        }
    };
    if rows * inner < PARALLEL_GRAIN || rows == 1 {
        for (r, out) in y.chunks_mut(inner).enumerate() {
            row(r, out);
        }
    } else {
        y.par_chunks_mut(inner).enumerate().for_each(|(r, out)| row(r, out));
    }
}

/// Fills `y` with `v`.
pub fn fill<T: Element>(y: &mut [T], v: T) {
    if y.len() <= PARALLEL_GRAIN {
        y.fill(v);
    } else {
        y.par_chunks_mut(PARALLEL_GRAIN).for_each(|c| c.fill(v));
    }
}

/// Converts every element of `x` into `y`'s type.
pub fn cast<S: Element, D: Element>(x: &[S], y: &mut [D]) {
    if x.len() <= PARALLEL_GRAIN {
        for (o, &i) in y.iter_mut().zip(x) {
            *o = D::cast_from(i);
        }
    } else {
        y.par_chunks_mut(PARALLEL_GRAIN).zip(x.par_chunks(PARALLEL_GRAIN)).for_each(|(o, i)| cast(i, o));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sub;
    impl BinaryFn for Sub {
        fn f32(a: f32, b: f32) -> f32 {
            a - b
        }
        fn f64(a: f64, b: f64) -> f64 {
            a - b
        }
        fn int(a: i64, b: i64) -> i64 {
            a.wrapping_sub(b)
        }
    }

    #[test]
    fn broadcast_matches_a_naive_loop() {
        // (3, 1, 4) - (2, 1) -> (3, 2, 4)
        let a: Vec<f64> = (0..12).map(|v| v as f64).collect();
        let b = vec![100.0, 200.0];
        let shape = [3, 2, 4];
        let mut y = vec![0.0; 24];
        zip_broadcast::<f64, Sub>(&shape, &a, &[4, 0, 1], &b, &[0, 1, 0], &mut y);
        for i in 0..3 {
            for j in 0..2 {
                for k in 0..4 {
                    assert_eq!(y[i * 8 + j * 4 + k], a[i * 4 + k] - b[j]);
                }
            }
        }
    }

    #[test]
    fn large_arrays_split_without_changing_results() {
        let n = PARALLEL_GRAIN * 3 + 17;
        let a: Vec<i32> = (0..n as i32).collect();
        let mut y = vec![0i32; n];
        zip_scalar::<i32, Sub>(&a, 5, true, &mut y);
        assert!(y.iter().enumerate().all(|(i, &v)| v == 5 - i as i32));
    }
}
